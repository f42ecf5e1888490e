"""The bench's own PostgreSQL database: created when missing, rebuilt when the scale changes.

The bench only ever drops a database it created itself (it leaves a `bench_info` table there),
so pointing BENCH_DATABASE_URL at a real database by mistake stops with an error instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from django.core.management.base import CommandError
from django.db import connection
from psycopg2 import sql


def _server():
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname="postgres",
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


def _stored_scale() -> tuple[bool, float | None]:
    """(database has tables, the scale it was loaded at or None)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_info'), to_regclass('django_migrations')")
        info, migrations = cursor.fetchone()
        if info is None:
            return migrations is not None, None
        cursor.execute("SELECT scale FROM bench_info")
        row = cursor.fetchone()
        return True, row[0] if row else None


def ensure_database(scale: float, stdout) -> None:
    if connection.vendor != "postgresql":
        return
    name = connection.settings_dict["NAME"]
    server = _server()
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                stdout.write(f"Creating the bench database {name} ...")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                return
        has_tables, stored = _stored_scale()
        if stored == scale or not has_tables:
            return
        if stored is None:
            raise CommandError(
                f"{name} holds data the bench did not load: point BENCH_DATABASE_URL at a "
                "database of its own."
            )
        stdout.write(f"{name} was loaded at scale {stored}: rebuilding it at scale {scale} ...")
        connection.close()
        with server.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        server.close()


def remember_scale(scale: float) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_info (scale double precision NOT NULL)")
        cursor.execute("DELETE FROM bench_info")
        cursor.execute("INSERT INTO bench_info (scale) VALUES (%s)", [scale])


@contextmanager
def bulk_load() -> Iterator[None]:
    """Rows loaded without their triggers (the change-history copies and the foreign-key checks
    of every row), in the caller's transaction: synthetic rows need no history, and their keys
    come from rows just read. About half the work per row; where the role may not (not a
    superuser), the rows are loaded with their triggers, only slower."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        allowed = cursor.fetchone()[0]
        if allowed:
            cursor.execute("SET LOCAL session_replication_role = replica")
    yield  # on an error the transaction rolls back, and the setting with it
    if allowed:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")
