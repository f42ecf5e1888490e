"""The referrals section of the patient record page (alliance.panels)."""

from alliance.panels import PatientPanel

from .models import Referral


def patient_referrals(user, patient):
    """The patient's latest referrals the user may see."""
    return (
        Referral.objects.restrict(user)
        .filter(patient=patient)
        .select_related("from_institution", "to_institution")
        .order_by("-created_at")[:20]
    )


PANEL = PatientPanel(template="referrals/patient_panel.html", rows=patient_referrals)
