"""core.registry: named stores the apps fill in AppConfig.ready()."""

import pytest

from core import registry
from core.alerts import alert_backend, log_alert
from core.registry import Store


def test_a_store_reads_its_entries_after_those_they_name():
    store = Store("loaders")
    store.register("sharedcenters", 3, after=["alliance", "referrals"])
    store.register("referrals", 2, after=["alliance"])
    store.register("alliance", 1)
    assert store.names() == ["alliance", "referrals", "sharedcenters"]
    assert list(store) == [1, 2, 3]


def test_registering_a_name_again_replaces_the_entry():
    store = Store("panels")
    store.register("referrals", "old")
    store.register("referrals", "new")
    assert list(store) == ["new"]


def test_an_entry_after_one_not_registered_keeps_its_place():
    store = Store("panels")
    store.register("exam_orders", "orders", after=["referrals"])
    assert list(store) == ["orders"]


def test_a_cycle_is_refused():
    store = Store("loaders")
    store.register("a", 1, after=["b"])
    store.register("b", 2, after=["a"])
    with pytest.raises(ValueError, match="cycle"):
        store.names()


def test_the_apps_register_their_hooks():
    assert registry.demo_loaders.names() == ["alliance", "referrals", "sharedcenters", "reporting"]
    assert registry.patient_panels.names() == ["referrals", "exam_orders"]
    assert registry.patient_visibility.names() == ["referrals", "sharedcenters"]
    assert registry.alert_backends["log"] is log_alert


def test_an_alert_backend_is_a_registered_name_or_a_dotted_path():
    assert alert_backend("log") is log_alert
    assert alert_backend("core.alerts.log_alert") is log_alert
    assert alert_backend("tests.core.test_registry.sms_gateway") is sms_gateway


def sms_gateway(phone: str, message: str) -> None:
    """A stand-in for a hospital's gateway, named by its dotted path."""
