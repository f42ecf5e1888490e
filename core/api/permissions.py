from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


class ActionRulePermission(BasePermission):
    """Checks the `rules` permission the viewset names for the current action."""

    message = _("Your role does not allow this action.")

    def has_permission(self, request, view) -> bool:
        permission = getattr(view, "action_permissions", {}).get(view.action)
        return permission is None or request.user.has_perm(permission)
