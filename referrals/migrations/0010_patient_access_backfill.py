"""The PatientAccess rows of the referrals already there: the sender sees the patient from the
referral's creation, the receiver from its submission (a draft grants the receiver nothing);
one row per institution, patient and reason, from the first referral that grants it. Written
by the services from now on (alliance.visibility.grant_visibility)."""

from django.db import migrations

BACKFILL = """
INSERT INTO alliance_patientaccess
    (institution_id, patient_id, reason, source_label, source_pk, since)
SELECT institution_id, patient_id, reason, 'referrals.referral', MIN(id), MIN(since)
  FROM (
    SELECT from_institution_id AS institution_id, patient_id, 'referral_sender' AS reason,
           id, created_at AS since
      FROM referrals_referral
    UNION ALL
    SELECT to_institution_id, patient_id, 'referral_receiver', id,
           COALESCE(submitted_at, created_at)
      FROM referrals_referral WHERE status <> 'draft'
  ) grants
 GROUP BY institution_id, patient_id, reason
"""

UNDO = "DELETE FROM alliance_patientaccess WHERE source_label = 'referrals.referral'"


class Migration(migrations.Migration):
    dependencies = [
        ("alliance", "0016_patient_access"),
        ("referrals", "0009_follow_up_events"),
    ]

    operations = [migrations.RunSQL(BACKFILL, UNDO, elidable=False)]
