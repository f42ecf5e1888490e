"""The exam orders section of the patient record page (alliance.panels)."""

from alliance.panels import PatientPanel

from .models import ExamOrder


def patient_orders(user, patient):
    """The patient's latest exam orders the user may see."""
    return (
        ExamOrder.objects.restrict(user)
        .filter(patient=patient)
        .select_related("center")
        .order_by("-ordered_at")[:20]
    )


PANEL = PatientPanel(template="sharedcenters/patient_panel.html", rows=patient_orders)
