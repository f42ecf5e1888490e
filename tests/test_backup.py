"""The backup procedure of README §Backups, tried end to end: `pg_dump` of a database holding the
demo data, then a tar of the attachments (MEDIA_ROOT); `pg_restore` into an empty database and
the tar into an empty directory, and the restored copy is whole: every table has the same rows,
identity numbers still decrypt with the keys (which are not in the dump), the audit trails are
still append-only, and an attachment's row points to its file with the same bytes."""

import hashlib
import os
import re
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from alliance.fields import ID_NUMBER_PURPOSE
from core import audit
from core.choices import AccessKind
from core.fields import decrypt
from referrals import services as referral_services
from referrals.choices import OPEN_STATUSES
from referrals.models import Referral
from tests.conftest import require_postgres

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(512)


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
        dbname=name,
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        password=settings["PASSWORD"] or None,
    )


def _counts(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - our own table names
        counts[table] = cursor.fetchone()[0]
    return counts


README = Path(__file__).resolve().parent.parent / "README.md"
DAY = "2026-12-01"


def _readme_procedure(*, source: str, target: str, backup: Path, media: Path, restored: Path):
    """The backup and the restore commands of README §Backups, as written there, pointed at the
    test's database and directories: the test runs what an operator would copy."""
    section = README.read_text(encoding="utf-8").split("## Backups", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    take = next(b for b in blocks if "pg_dump" in b and "docker" not in b)
    give = next(b for b in blocks if "pg_restore" in b and "docker" not in b)

    def local(script: str) -> str:
        script = script.replace("$(date +%F)", DAY).replace("2026-12-01", DAY)
        script = script.replace("/backup/", f"{backup}/").replace("alliance_restored", target)
        script = script.replace("/srv/alliance/media-restored", str(restored))
        return re.sub(r" alliance$", f" {source}", script, flags=re.M)

    return local(take), local(give)


def _bash(script: str, media: Path) -> None:
    subprocess.run(  # noqa: S603
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        env=_pg_env() | {"MEDIA_ROOT": str(media)},
    )


def _attach_to_a_demo_referral():
    referral = Referral.objects.filter(status__in=OPEN_STATUSES).order_by("pk").first()
    upload = SimpleUploadedFile("心电图.pdf", PDF, content_type="application/pdf")
    return referral_services.referral_attach(
        actor=referral.referring_user, referral=referral, upload=upload
    )


@pytest.mark.django_db(transaction=True)
def test_a_dump_of_the_demo_restores_whole(transactional_db, tmp_path, settings):
    require_postgres()
    settings.MEDIA_ROOT = media = tmp_path / "media"
    call_command("seed_demo", force=True, verbosity=0)
    attachment = _attach_to_a_demo_referral()
    audit.record(AccessKind.LOGIN_FAILED, username="before-the-backup")
    source = connection.settings_dict["NAME"]
    target = f"restore_{uuid.uuid4().hex[:12]}"
    (backup := tmp_path / "backup").mkdir()
    restored_media = tmp_path / "media-restored"
    take, give = _readme_procedure(
        source=source, target=target, backup=backup, media=media, restored=restored_media
    )
    tables = sorted(
        m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy
    )
    with connection.cursor() as cursor:
        expected = _counts(cursor, tables)
    assert expected["alliance_patient"] > 0 and expected["referrals_referral"] > 0

    # README's order: the database first, then the files (a file is written before its row
    # commits and is never changed, so every file a row of the dump names is in the archive).
    _bash(take, media)
    try:
        _bash(give, media)
        restored = _connect(target)
        try:
            with restored.cursor() as cursor:
                assert _counts(cursor, tables) == expected
                cursor.execute(
                    "SELECT file, sha256, size FROM referrals_referralattachment WHERE id = %s",
                    [attachment.pk],
                )
                path, sha256, size = cursor.fetchone()
                cursor.execute("SELECT id_type, id_number FROM alliance_patient ORDER BY id")
                rows = cursor.fetchall()
                cursor.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'alliance_accesslog'::regclass"
                )
                triggers = [name for (name,) in cursor.fetchall()]
            # The row names a restored file holding the very bytes uploaded.
            assert path == attachment.file.name
            copy = (restored_media / path).read_bytes()
            assert copy == PDF and (len(copy), hashlib.sha256(copy).hexdigest()) == (size, sha256)
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


def test_the_attachments_live_in_a_named_volume_of_the_compose_file():
    """Without a volume, the attachments would live in the web container and die with it, and
    the backup of README would have nothing to copy."""
    import yaml

    compose = yaml.safe_load((README.parent / "docker-compose.yml").read_text(encoding="utf-8"))
    for name in ("web", "worker"):
        service = compose["services"][name]
        media_root = service["environment"]["MEDIA_ROOT"]
        mounts = dict(volume.rsplit(":", 1)[::-1] for volume in service.get("volumes", []))
        assert mounts.get(media_root) in compose["volumes"], name
