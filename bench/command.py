"""`make bench`: response times and query counts of the main pages and API endpoints at scale,
and the reporting figures (import rate and memory, recomputation against reference SQL).

Runs against its own PostgreSQL database (`make bench` points DATABASE_URL at
BENCH_DATABASE_URL and creates it): the first run loads the demo plus synthetic institutions,
patients, referrals, orders and facts at BENCH_SCALE and lets the database settle (VACUUM
ANALYZE, as autovacuum would); later runs at the same scale reuse them. Figures are medians and
95th percentiles in milliseconds, with the query count of one request; the named ones go to
bench-results.json. Last, a load test on loopback (bench/loadtest.py: gunicorn and locust,
30 users for BENCH_LOAD_SECONDS, 120 by default, 0 to skip) adds the load_* figures.
"""

import datetime
import io
import itertools
import json
import os
import statistics
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from stdnum.cn import ric

from alliance.choices import InstitutionKind, Specialty
from alliance.demo import load_demo
from alliance.models import Department, District, Institution, Patient
from alliance.visibility import backfill_visibility
from bench import db as benchdb
from bench import figures as reporting_bench
from sharedcenters.models import ExamOrder

# (user, url) pairs measured with GET.
PAGES = [
    ("wanxiang", "/"),
    ("office", "/"),
    ("bureau", "/"),
    ("wanxiang", "/alliance/institutions/"),
    ("wanxiang", "/alliance/institutions/?q=心内"),
    ("wanxiang", "/api/v1/institutions/"),
    ("wanxiang", "/api/v1/patients/"),
    ("office", "/api/v1/patients/?page_size=200"),
    ("hospital", "/referrals/incoming/"),
    ("hospital", "/api/v1/referrals/"),
    ("hospital", "/api/v1/referrals/?page_size=200"),
    ("hospital", "/api/v1/referrals/?status=submitted&urgency=emergency"),
    ("wanxiang", "/referrals/"),
    ("office", "/api/v1/referrals/"),
    ("lab", "/centers/worklist/"),
    ("lab", "/api/v1/orders/"),
    ("lab", "/api/v1/orders/?status=received"),
    ("wanxiang", "/centers/orders/"),
    ("wanxiang", "/api/v1/orders/"),
    ("cssd", "/api/v1/sterilization/packages/?status=received"),
]
# Named figures for bench-results.json: (user, url) → name.
NAMED = {
    ("hospital", "/api/v1/referrals/"): "referral_list_median_ms",
    ("hospital", "/referrals/incoming/"): "referral_worklist_median_ms",
    ("lab", "/centers/worklist/"): "worklist_median_ms",
    ("lab", "/api/v1/orders/"): "center_orders_api_median_ms",
    ("wanxiang", "/centers/orders/"): "member_orders_median_ms",
}
# The alliance office's and the bureau's dashboards, and an institution's own page.
DASHBOARDS = [("office", "/reporting/"), ("bureau", "/reporting/"), ("wanxiang", "万祥")]


def percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


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
        from referrals.models import Referral

        scale = options["scale"]
        if not 0 < scale <= 10:
            raise CommandError("BENCH_SCALE must be above 0 and at most 10.")
        self.results: dict[str, float | int | str] = {"scale": scale}
        benchdb.ensure_database(scale, self.stdout)
        call_command("migrate", verbosity=0)
        benchdb.remember_scale(scale)
        counts = {
            "institutions": max(10, round(300 * scale)),
            "patients": max(1000, round(20000 * scale)),
            "referrals": round(200000 * scale),
            "orders": round(500000 * scale),
        }
        if not Referral.objects.filter(number__startswith="BN-").exists():
            self.stdout.write("Loading the bench data (first run only) ...")
            with transaction.atomic():
                load_demo()
                with benchdb.bulk_load():
                    self._scale_institutions(counts["institutions"])
                    self._scale_patients(counts["patients"])
                    self._scale_referrals(counts["referrals"])
                # Loaded without the services: their PatientAccess rows written in one go.
                backfill_visibility(Referral.objects.filter(number__startswith="BN-"))
            self._vacuum()
        if not ExamOrder.objects.filter(number__startswith="BO-").exists():
            self.stdout.write("Loading the shared-center bench data (first run only) ...")
            with transaction.atomic():
                call_command("seed_demo", stdout=io.StringIO())
                with benchdb.bulk_load():
                    self._scale_orders(counts["orders"])
            self._vacuum()
        self._run(options)
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
        timings = []
        for username, url in DASHBOARDS:
            if not url.startswith("/"):
                url = f"/reporting/institutions/{Institution.objects.get(short_name=url).pk}/"
            client = Client(HTTP_HOST="localhost")
            client.force_login(get_user_model().objects.get(username=username))
            median, p95, queries, status = self._get(client, url, repeat)
            self._line(username, url, median, p95, queries, status)
            if status != 200:
                raise CommandError(f"{url} answered {status} for {username}")
            timings.append(median)
            self.results["dashboard_queries"] = max(
                self.results.get("dashboard_queries", 0), queries
            )
        self.results["dashboard_median_ms"] = round(max(timings), 1)  # the slowest page

    def _load_test(self, seconds: int) -> None:
        if seconds <= 0 or connection.vendor != "postgresql":
            self.stdout.write("(the load test runs on PostgreSQL with BENCH_LOAD_SECONDS > 0)")
            return
        from bench.loadtest import LoadTestError, run_load_test

        try:
            self.results |= run_load_test(os.environ["DATABASE_URL"], 30, seconds, self.stdout)
        except LoadTestError as exc:
            self.stdout.write(f"The load test did not run: {exc}")
            self.results["load_error"] = str(exc)[:200]

    def _vacuum(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    # --- data -----------------------------------------------------------------------------

    def _scale_institutions(self, count: int) -> None:
        district = District.objects.get(code="310115")
        centers = Institution.objects.bulk_create(
            Institution(
                name=f"压测社区卫生服务中心{n}",
                code=f"BENCH-{n:05d}",
                district=district,
                kind=InstitutionKind.COMMUNITY_CENTER,
                population_served=1000,
            )
            for n in range(count)
        )
        specialties = [("全科", Specialty.GENERAL_PRACTICE), ("内科", Specialty.INTERNAL_MEDICINE)]
        Department.objects.bulk_create(
            Department(institution=c, name=name, specialty=specialty, phone="021-58000000")
            for c in centers
            for name, specialty in specialties
        )

    def _scale_patients(self, count: int) -> None:
        home = Institution.objects.get(short_name="万祥")
        rows = []
        for n in range(count):
            birth = datetime.date(2000, 1, 1) + datetime.timedelta(days=n // 1000)
            body = f"310115{birth:%Y%m%d}{n % 1000:03d}"
            rows.append(
                Patient(
                    name=f"压测{n}",
                    gender="male" if n % 2 else "female",
                    birth_date=birth,
                    id_number=body + ric.calc_check_digit(body + "0"),
                    home_institution=home,
                )
            )
        Patient.objects.bulk_create(rows, ignore_conflicts=True)

    def _scale_referrals(self, count: int) -> None:
        """Referrals from the demo's primary institutions to the lead hospital, in every state."""
        from referrals.choices import Direction, Status, Urgency
        from referrals.models import Referral

        lead = Institution.objects.get(short_name="临港院区")
        departments = list(lead.departments.filter(accepts_referrals=True))
        patients = list(
            Patient.objects.exclude(name__startswith="压测").select_related("home_institution")
        )
        user = get_user_model().objects.get(username="wanxiang")
        # A year's referrals as a lead hospital sees them: most closed, about 8 % still open.
        weights = {
            Status.COMPLETED: 80,
            Status.REJECTED: 5,
            Status.CANCELLED: 4,
            Status.EXPIRED: 2,
            Status.NO_SHOW: 1,
            Status.SUBMITTED: 2,
            Status.ACCEPTED: 2,
            Status.SCHEDULED: 3,
            Status.ARRIVED: 1,
        }
        states = [state for state, weight in weights.items() for _ in range(weight)]
        urgencies, now = list(Urgency), timezone.now()

        closed = {
            Status.COMPLETED,
            Status.REJECTED,
            Status.CANCELLED,
            Status.EXPIRED,
            Status.NO_SHOW,
        }

        def referral(n: int) -> Referral:
            patient = patients[n % len(patients)]
            state = states[n % len(states)]
            submitted = now - datetime.timedelta(minutes=n)
            return Referral(
                number=f"BN-{n:09d}",
                status=state,
                direction=Direction.UP,
                urgency=urgencies[n % 3],
                patient=patient,
                referring_user=user,
                from_institution=patient.home_institution,
                to_institution=lead,
                to_department=departments[n % len(departments)],
                diagnosis_code="I20.0",
                diagnosis_text="不稳定型心绞痛",
                reason="压测",
                consent=True,
                submitted_at=submitted,
                due_at=now + datetime.timedelta(minutes=240 - n % 600),
                closed_at=submitted + datetime.timedelta(days=1) if state in closed else None,
            )

        rows = (referral(n) for n in range(count))
        while batch := list(itertools.islice(rows, 5000)):
            Referral.objects.bulk_create(batch)

    def _scale_orders(self, count: int) -> None:
        """A year and a half of lab orders from every member: about 3 % still open."""
        from sharedcenters.choices import OrderStatus
        from sharedcenters.models import ExamOrderItem, SharedCenter

        lab = SharedCenter.objects.get(kind="lab", name="临检中心")
        items = list(lab.items.order_by("code"))
        patients = list(
            Patient.objects.exclude(name__startswith="压测").select_related("home_institution")
        )
        user = get_user_model().objects.get(username="wanxiang")
        states = (
            [OrderStatus.ACKNOWLEDGED] * 90
            + [OrderStatus.REPORTED] * 7
            + [
                OrderStatus.COLLECTED,
                OrderStatus.RECEIVED,
                OrderStatus.IN_PROGRESS,
            ]
        )
        now = timezone.now()

        def order(n: int) -> ExamOrder:
            patient = patients[n % len(patients)]
            state = states[n % len(states)]
            ordered = now - datetime.timedelta(minutes=n)
            done = state in (OrderStatus.ACKNOWLEDGED, OrderStatus.REPORTED)
            return ExamOrder(
                number=f"BO-{n:09d}",
                center=lab,
                status=state,
                priority="urgent" if n % 9 == 0 else "routine",
                patient=patient,
                ordering_institution=patient.home_institution,
                ordering_user=user,
                target_hours=4,
                ordered_at=ordered,
                collected_at=ordered,
                received_at=ordered + datetime.timedelta(hours=1),
                due_at=ordered + datetime.timedelta(hours=5),
                reported_at=ordered + datetime.timedelta(hours=3) if done else None,
            )

        # Packages waiting at the sterilization center, for the batch-scan figure.
        from sharedcenters.models import InstrumentSet, Package

        instrument_set = InstrumentSet.objects.filter(method="steam").first()
        Package.objects.bulk_create(
            Package(
                barcode=f"BP-{n:06d}",
                instrument_set=instrument_set,
                owner=patients[n % len(patients)].home_institution,
                location=instrument_set.center.institution,
                status="received",
            )
            for n in range(300)
        )
        rows = (order(n) for n in range(count))
        while batch := list(itertools.islice(rows, 5000)):
            created = ExamOrder.objects.bulk_create(batch)
            ExamOrderItem.objects.bulk_create(
                ExamOrderItem(order=o, item=items[o.pk % len(items)], price=1) for o in created
            )

    # --- measuring ------------------------------------------------------------------------

    def _get(self, client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
        client.get(url)  # warm caches and connections
        queries: list[str] = []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        return (*percentiles(timings), len(queries), response.status_code)

    def _post(self, client: Client, url: str, payload: dict, repeat: int) -> tuple:
        timings, status = [], None
        for n in range(repeat + 1):
            start = time.perf_counter()
            status = client.post(url, payload, content_type="application/json").status_code
            if n:  # the first request warms up
                timings.append((time.perf_counter() - start) * 1000)
        return (*percentiles(timings), status)

    def _line(self, user: str, what: str, median: float, p95: float, queries="", status=200):
        flag = "" if status in (200, 201) else f"  (status {status})"
        self.stdout.write(f"{user:<10} {what:<52} {median:>10.1f} {p95:>8.1f} {queries!s:>8}{flag}")

    def _run(self, options: dict) -> None:
        from referrals.models import Referral

        users = get_user_model().objects
        repeat = options["repeat"]
        self.stdout.write(
            f"{Referral.objects.count()} referrals, {Institution.objects.count()} institutions, "
            f"{Patient.objects.count()} patients; {repeat} requests each; {connection.vendor}"
        )
        self.stdout.write(
            f"{'user':<10} {'request':<52} {'median ms':>10} {'p95 ms':>8} {'queries':>8}"
        )
        for username, url in PAGES:
            client = Client(HTTP_HOST="localhost")
            client.force_login(users.get(username=username))
            median, p95, queries, status = self._get(client, url, repeat)
            self._line(username, url, median, p95, queries, status)
            if (username, url) in NAMED:
                self.results[NAMED[(username, url)]] = round(median, 1)
                self.results[NAMED[(username, url)].replace("median_ms", "queries")] = queries

        sender = users.get(username="wanxiang")
        client = Client(HTTP_HOST="localhost")
        client.force_login(sender)
        payload = {
            "patient": Patient.objects.restrict(sender).first().pk,
            "to_institution": Institution.objects.get(short_name="临港院区").pk,
            "urgency": "urgent",
            "service": "outpatient",
            "diagnosis_code": "I20.0",
            "diagnosis_text": "不稳定型心绞痛",
            "reason": "压测",
            "consent": True,
            "submit": True,
        }
        # Notifications go out after commit: measured without them, as the issue asks.
        with transaction.atomic():
            median, p95, status = self._post(client, "/api/v1/referrals/", payload, repeat)
            transaction.set_rollback(True)
        self._line("wanxiang", "POST /api/v1/referrals/ (submit)", median, p95, status=status)
        self.results["referral_submit_median_ms"] = round(median, 1)
        self._centers(repeat)

    def _timed_posts(self, client: Client, url: str, payloads: list[dict]) -> tuple:
        """Each POST in its own transaction, rolled back, so every one does the same work."""
        timings, status = [], None
        for n, payload in enumerate(payloads):
            with transaction.atomic():
                start = time.perf_counter()
                status = client.post(url, payload, content_type="application/json").status_code
                elapsed = (time.perf_counter() - start) * 1000
                transaction.set_rollback(True)
            if n:  # the first request warms up
                timings.append(elapsed)
        return (*percentiles(timings), status)

    def _centers(self, repeat: int) -> None:
        from sharedcenters.models import ImagingSlot, Package

        users = get_user_model().objects
        orderer = users.get(username="wanxiang")
        order = ExamOrder.objects.filter(
            center__kind="imaging", ordering_user=orderer, status="scheduled"
        ).first()
        slots = list(
            ImagingSlot.objects.filter(
                center=order.center, modality=order.slot.modality, starts_at__gt=timezone.now()
            ).order_by("starts_at")[: repeat + 1]
        )
        client = Client(HTTP_HOST="localhost")
        client.force_login(orderer)
        median, p95, status = self._timed_posts(
            client, f"/api/v1/orders/{order.pk}/schedule/", [{"slot": s.pk} for s in slots]
        )
        self._line(
            "wanxiang", "POST /api/v1/orders/{id}/schedule/ (book)", median, p95, status=status
        )
        self.results["slot_booking_median_ms"] = round(median, 1)

        cssd = users.get(username="cssd")
        client = Client(HTTP_HOST="localhost")
        client.force_login(cssd)
        at_center = list(
            Package.objects.filter(status="received").values_list("barcode", flat=True)[:50]
        )
        if len(at_center) < 50:
            self.stdout.write(f"(only {len(at_center)} packages at the center to move)")
        payload = {"barcodes": at_center, "action": "clean"}
        median, p95, status = self._timed_posts(
            client, "/api/v1/sterilization/packages/move/", [payload] * (repeat + 1)
        )
        self._line(
            "cssd", f"POST packages/move/ ({len(at_center)} packages)", median, p95, status=status
        )
        self.results["package_move_50_median_ms"] = round(median, 1)
