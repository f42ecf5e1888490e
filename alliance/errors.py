"""The alliance's own domain errors (the kinds and their HTTP statuses are core.errors')."""

from django.utils.translation import gettext as _

from core.errors import DomainError


class IdentityNumberRegistered(DomainError):
    """The identity number is registered in the alliance, at an institution whose record the
    user may not see: registration and the look-up say so alike (409), never where."""

    code = "id_number_registered"

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or _(
                "A resident with this identity number is already registered in the alliance. "
                "Ask the alliance office to share or transfer the record."
            )
        )
