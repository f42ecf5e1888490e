"""The reporting part of `make bench`: facts at scale, the import, the recomputation, and a
hand-written reference SQL that must arrive at the same numbers.

PostgreSQL only: the figures the issue names are PostgreSQL figures.
"""

from __future__ import annotations

import csv
import datetime
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from openpyxl import Workbook

from alliance.models import Institution
from reporting.models import BedCapacity, IndicatorValue, InpatientStay, OutpatientVisit
from reporting.services.indicators import recompute

VISITS, STAYS, IMPORT_ROWS, INSTITUTIONS = 5_000_000, 500_000, 1_000_000, 200
XLSX_ROWS = 200_000  # the workbook import: the 200,000-row XLSX


def bench_year() -> int:
    return datetime.date.today().year - 1  # noqa: DTZ011 - a whole past year


def fact_institutions(scale: float) -> list[int]:
    count = max(5, round(INSTITUTIONS * scale))
    return list(
        Institution.objects.filter(code__startswith="BENCH-")
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )


def load_facts(scale: float) -> None:
    """Visit-level rows, stays (some crossing the year's edges, some same-day, some open) and
    one or two capacity records per institution, generated inside PostgreSQL."""
    year, ids = bench_year(), fact_institutions(scale)
    visits, stays = round(VISITS * scale), round(STAYS * scale)
    start = datetime.date(year, 1, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """
            INSERT INTO reporting_outpatientvisit
                (institution_id, record_id, visit_date, visit_type, department, visit_count,
                 total_cost)
            SELECT (%(ids)s::bigint[])[1 + n %% %(k)s], 'BV-' || n,
                   %(start)s::date + ((n / %(k)s) %% 365)::int,
                   CASE WHEN n %% 12 = 0 THEN 'emergency' ELSE 'outpatient' END, '全科', 1,
                   round((40 + random() * 260)::numeric, 2)
            FROM generate_series(0, %(n)s - 1) AS n
            """,
            {"ids": ids, "k": len(ids), "start": start, "n": visits},
        )
        cursor.execute(
            """
            INSERT INTO reporting_inpatientstay
                (institution_id, stay_id, department, admit_date, discharge_date, total_cost)
            SELECT institution_id, 'BZ-' || n, '内科', admit,
                   CASE WHEN n %% 33 = 0 AND admit >= %(start)s THEN NULL
                        WHEN n %% 50 = 0 THEN admit ELSE admit + 1 + (n * 7) %% 27 END,
                   round((2000 + random() * 20000)::numeric, 2)
            FROM (SELECT n, (%(ids)s::bigint[])[1 + n %% %(k)s] AS institution_id,
                         %(start)s::date - 20 + ((n::bigint * 7919) %% 385)::int AS admit
                  FROM generate_series(0, %(n)s - 1) AS n) s
            """,
            {"ids": ids, "k": len(ids), "start": start, "n": stays},
        )
        rows = []
        for n, pk in enumerate(ids):
            beds = 40 + (pk * 37) % 160
            rows.append(
                BedCapacity(
                    institution_id=pk,
                    effective_from=start - datetime.timedelta(days=400),
                    open_beds=beds,
                )
            )
            if n % 2:
                rows.append(
                    BedCapacity(
                        institution_id=pk,
                        effective_from=datetime.date(year, 7, 1),
                        open_beds=beds + 10,
                    )
                )
        BedCapacity.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reporting_outpatientvisit")
        cursor.execute("VACUUM ANALYZE reporting_inpatientstay")


def facts_loaded(scale: float) -> bool:
    return OutpatientVisit.objects.filter(record_id__startswith="BV-").count() == round(
        VISITS * scale
    )


# --- the import ------------------------------------------------------------------------------


