"""Units and separators in the reader's language: `{{ hours|hours }}` reads `18.1 小时` in
Chinese and `18.1 h` in English, `{% colon %}` a full-width colon in Chinese (`状态：`) and `: `
in English."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def hours(value) -> str:
    if value is None or value == "":
        return "—"
    return _("%(value)s h") % {"value": value}


@register.filter
def minutes(value) -> str:
    if value is None or value == "":
        return "—"
    return _("%(value)s min") % {"value": value}


@register.simple_tag
def colon() -> str:
    return pgettext("label separator", ": ")
