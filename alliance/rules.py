"""Action predicates (django `rules`): what a role may do. Row visibility is `restrict(user)`."""

import rules
from django.conf import settings

from core.access import profile_of

from .choices import Role


def has_role(*roles: str) -> rules.Predicate:
    @rules.predicate(name=f"has_role({','.join(roles)})")
    def predicate(user) -> bool:
        profile = profile_of(user)
        return profile is not None and profile.role in roles

    return predicate


is_superuser = rules.is_active & rules.is_superuser

# Clinical roles and the alliance office work with patient records; the bureau never does.
can_view_patients = is_superuser | has_role(
    Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF, Role.CENTER_STAFF, Role.ALLIANCE_OFFICE
)
can_register_patients = is_superuser | has_role(
    Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF, Role.ALLIANCE_OFFICE
)

rules.add_perm("alliance.view_patient", can_view_patients)
rules.add_perm("alliance.add_patient", can_register_patients)
rules.add_perm("alliance.change_patient", can_register_patients)

# Separation of duties: the security auditor reads the access log and nothing else; a
# superuser may read it too. Also a named rule, for the page header.
reads_access_log = is_superuser | has_role(Role.SECURITY_AUDITOR)
rules.add_perm("alliance.view_accesslog", reads_access_log)
rules.add_rule("alliance.reads_access_log", reads_access_log)


@rules.predicate
def is_institution_admin(user) -> bool:
    profile = profile_of(user)
    return profile is not None and profile.is_institution_admin


# Contact cards: the office for any member, an institution's administrator for its own subtree
# (which institution is checked by the service, alliance.selectors.contact_card_scope).
keeps_contact_cards = (
    is_superuser | has_role(Role.ALLIANCE_OFFICE) | (rules.is_active & is_institution_admin)
)
rules.add_perm("alliance.add_department", keeps_contact_cards)
rules.add_perm("alliance.change_department", keeps_contact_cards)

# API tokens: the alliance office issues machine tokens for its members' systems and revokes any
# token of its alliances' staff (alliance/tokens.py decides which rows).
manages_api_tokens = is_superuser | has_role(Role.ALLIANCE_OFFICE)
rules.add_perm("alliance.manage_api_tokens", manages_api_tokens)
rules.add_rule("alliance.manages_api_tokens", manages_api_tokens)


def needs_two_factor(user) -> bool:
    """settings.TWO_FACTOR_POLICY (core.twofactor asks it, for accounts that are no superuser):
    the roles in TWO_FACTOR_REQUIRED_ROLES must sign in with a second factor; community staff
    may turn it on, and must when TWO_FACTOR_COMMUNITY_REQUIRED."""
    profile = profile_of(user)
    if profile is None:
        return False
    if profile.role == Role.COMMUNITY_STAFF:
        return settings.TWO_FACTOR_COMMUNITY_REQUIRED
    return profile.role in settings.TWO_FACTOR_REQUIRED_ROLES