def write_visits_csv(path: Path, rows: int, scale: float) -> None:
    year = bench_year()
    codes = list(
        Institution.objects.filter(pk__in=fact_institutions(scale)).values_list("code", flat=True)
    )
    first = datetime.date(year, 1, 1)
    days = [(first + datetime.timedelta(days=n)).isoformat() for n in range(365)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "institution_code",
                "record_id",
                "visit_date",
                "visit_type",
                "department",
                "visit_count",
                "total_cost",
            ]
        )
        for n in range(rows):
            writer.writerow(
                [
                    codes[n % len(codes)],
                    f"IMP-{n}",
                    days[(n // len(codes)) % 365],
                    "emergency" if n % 12 == 0 else "outpatient",
                    "全科",
                    1,
                    f"{40 + (n * 7) % 260}.{n % 100:02d}",
                ]
            )


def write_visits_xlsx(path: Path, rows: int, scale: float) -> None:
    """A workbook as a hospital system exports it: date cells, number cells, Chinese types."""
    year = bench_year()
    codes = list(
        Institution.objects.filter(pk__in=fact_institutions(scale)).values_list("code", flat=True)
    )
    first = datetime.date(year, 1, 1)
    days = [first + datetime.timedelta(days=n) for n in range(365)]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("门诊明细")
    sheet.append(["机构编码", "门诊号", "就诊日期", "就诊类型", "科室", "人次", "总费用"])
    for n in range(rows):
        sheet.append(
            [
                codes[n % len(codes)],
                f"IMX-{n}",
                days[(n // len(codes)) % 365],
                "急诊" if n % 12 == 0 else "门诊",
                "全科",
                1,
                40 + (n * 7) % 260 + (n % 100) / 100,
            ]
        )
    workbook.save(path)


def _timed_command(folder: str, *args: str) -> tuple[float, int]:
    """Run `manage.py import_facts ARGS` in its own process: (seconds, its peak RSS in kB)."""
    env = {
        **os.environ,
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    started = time.perf_counter()
    # wait4 gives this child's own peak; RUSAGE_CHILDREN would be the largest of every child
    # the bench has waited for, the data loaders included.
    with open(Path(folder) / "stderr.txt", "w+") as stderr:
        child = subprocess.Popen(  # noqa: S603 - our own command, our own file
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "import_facts", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        errors = stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"import_facts failed: {errors[-2000:]}")
    return seconds, usage.ru_maxrss


def measure_import(scale: float) -> dict[str, float]:
    """Preview, then import, a generated visits CSV with the `import_facts` command in its own
    process, so its peak memory is its own. The recomputation it queues is not part of the
    import figure; the preview (--dry-run) writes nothing."""
    rows = round(IMPORT_ROWS * scale)
    OutpatientVisit.objects.filter(record_id__startswith="IMP-").delete()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visits.csv"
        write_visits_csv(path, rows, scale)
        preview_s, _peak = _timed_command(folder, "visits", str(path), "--dry-run")
        if OutpatientVisit.objects.filter(record_id__startswith="IMP-").exists():
            raise RuntimeError("the preview wrote rows")
        seconds, peak_kb = _timed_command(folder, "visits", str(path))
    imported = OutpatientVisit.objects.filter(record_id__startswith="IMP-").count()
    if imported != rows:
        raise RuntimeError(f"imported {imported} rows of {rows}")
    return {
        "import_rows": rows,
        "import_rows_per_s": round(rows / seconds),
        "import_peak_rss_mb": round(peak_kb / 1024, 1),
        "import_s": round(seconds, 2),
        "import_preview_s": round(preview_s, 2),
    }


def measure_xlsx_import(scale: float) -> dict[str, float]:
    """Import a generated XLSX of visits (XLSX_ROWS at scale 1) in its own process."""
    rows = round(XLSX_ROWS * scale)
    OutpatientVisit.objects.filter(record_id__startswith="IMX-").delete()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "visits.xlsx"
        write_visits_xlsx(path, rows, scale)
        seconds, peak_kb = _timed_command(folder, "visits", str(path))
    imported = OutpatientVisit.objects.filter(record_id__startswith="IMX-").count()
    OutpatientVisit.objects.filter(record_id__startswith="IMX-").delete()
    if imported != rows:
        raise RuntimeError(f"imported {imported} rows of {rows} from the workbook")
    return {
        "import_xlsx_rows": rows,
        "import_xlsx_rows_per_s": round(rows / seconds),
        "import_xlsx_s": round(seconds, 2),
        "import_xlsx_peak_rss_mb": round(peak_kb / 1024, 1),
    }


# --- recomputation against the reference SQL -------------------------------------------------

REFERENCE_SQL = {
    "occupied_bed_days": """
        WITH months AS (
            SELECT m::date AS first, (m + interval '1 month')::date AS after
            FROM generate_series(%(start)s::date, %(last_month)s::date, interval '1 month') AS m)
        SELECT s.institution_id, m.first,
               SUM(GREATEST(LEAST(COALESCE(s.discharge_date, %(cut)s), %(cut)s, m.after)
                            - GREATEST(s.admit_date, m.first), 0)
                   + CASE WHEN s.admit_date = s.discharge_date AND s.admit_date >= m.first
                               AND s.admit_date < m.after THEN 1 ELSE 0 END)
        FROM reporting_inpatientstay s
        JOIN months m ON s.admit_date < m.after AND COALESCE(s.discharge_date, %(cut)s) >= m.first
        GROUP BY 1, 2""",
    "open_bed_days": """
        WITH months AS (
            SELECT m::date AS first, (m + interval '1 month')::date AS after
            FROM generate_series(%(start)s::date, %(last_month)s::date, interval '1 month') AS m),
        spans AS (
            SELECT institution_id, open_beds, effective_from AS since,
                   COALESCE(LEAD(effective_from) OVER (PARTITION BY institution_id
                                                       ORDER BY effective_from), %(cut)s) AS until
            FROM reporting_bedcapacity)
        SELECT c.institution_id, m.first,
               SUM(c.open_beds * GREATEST(LEAST(c.until, m.after, %(cut)s)
                                          - GREATEST(c.since, m.first), 0))
        FROM spans c JOIN months m ON c.since < m.after AND c.until > m.first
        GROUP BY 1, 2""",
    "discharges": """
        SELECT institution_id, date_trunc('month', discharge_date)::date, COUNT(*),
               SUM(GREATEST(discharge_date - admit_date, 1)), SUM(total_cost)
        FROM reporting_inpatientstay
        WHERE discharge_date >= %(start)s AND discharge_date < %(cut)s
        GROUP BY 1, 2""",
    "visits": """
        SELECT institution_id, date_trunc('month', visit_date)::date, SUM(visit_count),
               SUM(total_cost)
        FROM reporting_outpatientvisit
        WHERE visit_date >= %(start)s AND visit_date < %(cut)s
        GROUP BY 1, 2""",
}


def reference(year: int) -> tuple[float, dict]:
    """The fact-based monthly figures by hand-written SQL: (seconds, {(indicator part, institution,
    month start): number})."""
    params = {
        "start": datetime.date(year, 1, 1),
        "last_month": datetime.date(year, 12, 1),
        "cut": datetime.date(year + 1, 1, 1),
    }
    found: dict = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for name, sql in REFERENCE_SQL.items():
            cursor.execute(sql, params)
            for row in cursor.fetchall():
                key = (row[0], row[1])
                if name == "discharges":
                    found[("discharges", *key)] = Decimal(row[2])
                    found[("discharged_bed_days", *key)] = Decimal(row[3])
                    found[("inpatient_cost", *key)] = Decimal(row[4])
                elif name == "visits":
                    found[("visits", *key)] = Decimal(row[2])
                    found[("outpatient_cost", *key)] = Decimal(row[3])
                else:
                    found[(name, *key)] = Decimal(row[2])
    return time.perf_counter() - started, found


# Which stored numerator or denominator each reference figure must equal.
CHECKS = {
    "occupied_bed_days": ("bed_utilization_rate", "numerator"),
    "open_bed_days": ("bed_utilization_rate", "denominator"),
    "discharged_bed_days": ("avg_length_of_stay", "numerator"),
    "discharges": ("avg_length_of_stay", "denominator"),
    "inpatient_cost": ("avg_inpatient_cost", "numerator"),
    "visits": ("avg_outpatient_cost", "denominator"),
    "outpatient_cost": ("avg_outpatient_cost", "numerator"),
}


def compare(year: int, found: dict, institutions: list[int]) -> int:
    """Every reference figure of the given institutions equals the stored one; returns how
    many were compared. Raises on the first difference."""
    stored = {}
    values = IndicatorValue.objects.filter(
        period_kind="month",
        period__startswith=str(year),
        institution__in=institutions,
        indicator__in={indicator for indicator, _part in CHECKS.values()},
    ).values_list("indicator", "institution", "period_start", "numerator", "denominator")
    for indicator, institution, start, numerator, denominator in values:
        stored[(indicator, "numerator", institution, start)] = numerator
        stored[(indicator, "denominator", institution, start)] = denominator
    compared = 0
    wanted = set(institutions)
    for (name, institution, start), number in found.items():
        if institution not in wanted:
            continue
        indicator, part = CHECKS[name]
        if stored.get((indicator, part, institution, start)) != number:
            raise AssertionError(
                f"{name} of institution {institution} in {start:%Y-%m}: reference {number}, "
                f"computed {stored.get((indicator, part, institution, start))}"
            )
        compared += 1
    return compared


def measure_recompute(scale: float) -> dict[str, float]:
    year = bench_year()
    started = time.perf_counter()
    written = recompute(year)
    recompute_s = time.perf_counter() - started
    timings = []
    for _ in range(3):
        seconds, found = reference(year)
        timings.append(seconds)
    compared = compare(year, found, fact_institutions(scale))
    return {
        "recompute_s": round(recompute_s, 2),
        "recompute_values": written,
        "reference_sql_s": round(min(timings), 2),
        "recompute_vs_reference": round(recompute_s / min(timings), 2),
        "reference_figures_checked": compared,
        "facts_visit_rows": OutpatientVisit.objects.count(),
        "facts_stays": InpatientStay.objects.count(),
    }
