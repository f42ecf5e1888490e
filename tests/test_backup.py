"""The backup procedure of README §Backups, tried end to end: `pg_dump` of a database holding the
demo data, `pg_restore` into an empty one, and the restored copy is whole: every table has the
same rows, identity numbers still decrypt with the keys (which are not in the dump), and the
audit trails are still append-only."""

import os
import subprocess
import uuid

import psycopg2
import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from alliance import audit
from alliance.choices import AccessKind
from alliance.fields import ID_NUMBER_PURPOSE, decrypt
from tests.conftest import require_postgres


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True, env=_pg_env())  # noqa: S603


def _pg_env() -> dict[str, str]:
    settings = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": settings["HOST"] or "127.0.0.1",
        "PGPORT": str(settings["PORT"] or 5432),
        "PGUSER": settings["USER"] or "postgres",
    }
    if settings["PASSWORD"]:
        env["PGPASSWORD"] = settings["PASSWORD"]
    return env


def _connect(name: str):
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=name, host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres", password=settings["PASSWORD"] or None,
    )  # fmt: skip


def _counts(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - our own table names
        counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_a_dump_of_the_demo_restores_whole(transactional_db, tmp_path):
    require_postgres()
    call_command("seed_demo", force=True, verbosity=0)
    audit.record(AccessKind.LOGIN_FAILED, username="before-the-backup")
    source = connection.settings_dict["NAME"]
    target = f"restore_{uuid.uuid4().hex[:12]}"
    dump = tmp_path / "alliance.dump"
    tables = sorted(
        m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy
    )
    with connection.cursor() as cursor:
        expected = _counts(cursor, tables)
    assert expected["alliance_patient"] > 0 and expected["referrals_referral"] > 0

    _run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source)
    _run("createdb", target)
    try:
        _run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump))
        restored = _connect(target)
        try:
            with restored.cursor() as cursor:
                assert _counts(cursor, tables) == expected
                cursor.execute("SELECT id_type, id_number FROM alliance_patient ORDER BY id")
                rows = cursor.fetchall()
                cursor.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'alliance_accesslog'::regclass"
                )
                triggers = [name for (name,) in cursor.fetchall()]
            # A newborn without a document has no number; every other one decrypts.
            assert [kind for kind, value in rows if value == ""] == ["none"]
            decrypted = [
                (kind, decrypt(value, purpose=ID_NUMBER_PURPOSE)) for kind, value in rows if value
            ]
            assert len(decrypted) == expected["alliance_patient"] - 1
            assert all(len(n) == 18 for kind, n in decrypted if kind == "resident")
            assert {"resident", "hmt_residence", "passport"} <= {kind for kind, _ in decrypted}
            assert any("append_only" in name for name in triggers)
            with restored.cursor() as cursor, pytest.raises(psycopg2.Error, match="Cannot"):
                cursor.execute("DELETE FROM alliance_accesslog")  # the restored log stays intact
        finally:
            restored.close()
    finally:
        _run("dropdb", "--if-exists", target)
