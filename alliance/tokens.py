"""API tokens beyond sign-in: personal access tokens, the alliance office's machine tokens, who
sees and revokes which, and the record of their use (issue 13, items 1, 2 and 12).

The kinds (ApiTokenKind; lifetimes in settings):
- sign-in: `POST /api/v1/auth/token/` with the password (and the code where two factors apply);
  `API_TOKEN_HOURS`; ends with the browser logout.
- personal: named on /accounts/tokens/ by a signed-in user whose session gave its second factor
  (where one applies), for that user's own scripts; `API_PERSONAL_TOKEN_DAYS`; survives logout.
- machine: issued on /alliance/tokens/ by the alliance office for a member institution's system;
  `API_MACHINE_TOKEN_DAYS`. Its user is a service account made for that one token: a staff
  profile at the institution with the role its tier gives (hospital or community staff), no
  password and so no browser or sign-in-token access. The API then applies the same
  `restrict(user)` as for that institution's staff, the access log names the system, and
  revoking the token deactivates the account.
Every kind ends with its expiry, a password change or deactivation of its user
(alliance/signals.py), and when its owner or the office revokes it. Creating and revoking are
in the access log; so is each minute a personal or machine token is used (`note_use`).
"""

from __future__ import annotations

import datetime
import re
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit, twofactor
from core.access import profile_of
from core.choices import AccessKind
from core.errors import ActionNotAllowed, DomainError

from .choices import KIND_TIER, Role, Tier
from .models import ApiToken, ApiTokenKind, Institution, StaffProfile

PERSONAL_TOKEN_LIMIT = 10  # live personal tokens per user
# The role a machine token's service account gets from the institution's tier.
MACHINE_ROLES = {
    Tier.TERTIARY: Role.HOSPITAL_STAFF,
    Tier.SECONDARY: Role.HOSPITAL_STAFF,
    Tier.PRIMARY: Role.COMMUNITY_STAFF,
}
MANAGE_PERMISSION = "alliance.manage_api_tokens"


def _detail(token: ApiToken) -> dict:
    """What the access log keeps of a token: never the key, only a prefix of its hash."""
    return {
        "token": token.name or token.get_kind_display(),
        "token_kind": token.kind,
        "ref": token.digest[:12],
    }


