"""Who may see which patient through a relation, and why, from when: the `PatientAccess` table.

A resident is visible to the institutions they are registered at (a column of the patient) and
to those a relation grants them to, as a referral does to the two institutions it goes between.
The apps owning the relations register a `VisibilityContributor` in `core.registry
.patient_visibility` (in their `AppConfig.ready()`); their services call
`grant_visibility(record)` where a record starts, moves or ends a grant, in the same
transaction, and the patient and order querysets read the table instead of an OR over every
referral and order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection, models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import registry

if TYPE_CHECKING:
    from .models import StaffProfile


class PatientAccess(models.Model):
    """One institution's right to see one patient for one reason (a referral it sent, one it
    received), and the record that grants it: one row however many records grant the same,
    so that a lookup reads a row per patient, not one per referral."""

    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # the unique constraint's index starts with it
    )
    patient = models.ForeignKey(
        "alliance.Patient",
        verbose_name=_("patient"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=32)
    source_label = models.CharField(_("granted by (kind)"), max_length=64)
    source_pk = models.BigIntegerField(_("granted by (record)"))
    since = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("patient access")
        verbose_name_plural = _("patient access")
        constraints = [
            # Also the lookup of visible_to: the patients granted to a user's institutions.
            models.UniqueConstraint(
                fields=["institution", "source_label", "patient", "reason"],
                name="patientaccess_one_per_reason",
            )
        ]
        indexes = [
            models.Index(fields=["source_label", "source_pk"], name="patientaccess_source"),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} → {self.patient_id} ({self.reason})"


@dataclass(frozen=True)
class VisibilityContributor:
    """A relation that makes patients visible.

    `model` is the label of the records that grant (`referrals.referral`); `grants(records)`
    returns querysets of `(record pk, institution id, patient id, reason)` rows, the grants of
    the given records as they stand; `scope(profile)` the institutions whose grants the user
    reads. `live(profile, field)` is for a relation read as it is rather than through the table (a
    center's staff and the patients of the center's orders: a center is not an institution).
    """

    model: str
    scope: Callable[[StaffProfile], QuerySet] | None = None
    grants: Callable[[QuerySet], list[QuerySet]] | None = None
    live: Callable[[StaffProfile, str], Q] | None = None


def register(name: str, contributor: VisibilityContributor) -> None:
    registry.patient_visibility.register(name, contributor)


def contributors() -> list[VisibilityContributor]:
    return list(registry.patient_visibility)


def visible_patients(profile: StaffProfile, field: str = "pk") -> Q:
    """The relations' part of `Patient.objects.visible_to(profile)`, as a condition on `field`:
    the patient's pk, or the patient column of a model of theirs (an exam order's
    `patient_id`), so that the model's rows are filtered without a join through the patient."""
    condition = Q(pk__in=[])
    for contributor in contributors():
        if contributor.scope is not None:
            granted = PatientAccess.objects.filter(
                institution__in=contributor.scope(profile), source_label=contributor.model
            )
            condition |= Q(**{f"{field}__in": granted.values("patient_id")})
        if contributor.live is not None:
            condition |= contributor.live(profile, field)
    return condition


def _contributor_for(model) -> VisibilityContributor | None:
    label = model._meta.label_lower
    return next((c for c in contributors() if c.model == label and c.grants), None)


def grant_visibility(record: models.Model) -> None:
    """Bring the rows `record` grants in step with it as saved: a new grant from now on (kept
    as it is when another record already grants the same), and a grant it no longer gives (a
    referral redirected away) ended, or handed to another record that still gives it.
    Idempotent; call it in the transaction that changed the record."""
    contributor = _contributor_for(type(record))
    if contributor is None:
        return
    label = record._meta.label_lower
    model = type(record)
    wanted: set[tuple[int, int, str]] = set()
    for rows in contributor.grants(model._base_manager.filter(pk=record.pk)):
        wanted |= {(institution, patient, reason) for _pk, institution, patient, reason in rows}
    # The patient's rows change one record at a time: two referrals of one patient redirected
    # away at once would otherwise each hand its row to the other.
    _lock_patients({patient for _institution, patient, _reason in wanted})
    held = PatientAccess.objects.filter(source_label=label, source_pk=record.pk)
    have = {
        (institution, patient, reason): pk
        for pk, institution, patient, reason in held.values_list(
            "pk", "institution_id", "patient_id", "reason"
        )
    }
    for key, pk in have.items():
        if key not in wanted:
            _hand_over(contributor, model, record.pk, key, pk)
    PatientAccess.objects.bulk_create(
        [
            PatientAccess(
                institution_id=institution,
                patient_id=patient,
                reason=reason,
                source_label=label,
                source_pk=record.pk,
            )
            for institution, patient, reason in wanted - set(have)
        ],
        ignore_conflicts=True,  # another record grants it already: its row stays
    )


def _lock_patients(patients: set[int]) -> None:
    patient_model = PatientAccess._meta.get_field("patient").related_model
    list(patient_model.objects.select_for_update().filter(pk__in=patients).values_list("pk"))


def _hand_over(contributor, model, ended_pk: int, key: tuple[int, int, str], row_pk: int):
    """The row of a grant `ended_pk` no longer gives: to another record of the patient that
    gives it (the institution's sight of the patient goes on, since the same time), or gone."""
    institution, patient, reason = key
    others = model._base_manager.filter(patient_id=patient).exclude(pk=ended_pk)
    for rows in contributor.grants(others):
        for source, *granted in rows.iterator():
            if tuple(granted) == key:
                PatientAccess.objects.filter(pk=row_pk).update(source_pk=source)
                return
    PatientAccess.objects.filter(pk=row_pk).delete()


def backfill_visibility(records: QuerySet) -> None:
    """Write the grants of many records at once (rows loaded without the services, as the
    bench's): one INSERT ... SELECT a contributor's query; a grant already there is kept."""
    contributor = _contributor_for(records.model)
    if contributor is None:
        return
    table = connection.ops.quote_name(PatientAccess._meta.db_table)
    columns = "source_pk, institution_id, patient_id, reason, source_label, since"
    with connection.cursor() as cursor:
        for rows in contributor.grants(records):
            sql, params = rows.query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT grants.*, %s, %s FROM ({sql}) grants "  # noqa: S608
                "WHERE true ON CONFLICT DO NOTHING",
                [contributor.model, timezone.now(), *params],
            )
