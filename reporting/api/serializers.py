from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class FactUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=_(
            "CSV or TSV (UTF-8, UTF-8 with BOM or GB18030), XLSX, XLS or ODS, with a header row "
            "(English column names or their Chinese aliases; title lines above it are skipped)."
        )
    )


class PreviewMonthSerializer(serializers.Serializer):
    institution_code = serializers.CharField()
    month = serializers.CharField(help_text="2019-03")
    in_file = serializers.IntegerField(help_text=_("The month's total in the file."))
    before = serializers.IntegerField(help_text=_("The month's total stored before the import."))
    after = serializers.IntegerField(help_text=_("The month's total stored after the import."))
    new_records = serializers.IntegerField(help_text=_("Records the import adds to the month."))
    grows = serializers.BooleanField(
        help_text=_("The total grows by more than 50 % through new records: check the file.")
    )


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(help_text=_("True: a preview, nothing was written."))
    created = serializers.IntegerField(help_text=_("Rows added (or that would be)."))
    updated = serializers.IntegerField(help_text=_("Rows already there, replaced."))
    rows = serializers.IntegerField(help_text=_("Data rows read (blank and total rows left out)."))
    warnings = serializers.ListField(child=serializers.CharField())
    measure = serializers.CharField(help_text=_("What the month totals count."))
    months = PreviewMonthSerializer(many=True)
    month_count = serializers.IntegerField(help_text=_("Months touched; at most 600 listed."))


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("Row number as Excel shows it."))
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True, required=False, help_text=_("The value found."))
    problem = serializers.CharField(
        required=False, help_text=_("What is wrong and what is expected.")
    )
    message = serializers.CharField(help_text=_("The whole sentence: row, column, problem."))


class ImportRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    error_count = serializers.IntegerField(help_text=_("Bad rows in all; at most 1,000 listed."))
    errors = RowErrorSerializer(many=True)
    errors_omitted = serializers.IntegerField(
        help_text=_("Problems found beyond the 1,000 listed (0: every problem is listed).")
    )


class ImportJobAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    url = serializers.CharField(help_text=_("Where to follow the job."))
    status = serializers.CharField()


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(source="fact_kind")
    status = serializers.CharField()
    file_name = serializers.CharField()
    progress_done = serializers.IntegerField()
    progress_total = serializers.IntegerField(allow_null=True)
    result = serializers.JSONField(
        help_text=_(
            "When done, the import's result (as the synchronous answer); when failed, "
            "detail and error_count."
        )
    )
    errors = RowErrorSerializer(many=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
