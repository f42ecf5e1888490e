"""Who may see which rows: one mechanism for every page, API endpoint and selector.

* `Scope.of(user)`: what the access rules need to know about the user (their staff profile, whether
  they see everything or nothing), computed once and kept on the user object for the request.
* `RestrictedQuerySet.restrict(user)`: every model with restricted rows answers it through its
  `visible_to(profile)` (STYLE.md, after NetBox's RestrictedQuerySet). A row the user may not see
  is not in the queryset: a 404, not a 403.
* `RestrictedMixin` (pages) and `RestrictedViewSetMixin` (API): the only bases of views showing
  rows. Whatever a view's `get_queryset()` returns is restricted on the way out, overrides
  included, so no view can forget it; what a read shows is named in the access log.
* `row_for_user()`: the one fetch-and-authorise form behind every `<model>_for_user(user, pk, *,
  for_update=False)` selector.

The platform knows no domain: the staff profile is found by duck typing (`user.staff_profile`),
and a profile with `sees_no_rows` set (the security auditor) sees no row at all.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from core import audit
from core.api.permissions import ActionRulePermission

PROFILE_ATTRIBUTE = "staff_profile"  # the one-to-one from the user to their staff profile

T = TypeVar("T")
_UNLOADED = object()  # a profile not looked up yet


def profile_of(user) -> Any:
    """The user's staff profile, or None for anonymous users and accounts without one."""
    return Scope.of(user).profile


class Scope:
    """The user as the access rules see them; `Scope.of(user)` builds it once per request (it
    is kept on the user object, which Django builds anew for every request). `memo()` keeps
    what a rule derives from it (the institutions a dashboard covers) for the same time."""

    __slots__ = ("user", "active", "everything", "key", "_profile", "_fingerprint", "_memo")

    def __init__(self, user) -> None:
        self.user = user
        self.active = bool(getattr(user, "is_authenticated", False) and user.is_active)
        self.everything = self.active and bool(getattr(user, "is_superuser", False))
        self.key = ("user", user.pk) if self.active else ("anonymous",)
        self._profile = _UNLOADED
        self._fingerprint = _fingerprint(user)
        self._memo: dict[str, Any] = {}

    @property
    def profile(self) -> Any:
        """The staff profile, loaded when first asked (the superuser's rows never ask)."""
        if self._profile is _UNLOADED:
            self._profile = _load_profile(self.user) if self.active else None
            self._fingerprint = _fingerprint(self.user)  # the loaded profile counts
        return self._profile

    @classmethod
    def of(cls, user) -> Scope:
        scope = getattr(user, "_access_scope", None) if user is not None else None
        if scope is None or scope._fingerprint != _fingerprint(user):
            scope = cls(user)
            if user is not None:
                # An object that takes no attributes keeps no scope: it is built each time.
                with contextlib.suppress(AttributeError):
                    user._access_scope = scope
        return scope

    @property
    def nothing(self) -> bool:
        """No row of a restricted model: no profile, or a role that reads no records."""
        if self.everything:
            return False
        return self.profile is None or bool(getattr(self.profile, "sees_no_rows", False))

    @property
    def role(self) -> str | None:
        return getattr(self.profile, "role", None)

    @property
    def institution_id(self) -> int | None:
        return getattr(self.profile, "institution_id", None)

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """`compute()` once per scope (per request), under `name`."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]


def _fingerprint(user) -> tuple:
    """What a cached scope depends on: a user changed since (a test, a shell) gets a new one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return (None,)
    state = getattr(user, "_state", None)
    profile = getattr(state, "fields_cache", {}).get(PROFILE_ATTRIBUTE, _UNLOADED)
    return (user.pk, user.is_active, getattr(user, "is_superuser", False), id(profile))


def _load_profile(user) -> Any:
    try:
        return getattr(user, PROFILE_ATTRIBUTE)
    except (ObjectDoesNotExist, AttributeError):
        return None


