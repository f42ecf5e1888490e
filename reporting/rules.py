"""Action predicates for reporting: the alliance office imports the facts its members report."""

import rules

from alliance.choices import Role
from alliance.rules import has_role, is_superuser

# Also a named rule, so the page header can test it without Django's model backend loading
# permission tables.
imports_facts = is_superuser | has_role(Role.ALLIANCE_OFFICE)

rules.add_perm("reporting.import_facts", imports_facts)
rules.add_rule("reporting.imports_facts", imports_facts)


# Dashboards (views/dashboards.py): aggregates, scoped by role in selectors.dashboard_scope.
reads_dashboards = is_superuser | has_role(*(r for r in Role.values if r != Role.SECURITY_AUDITOR))
reads_alliance_dashboards = is_superuser | has_role(Role.ALLIANCE_OFFICE, Role.BUREAU_VIEWER)


@rules.predicate
def sees_institution_figures(user, institution) -> bool:
    from .selectors import may_view_institution  # late: selectors load the models

    return institution is not None and may_view_institution(user, institution)


rules.add_rule("reporting.reads_dashboards", reads_dashboards)
rules.add_rule("reporting.reads_alliance_dashboards", reads_alliance_dashboards)
# The cockpit (selectors/cockpit.py): the bureau's district, the office's alliances.
rules.add_rule("reporting.reads_cockpit", reads_alliance_dashboards)
rules.add_perm("reporting.view_institution_figures", sees_institution_figures)
