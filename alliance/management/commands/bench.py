"""`make bench`: response times and query counts of the alliance pages and API at scale.

Runs inside a transaction that is rolled back: the demo database is left as it was.
"""

import datetime
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client

from alliance.choices import InstitutionKind, Specialty
from alliance.demo import load_demo
from alliance.models import Department, District, Institution, Patient


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Print response-time and query-count figures for the main pages and API endpoints."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--institutions", type=int, default=300)
        parser.add_argument("--patients", type=int, default=20000)
        parser.add_argument("--repeat", type=int, default=20)

    def handle(self, *args, **options) -> None:
        try:
            with transaction.atomic():
                self._run(options)
                raise Rollback
        except Rollback:
            pass

    def _scale(self, institutions: int, patients: int) -> None:
        from stdnum.cn import ric

        district = District.objects.get(code="310115")
        centers = Institution.objects.bulk_create(
            Institution(
                name=f"压测社区卫生服务中心{n}", code=f"BENCH-{n:05d}",
                kind=InstitutionKind.COMMUNITY_CENTER, district=district, population_served=1000,
            )
            for n in range(institutions)
        )  # fmt: skip
        Department.objects.bulk_create(
            Department(institution=c, name=name, specialty=specialty, phone="021-58000000")
            for c in centers
            for name, specialty in [
                ("全科", Specialty.GENERAL_PRACTICE),
                ("内科", Specialty.INTERNAL_MEDICINE),
            ]
        )
        home = Institution.objects.get(short_name="万祥")
        rows = []
        for n in range(patients):
            birth = datetime.date(2000, 1, 1) + datetime.timedelta(days=n // 1000)
            body = f"310115{birth:%Y%m%d}{n % 1000:03d}"
            rows.append(
                Patient(
                    name=f"压测{n}", gender="male" if n % 2 else "female", birth_date=birth,
                    id_number=body + ric.calc_check_digit(body + "0"), home_institution=home,
                )
            )  # fmt: skip
        Patient.objects.bulk_create(rows, ignore_conflicts=True)

    def _measure(self, client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
        client.get(url)  # warm caches and connections
        timings = []
        queries: list[str] = []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        return statistics.median(timings), p95, len(queries), response.status_code

    def _run(self, options: dict) -> None:
        load_demo()
        self._scale(options["institutions"], options["patients"])
        from django.contrib.auth import get_user_model

        users = get_user_model().objects
        lead = Institution.objects.get(short_name="临港院区")
        figures = [
            ("wanxiang", "/"),
            ("office", "/"),
            ("bureau", "/"),
            ("wanxiang", "/alliance/institutions/"),
            ("wanxiang", "/alliance/institutions/?q=心内"),
            (
                "wanxiang",
                f"/alliance/institutions/{lead.pk}/",
            ),
            ("wanxiang", "/api/v1/institutions/"),
            ("wanxiang", "/api/v1/patients/"),
            ("office", "/api/v1/patients/?page_size=200"),
        ]
        self.stdout.write(
            f"{Institution.objects.count()} institutions, {Patient.objects.count()} patients, "
            f"{options['repeat']} requests each, database {connection.vendor}"
        )
        self.stdout.write(
            f"{'user':<10} {'url':<48} {'median ms':>10} {'p95 ms':>8} {'queries':>8}"
        )
        for username, url in figures:
            client = Client(HTTP_HOST="localhost")
            client.force_login(users.get(username=username))
            median, p95, queries, status = self._measure(client, url, options["repeat"])
            flag = "" if status == 200 else f"  (status {status})"
            self.stdout.write(
                f"{username:<10} {url:<48} {median:>10.1f} {p95:>8.1f} {queries:>8}{flag}"
            )
