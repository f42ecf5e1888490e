"""The one CSV writer of every export (alliance.spreadsheets) and the rule that keeps it one."""

import io
import re
from pathlib import Path

import pytest

from alliance import spreadsheets

ROOT = Path(__file__).resolve().parents[2]
# Writers of CSV that no one opens in a spreadsheet: the COPY feed of an import, the bench's files.
NOT_EXPORTS = {
    "alliance/spreadsheets.py",
    "reporting/services/import_writers.py",
    "bench/figures.py",
    "bench/loadtest.py",
}


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+2", "'=1+2"),
        ("+86 21", "'+86 21"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        ("临港", "临港"),
        (-3, -3),
        (-2.5, -2.5),
        (0, 0),
        (None, None),
    ],
)
def test_only_text_a_spreadsheet_would_run_is_escaped(value, written):
    assert spreadsheets.neutralise(value) == written


def test_the_writer_escapes_every_cell_and_leaves_none_empty():
    out = io.StringIO()
    spreadsheets.csv_writer(out).writerows([["=cmd", -1, None], ["ok", "-x", 2.5]])
    assert out.getvalue() == "'=cmd,-1,\r\nok,'-x,2.5\r\n"


def test_no_export_writes_csv_but_through_the_one_writer():
    offenders = []
    for app in ("alliance", "referrals", "sharedcenters", "reporting", "config", "bench"):
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or relative in NOT_EXPORTS:
                continue
            if re.search(r"\bcsv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert offenders == []