class RestrictedQuerySet(models.QuerySet):
    """A queryset whose rows depend on who asks: `restrict(user)`. The result remembers whom it
    was restricted for (through every later filter and clone), so the base views restrict a
    selector's queryset only when it is not restricted already."""

    _restricted_for: tuple | None = None

    def _clone(self):
        clone = super()._clone()
        clone._restricted_for = self._restricted_for
        return clone

    def restrict(self, user) -> RestrictedQuerySet:
        scope = Scope.of(user)
        if scope.everything:
            queryset = self.all()
        elif scope.nothing:
            queryset = self.none()  # the security auditor reads the access log, no other row
        else:
            queryset = self.visible_to(scope.profile)
        queryset._restricted_for = scope.key
        return queryset

    def visible_to(self, profile) -> RestrictedQuerySet:
        """Reference data (institutions, departments, alliances) is visible to all staff."""
        return self

    def by_id(self) -> RestrictedQuerySet:
        """The same rows each once, selected by id: restrict() may join (a center's staff) and
        repeat a row, which would break counts and `get()`. Still restricted for the same user."""
        queryset = self.model._default_manager.filter(pk__in=self.values("pk"))
        queryset._restricted_for = self._restricted_for
        return queryset

    def is_restricted_for(self, user) -> bool:
        return self._restricted_for is not None and self._restricted_for == Scope.of(user).key


def restricted(queryset, user):
    """The queryset restricted for the user: as it is if it already is, else `restrict(user)`."""
    if isinstance(queryset, RestrictedQuerySet):
        return queryset if queryset.is_restricted_for(user) else queryset.restrict(user)
    if isinstance(queryset, models.Manager):
        return restricted(queryset.all(), user)
    raise ImproperlyConfigured(
        f"{type(queryset).__name__} of {getattr(queryset, 'model', '?')} has no restrict(): "
        "give the model a RestrictedQuerySet, or fetch its rows in a selector."
    )


def row_for_user(queryset, user, pk, *, for_update: bool = False, audited: bool = True):
    """Fetch and authorise together (the body of every `<model>_for_user` selector): the row
    among those the user may see, else 404; named in the access log if the response shows it.
    `for_update` locks the row itself only (PostgreSQL refuses FOR UPDATE on outer joins)."""
    queryset = restricted(queryset, user)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    try:
        row = queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if audited:
        _shown(row)
    return row


def _shown(objects, **kwargs) -> None:
    audit.shown(objects, **kwargs)


def _restricting(method: Callable) -> Callable:
    """`get_queryset` whose result is restricted for the request's user."""

    @functools.wraps(method)
    def get_queryset(self, *args, **kwargs):
        return restricted(method(self, *args, **kwargs), self.request.user)

    get_queryset.restricts = True
    return get_queryset


class _RestrictsOverrides:
    """Wraps every `get_queryset` a subclass defines, so an override cannot skip restrict()."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("get_queryset")
        if own is not None and not getattr(own, "restricts", False):
            cls.get_queryset = _restricting(own)


# --- pages ------------------------------------------------------------------------------------


class AuditedMixin:
    """The record a page opens (`get_object`) and the rows of a list page (`object_list`) are
    named in ONE access-log row per request (audit.shown; records of no patient are left
    out). Pages that fetch their record with a `*_for_user` selector are covered there."""

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        _shown(obj)
        return obj

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "object_list" in context and "object" not in context:
            # The page's rows: iterating fills the queryset's cache, the template reuses it.
            _shown(context["object_list"])
        return context


class RestrictedMixin(_RestrictsOverrides, AuditedMixin, LoginRequiredMixin):
    """Base of every staff page (list, detail, form, template or action view): signed in,
    what it shows in the access log, `get_queryset()` restricted to the user's rows whatever
    the view puts in it; single rows come from `<model>_for_user` selectors."""

    def get_queryset(self):
        return super().get_queryset()

    get_queryset = _restricting(get_queryset)

    @property
    def scope(self) -> Scope:
        return Scope.of(self.request.user)


# --- API --------------------------------------------------------------------------------------


class RestrictedViewSetMixin(_RestrictsOverrides):
    """Base of every API view: the queryset is always restricted for the user, and what a read
    answers with is in the access log: the record of a detail (and of its GET actions: events,
    attachments) or the records of a list's page, one row a request, patient data only
    (audit.shown). Writes leave their own trail (events, change history)."""

    permission_classes = [IsAuthenticated, ActionRulePermission]
    action_permissions: dict[str, str] = {}

    def get_queryset(self):
        return super().get_queryset()

    get_queryset = _restricting(get_queryset)

    def get_object(self):
        obj = super().get_object()
        if self.request.method in SAFE_METHODS:
            _shown(obj)
        return obj

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None and self.request.method in SAFE_METHODS:
            _shown(page)
        return page

    @property
    def scope(self) -> Scope:
        return Scope.of(self.request.user)
