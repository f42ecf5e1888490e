"""One world per test module: built once inside a transaction that is rolled back at the end.

Building two alliances through the services takes a while; the security tests only read it (and
what a test writes is rolled back with the test's own savepoint, as pytest-django's `db` does),
so every test of a module shares it. See tests/security/world.py for what is in it.
"""

import pytest
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from .world import World, build_world


@pytest.fixture(scope="module")
def sec_world(django_db_setup, django_db_blocker, tmp_path_factory) -> World:
    media = tmp_path_factory.mktemp("security-media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=str(media)),
        transaction.atomic(),
    ):
        world = build_world()
        yield world
        transaction.set_rollback(True)


@pytest.fixture
def world_db(sec_world, db) -> World:
    """The shared world, with this test's writes rolled back after it."""
    return sec_world


@pytest.fixture
def client_as(world_db):
    """`client_as("A.clinic")`: an API client authenticated by the persona's token."""

    def make(key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {world_db.tokens[key]}")
        return client

    return make
