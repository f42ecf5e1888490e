"""Forms of the shared-center pages, one module a part of the work. They check shape only; the
services decide what is allowed, and their ValidationErrors are put back on these fields by the
views, which use them as `forms.<Name>` (`from .. import forms`): every one is named here."""

from .lists import (
    PeriodForm,
    SlotBoardForm,
)
from .orders import (
    AmendForm,
    AmendReasonMixin,
    CancelForm,
    ItemChoiceField,
    LabAmendForm,
    LabReportForm,
    NoteForm,
    OrderForm,
    PatientChoiceField,
    RejectForm,
    ReportForm,
    ResultForm,
    ScheduleForm,
    SlotChoiceField,
    result_formset,
)
from .sterilization import (
    CycleResultsForm,
    CycleStartForm,
    PackageMoveForm,
    PackageRegisterForm,
    RecallForm,
)
from .supply import (
    BaseSupplyLineFormSet,
    SupplyDispatchForm,
    SupplyRequestForm,
    SupplyRequestLineForm,
    set_label,
    supply_line_formset,
)

__all__ = [
    "AmendForm",
    "AmendReasonMixin",
    "BaseSupplyLineFormSet",
    "CancelForm",
    "CycleResultsForm",
    "CycleStartForm",
    "ItemChoiceField",
    "LabAmendForm",
    "LabReportForm",
    "NoteForm",
    "OrderForm",
    "PackageMoveForm",
    "PackageRegisterForm",
    "PatientChoiceField",
    "PeriodForm",
    "RecallForm",
    "RejectForm",
    "ReportForm",
    "ResultForm",
    "ScheduleForm",
    "SlotBoardForm",
    "SlotChoiceField",
    "SupplyDispatchForm",
    "SupplyRequestForm",
    "SupplyRequestLineForm",
    "result_formset",
    "set_label",
    "supply_line_formset",
]
