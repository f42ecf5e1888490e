from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class FactUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=_("CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX, with a header row.")
    )


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text=_("Rows added."))
    updated = serializers.IntegerField(help_text=_("Rows already there, replaced."))


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("Row number as Excel shows it; the header is 1."))
    column = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    error_count = serializers.IntegerField(help_text=_("Bad rows in all; at most 1,000 listed."))
    errors = RowErrorSerializer(many=True)
