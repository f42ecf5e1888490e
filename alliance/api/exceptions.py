"""Every API error is JSON with a `detail` message; field errors are listed under `errors`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from alliance.errors import DomainError


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return exceptions.ValidationError(detail)
    return exc


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, ProtectedError):
        return Response(
            {"detail": _("This record is still referenced and cannot be deleted."),
             "code": "protected"},
            status=status.HTTP_409_CONFLICT,
        )  # fmt: skip
    exc = _as_drf(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        fields = ", ".join(name for name in errors if name != "non_field_errors")
        message = _("Invalid input: %(fields)s.") % {"fields": fields} if fields else None
        if message is None:
            first = errors.get("non_field_errors") or [_("Invalid input.")]
            message = str(first[0])
        response.data = {"detail": message, "code": "invalid", "errors": errors}
    elif isinstance(exc, (Http404, exceptions.NotFound)):
        # Django's "No Patient matches the given query." names the model, in English.
        response.data = {"detail": _("Not found."), "code": "not_found"}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": data["detail"], "code": getattr(data["detail"], "code", None)}
    return response