def _live(queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    return queryset.filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the token a name: what will use it?")})
    return name[:100]


# --- reads -----------------------------------------------------------------------------------


def lifetimes() -> dict[str, int]:
    """The configured lifetimes, for the pages."""
    sign_in = settings.REST_KNOX["TOKEN_TTL"]
    return {
        "sign_in_hours": int(sign_in.total_seconds() // 3600),
        "personal_days": settings.API_PERSONAL_TOKEN_DAYS,
        "machine_days": settings.API_MACHINE_TOKEN_DAYS,
    }


def own_tokens(user) -> QuerySet[ApiToken]:
    """The user's live tokens, newest first."""
    return _live(ApiToken.objects.filter(user=user)).order_by("-created")


def own_token(user, digest: str) -> ApiToken:
    """One of the user's own tokens; 404 for any other."""
    token = own_tokens(user).filter(digest=digest).first()
    if token is None:
        raise Http404
    return token


def office_tokens(user) -> QuerySet[ApiToken]:
    """Live tokens of every account of the office's alliances (members and their stations),
    service accounts included; all tokens for a superuser; none for anybody else."""
    if not user.has_perm(MANAGE_PERMISSION):
        return ApiToken.objects.none()
    tokens = _live(ApiToken.objects.all())
    if not user.is_superuser:
        profile = profile_of(user)
        scope = Institution.objects.in_alliances_of(profile.institution_id)
        tokens = tokens.filter(user__staff_profile__institution__in=scope.values("pk"))
    return tokens.select_related("user", "user__staff_profile__institution", "created_by").order_by(
        "-created"
    )


def office_token(user, digest: str) -> ApiToken:
    """A token the office may revoke; 404 for one of another alliance (not disclosed)."""
    token = office_tokens(user).filter(digest=digest).first()
    if token is None:
        raise Http404
    return token


def machine_token_institutions(user) -> QuerySet[Institution]:
    """Where the office may issue a machine token: active care institutions of its alliances."""
    if not user.has_perm(MANAGE_PERMISSION):
        return Institution.objects.none()
    institutions = Institution.objects.active().filter(kind__in=_care_kinds())
    if not user.is_superuser:
        institutions = institutions.in_alliances_of(profile_of(user).institution_id)
    return institutions.in_tree_order()


def _care_kinds() -> list[str]:

    return [kind for kind, tier in KIND_TIER.items() if tier in MACHINE_ROLES]


# --- writes ----------------------------------------------------------------------------------


@transaction.atomic
def personal_token_create(*, actor, name: str) -> tuple[ApiToken, str]:
    """A named personal access token for the actor's own machine clients. Returns the token and
    its key, which exists only here: only its hash is stored, the page shows it once."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise ActionNotAllowed(_("Sign in first."))
    if not twofactor.session_verified(actor):
        raise ActionNotAllowed(
            _("Give your two-factor code first: personal tokens are issued to verified sessions.")
        )
    name = _clean_name(name)
    # One at a time per user, so that the limit holds under concurrent requests.
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    live = _live(ApiToken.objects.filter(user=actor, kind=ApiTokenKind.PERSONAL))
    if live.filter(name=name).exists():
        raise ValidationError({"name": _("You already have a token of this name.")})
    if live.count() >= PERSONAL_TOKEN_LIMIT:
        raise DomainError(
            _("You have %(limit)s personal tokens: revoke one you no longer use first.")
            % {"limit": PERSONAL_TOKEN_LIMIT}
        )
    token, key = ApiToken.objects.create(
        user=actor,
        kind=ApiTokenKind.PERSONAL,
        name=name,
        created_by=actor,
        expiry=datetime.timedelta(days=settings.API_PERSONAL_TOKEN_DAYS),
    )
    audit.record(AccessKind.TOKEN_CREATED, user=actor, **_detail(token))
    return token, key


def _service_username(institution: Institution) -> str:
    code = re.sub(r"[^a-z0-9-]", "", institution.code.lower())[:40]
    return f"svc-{code}-{secrets.token_hex(3)}"


@transaction.atomic
def machine_token_create(*, actor, institution: Institution, name: str) -> tuple[ApiToken, str]:
    """A machine token for a system of a member institution, on a service account made for it
    (see the module's docstring). Only the alliance office (or a superuser), only for an active
    care institution of its alliances."""
    if not actor.has_perm(MANAGE_PERMISSION):
        raise ActionNotAllowed(_("Only the alliance office issues machine tokens."))
    if not machine_token_institutions(actor).filter(pk=institution.pk).exists():
        raise ValidationError(
            {"institution": _("Choose an active hospital or primary-care member of your alliance.")}
        )
    name = _clean_name(name)
    if _live(
        ApiToken.objects.filter(
            kind=ApiTokenKind.MACHINE, name=name, user__staff_profile__institution=institution
        )
    ).exists():
        raise ValidationError(
            {"name": _("This institution already has a machine token of this name.")}
        )
    account = get_user_model().objects.create_user(
        username=_service_username(institution), first_name=name[:150]
    )  # no password: the account cannot sign in, only its token authenticates
    StaffProfile.objects.create(
        user=account, institution=institution, role=MACHINE_ROLES[institution.tier]
    )
    token, key = ApiToken.objects.create(
        user=account,
        kind=ApiTokenKind.MACHINE,
        name=name,
        created_by=actor,
        expiry=datetime.timedelta(days=settings.API_MACHINE_TOKEN_DAYS),
    )
    audit.record(
        AccessKind.TOKEN_CREATED,
        user=actor,
        account=account.username,
        institution=institution.code,
        **_detail(token),
    )
    return token, key


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> bool:
    """End a token now (the caller checked the actor may). A machine token's service account is
    deactivated with it. Logged; False when the token was already gone."""
    owner = token.user
    deleted, _by_model = ApiToken.objects.filter(pk=token.pk).delete()
    if not deleted:
        return False
    if token.kind == ApiTokenKind.MACHINE and owner.is_active:
        owner.is_active = False
        owner.save(update_fields=["is_active"])
    extra = {} if owner.pk == actor.pk else {"owner": owner.get_username()}
    audit.record(AccessKind.TOKEN_REVOKED, user=actor, **extra, **_detail(token))
    return True


def note_use(sender, token: ApiToken, **kwargs) -> None:
    """Receiver of core.api.authentication.token_used, sent when the API authentication writes a
    token's last use (at most once a minute per token): a personal or machine token at work gets
    an access-log row, with the request's address and path, for that minute. Sign-in tokens
    are logged at sign-in. Connected in AllianceConfig.ready()."""
    if token.kind in (ApiTokenKind.PERSONAL, ApiTokenKind.MACHINE):
        audit.record(AccessKind.TOKEN_USED, user=token.user, channel="api", **_detail(token))
