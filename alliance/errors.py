"""Domain errors raised by services; the API maps them to HTTP statuses, the UI to messages."""


class DomainError(Exception):
    """A request that is well-formed but cannot be carried out (HTTP 409)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    code = "illegal_transition"


class IdentityNumberRegistered(DomainError):
    """The identity number is registered in the alliance, at an institution whose record the
    user may not see: registration and the look-up say so alike (409), never where."""

    code = "id_number_registered"

    def __init__(self, message: str = ""):
        from django.utils.translation import gettext as _

        super().__init__(
            message
            or _(
                "A resident with this identity number is already registered in the alliance. "
                "Ask the alliance office to share or transfer the record."
            )
        )


class ActionNotAllowed(DomainError):
    """The user may see the object but may not do this to it (HTTP 403)."""

    status_code = 403
    code = "not_allowed"
