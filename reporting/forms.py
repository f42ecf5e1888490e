from pathlib import PurePath

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import FactKind

IMPORT_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")


class ImportForm(forms.Form):
    """The office's upload: which kind of file, and the file."""

    kind = forms.ChoiceField(label=_("file kind"), choices=FactKind.choices)
    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "CSV or TSV (UTF-8 or as Excel and WPS save it on Chinese Windows), XLSX, XLS or "
            "ODS; title lines above the header are skipped."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(IMPORT_SUFFIXES)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if PurePath(upload.name or "").suffix.lower() not in IMPORT_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv, .tsv, .xlsx, .xls or .ods file."))
        return upload
