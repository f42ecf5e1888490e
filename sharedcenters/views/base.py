"""What every shared-center page shares: who may open it, and putting service errors on forms."""

from __future__ import annotations

import rules
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from alliance.choices import Role
from alliance.rules import has_role, is_superuser
from core.access import RestrictedMixin, profile_of

from ..querysets import center_ids_of

# Service figures name no patient: the centers answer for them and the office oversees them.
# (Proposed for rules.py as the named rule "sharedcenters.reads_dashboard".)
reads_dashboard = is_superuser | has_role(Role.CENTER_STAFF, Role.ALLIANCE_OFFICE)


class OrdersAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    """Order pages: their rows restricted, what each shows in the access log."""

    permission_required = "sharedcenters.view_examorder"


class PackagesAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    permission_required = "sharedcenters.view_package"


class PredicateRequiredMixin(RestrictedMixin, PermissionRequiredMixin):
    """PermissionRequiredMixin over a `rules` predicate that is not a model permission."""

    predicate: rules.Predicate

    def has_permission(self) -> bool:
        return self.predicate.test(self.request.user)


def staff_center_ids(user) -> list[int] | None:
    """The centers the user works at; None for the superuser, who works at all of them."""
    if user.is_superuser and user.is_active:
        return None
    profile = profile_of(user)
    return center_ids_of(profile) if profile is not None else []


def safe_next(request: HttpRequest, default: str) -> str:
    """Where to go after a POST: a same-site `next` (a worklist row's button), else default."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
