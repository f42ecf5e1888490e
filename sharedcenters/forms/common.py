"""What the shared centers' forms have in common: the "All" choice, the date input, text areas."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

ALL = [("", _("All"))]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def textarea(n: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": n})
