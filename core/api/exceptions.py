"""Every API error is JSON with a `detail` message; field errors are listed under `errors`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError


def _as_drf(exc: Exception) -> Exception:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return exceptions.ValidationError(detail)
    return exc


def _validation_message(errors: dict) -> str:
    """The first problem in words, naming its field: `reason: This field is required.`"""
    for field, problems in errors.items():
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):  # a nested serializer: name the outer field only
            return _("Invalid input: %(fields)s.") % {"fields": field}
        if field in ("non_field_errors", "detail"):
            return str(first)
        return f"{field}: {first}"
    return str(_("Invalid input."))


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, ProtectedError):
        return Response(
            {
                "detail": _("This record is still referenced and cannot be deleted."),
                "code": "protected",
            },
            status=status.HTTP_409_CONFLICT,
        )
    exc = _as_drf(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": _validation_message(errors), "code": "invalid", "errors": errors}
        # Field errors also stand at the top level ({"reason": ["..."]}), as clients expect.
        response.data |= {k: v for k, v in errors.items() if k not in response.data}
    elif isinstance(exc, (Http404, exceptions.NotFound)):
        # Django's "No Patient matches the given query." names the model, in English.
        response.data = {"detail": _("Not found."), "code": "not_found"}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": data["detail"], "code": getattr(data["detail"], "code", None)}
    return response
