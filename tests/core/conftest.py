"""The kernel's tests drive every app's machine: they borrow the apps' fixtures."""

from tests.referrals.conftest import (  # noqa: F401 (fixtures)
    alerts,
    emergency_department,
    make_referral,
    referral_in,
)
from tests.sharedcenters.conftest import (  # noqa: F401 (fixtures)
    centers,
    critical_alerts,
    cssd_staff,
    imaging_staff,
    instrument_set,
    lab_order_in,
    make_order,
    make_packages,
    make_supply_request,
    ordering_department,
    slot,
    stored_packages,
)
