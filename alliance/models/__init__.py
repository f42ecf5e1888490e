"""Institutions of the alliance, their departments, alliances, staff roles and patients.

Django loads an app's models from `alliance.models`: every model is imported here (and the
history models django-pghistory generates are set on this package)."""

from ..visibility import PatientAccess  # its own module: who sees which patient
from .accounts import Account, ApiToken, ApiTokenKind, Notification
from .audit import SUMMARY_IDS, AccessLog, AccessLogQuerySet
from .institutions import Alliance, Department, District, Institution, Membership, SpecialtyNetwork
from .people import Patient, StaffProfile

__all__ = [
    "SUMMARY_IDS",
    "AccessLog",
    "AccessLogQuerySet",
    "Account",
    "Alliance",
    "ApiToken",
    "ApiTokenKind",
    "Department",
    "District",
    "Institution",
    "Membership",
    "Notification",
    "Patient",
    "PatientAccess",
    "SpecialtyNetwork",
    "StaffProfile",
]
