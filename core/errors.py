"""Errors raised by services; the API maps them to HTTP statuses (core.api.exceptions), the UI
to messages. An app's own errors subclass these (alliance.errors)."""


class DomainError(Exception):
    """A request that is well-formed but cannot be carried out (HTTP 409)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    code = "illegal_transition"


class ActionNotAllowed(DomainError):
    """The user may see the object but may not do this to it (HTTP 403)."""

    status_code = 403
    code = "not_allowed"
