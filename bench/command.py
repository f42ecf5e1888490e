"""`make bench`: response times and query counts of the main pages and API endpoints at scale,
and the reporting figures (import rate and memory, recomputation against reference SQL).

Runs against its own PostgreSQL database (`make bench` points DATABASE_URL at
BENCH_DATABASE_URL and creates it): the first run loads the demo plus synthetic institutions,
patients, referrals, orders and facts at BENCH_SCALE and lets the database settle (VACUUM
ANALYZE, as autovacuum would); later runs at the same scale reuse them. Figures are medians and
95th percentiles in milliseconds, with the query count of one request; the named ones go to
bench-results.json. Last, a load test on loopback (bench/loadtest.py: gunicorn and locust,
30 users for BENCH_LOAD_SECONDS, 120 by default, 0 to skip) adds the load_* figures.

The synthetic data: bench/seed.py; the timed requests: bench/pages.py; the reporting figures:
bench/figures.py. Every bench module imports the apps' models at module level: bench/__main__.py
imports this command only after django.setup().
"""

import json
import os
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from bench import db as benchdb
from bench import figures as reporting_bench
from bench import pages, seed
from bench.loadtest import LoadTestError, run_load_test


class Command(BaseCommand):
    help = (
        "Load the bench data at BENCH_SCALE (first run only) and print response times, query "
        "counts and the reporting figures, then a load test (BENCH_LOAD_SECONDS, 0 to skip); "
        "write them to bench-results.json."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", 1)))
        parser.add_argument("--repeat", type=int, default=20)
        parser.add_argument("--json", default="bench-results.json", help="where to write figures")

    def handle(self, *args, **options) -> None:
        scale = options["scale"]
        if not 0 < scale <= 10:
            raise CommandError("BENCH_SCALE must be above 0 and at most 10.")
        self.results: pages.Figures = {"scale": scale}
        benchdb.ensure_database(scale, self.stdout)
        call_command("migrate", verbosity=0)
        benchdb.remember_scale(scale)
        seed.load(scale, self.stdout)
        self.results |= pages.measure_pages(self.stdout, options["repeat"])
        self._reporting(scale, options["repeat"])
        self._load_test(int(os.environ.get("BENCH_LOAD_SECONDS") or 120))
        path = Path(options["json"])
        path.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(f"Figures written to {path}:")
        for name, value in self.results.items():
            self.stdout.write(f"  {name:<32} {value}")

    def _reporting(self, scale: float, repeat: int) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("(the reporting figures are measured on PostgreSQL only)")
            return
        if not reporting_bench.facts_loaded(scale):
            self.stdout.write("Loading the reporting facts (first run only) ...")
            reporting_bench.load_facts(scale)
        self.stdout.write("Importing a visits file, recomputing the year ...")
        self.results |= reporting_bench.measure_import(scale)
        self.results |= reporting_bench.measure_xlsx_import(scale)
        self.results |= reporting_bench.measure_recompute(scale)
        self.results |= pages.measure_dashboards(self.stdout, repeat)

    def _load_test(self, seconds: int) -> None:
        if seconds <= 0 or connection.vendor != "postgresql":
            self.stdout.write("(the load test runs on PostgreSQL with BENCH_LOAD_SECONDS > 0)")
            return
        try:
            self.results |= run_load_test(os.environ["DATABASE_URL"], 30, seconds, self.stdout)
        except LoadTestError as exc:
            self.stdout.write(f"The load test did not run: {exc}")
            self.results["load_error"] = str(exc)[:200]
