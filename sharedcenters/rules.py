"""Action predicates for the shared centers; which rows a user sees is `restrict(user)`."""

import rules

from alliance.choices import Role
from alliance.rules import has_role, is_superuser

# Members order and read; centers work their orders; the office reads everything, acts on none.
# Orders are placed for an institution's patients: a clinical profile is needed, not superuser.
orders_clinically = has_role(Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF)
works_orders = is_superuser | orders_clinically | has_role(Role.CENTER_STAFF)
reads_orders = works_orders | has_role(Role.ALLIANCE_OFFICE)
is_center_staff = is_superuser | has_role(Role.CENTER_STAFF)

rules.add_perm("sharedcenters.view_examorder", reads_orders)
rules.add_perm("sharedcenters.add_examorder", orders_clinically)
rules.add_perm("sharedcenters.change_examorder", works_orders)
rules.add_perm("sharedcenters.view_package", reads_orders)
rules.add_perm("sharedcenters.change_package", works_orders)
rules.add_perm("sharedcenters.change_sterilizationcycle", is_center_staff)
# Members request sterile packages and may withdraw them; the center serves them by dispatching
# packages (change_package); the office reads them. Which rows: SupplyRequest.objects.restrict().
rules.add_perm("sharedcenters.view_supplyrequest", reads_orders)
rules.add_perm("sharedcenters.add_supplyrequest", orders_clinically)
rules.add_perm("sharedcenters.change_supplyrequest", works_orders)
rules.add_rule("sharedcenters.works_at_center", is_center_staff)
