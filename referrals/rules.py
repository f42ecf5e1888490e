"""Action predicates for referrals; which referral rows a user sees is `restrict(user)`."""

import rules

from alliance.choices import Role
from alliance.rules import has_role, is_superuser

works_with_referrals = is_superuser | has_role(
    Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF, Role.ALLIANCE_OFFICE
)

rules.add_perm("referrals.view_referral", works_with_referrals)
rules.add_perm("referrals.add_referral", works_with_referrals)
rules.add_perm("referrals.change_referral", works_with_referrals)

# Response limits apply to the whole alliance: the office sets them. Also a named rule, so the
# page header can test it without Django's model backend loading permission tables.
sets_response_limits = is_superuser | has_role(Role.ALLIANCE_OFFICE)
rules.add_perm("referrals.change_responselimit", sets_response_limits)
rules.add_rule("referrals.sets_response_limits", sets_response_limits)
