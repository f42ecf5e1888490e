"""The timed requests of `make bench`: the main pages and API endpoints (GET), the referral
submission, slot booking and package scan (POST, rolled back), and the reporting dashboards.
Each is printed as a line (median and 95th percentile in ms, the query count of one request);
the functions return the named figures for bench-results.json."""

import statistics
import time

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from alliance.models import Institution, Patient
from referrals.models import Referral
from sharedcenters.models import ExamOrder, ImagingSlot, Package

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
# The cockpit's API, which its page polls every 60 s (the target: under 100 ms median).
COCKPIT = ("bureau", "/api/v1/cockpit/")

Figures = dict[str, float | int | str]


def percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


def logged_in(username: str) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=username))
    return client


def get(client: Client, url: str, repeat: int) -> tuple[float, float, int, int]:
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


def post(client: Client, url: str, payload: dict, repeat: int) -> tuple:
    timings, status = [], None
    for n in range(repeat + 1):
        start = time.perf_counter()
        status = client.post(url, payload, content_type="application/json").status_code
        if n:  # the first request warms up
            timings.append((time.perf_counter() - start) * 1000)
    return (*percentiles(timings), status)


def timed_posts(client: Client, url: str, payloads: list[dict]) -> tuple:
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


def line(stdout, user: str, what: str, median: float, p95: float, queries="", status=200) -> None:
    flag = "" if status in (200, 201) else f"  (status {status})"
    stdout.write(f"{user:<10} {what:<52} {median:>10.1f} {p95:>8.1f} {queries!s:>8}{flag}")


def measure_pages(stdout, repeat: int) -> Figures:
    """The GET pages, then the referral submission and the shared centers' POSTs."""
    results: Figures = {}
    stdout.write(
        f"{Referral.objects.count()} referrals, {Institution.objects.count()} institutions, "
        f"{Patient.objects.count()} patients; {repeat} requests each; {connection.vendor}"
    )
    stdout.write(f"{'user':<10} {'request':<52} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for username, url in PAGES:
        median, p95, queries, status = get(logged_in(username), url, repeat)
        line(stdout, username, url, median, p95, queries, status)
        if (username, url) in NAMED:
            results[NAMED[(username, url)]] = round(median, 1)
            results[NAMED[(username, url)].replace("median_ms", "queries")] = queries

    sender = get_user_model().objects.get(username="wanxiang")
    client = logged_in("wanxiang")
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
        median, p95, status = post(client, "/api/v1/referrals/", payload, repeat)
        transaction.set_rollback(True)
    line(stdout, "wanxiang", "POST /api/v1/referrals/ (submit)", median, p95, status=status)
    results["referral_submit_median_ms"] = round(median, 1)
    return results | measure_centers(stdout, repeat)


def measure_centers(stdout, repeat: int) -> Figures:
    """Booking an imaging slot, and moving 50 packages at the sterilization center."""
    results: Figures = {}
    orderer = get_user_model().objects.get(username="wanxiang")
    order = ExamOrder.objects.filter(
        center__kind="imaging", ordering_user=orderer, status="scheduled"
    ).first()
    slots = list(
        ImagingSlot.objects.filter(
            center=order.center, modality=order.slot.modality, starts_at__gt=timezone.now()
        ).order_by("starts_at")[: repeat + 1]
    )
    median, p95, status = timed_posts(
        logged_in("wanxiang"),
        f"/api/v1/orders/{order.pk}/schedule/",
        [{"slot": s.pk} for s in slots],
    )
    what = "POST /api/v1/orders/{id}/schedule/ (book)"
    line(stdout, "wanxiang", what, median, p95, status=status)
    results["slot_booking_median_ms"] = round(median, 1)

    at_center = list(
        Package.objects.filter(status="received").values_list("barcode", flat=True)[:50]
    )
    if len(at_center) < 50:
        stdout.write(f"(only {len(at_center)} packages at the center to move)")
    payload = {"barcodes": at_center, "action": "clean"}
    median, p95, status = timed_posts(
        logged_in("cssd"), "/api/v1/sterilization/packages/move/", [payload] * (repeat + 1)
    )
    what = f"POST packages/move/ ({len(at_center)} packages)"
    line(stdout, "cssd", what, median, p95, status=status)
    results["package_move_50_median_ms"] = round(median, 1)
    return results


def measure_dashboards(stdout, repeat: int) -> Figures:
    """The reporting dashboards: the most queries of any, and the slowest one's median."""
    timings, most_queries = [], 0
    for username, url in DASHBOARDS:
        if not url.startswith("/"):
            url = f"/reporting/institutions/{Institution.objects.get(short_name=url).pk}/"
        median, p95, queries, status = get(logged_in(username), url, repeat)
        line(stdout, username, url, median, p95, queries, status)
        if status != 200:
            raise CommandError(f"{url} answered {status} for {username}")
        timings.append(median)
        most_queries = max(most_queries, queries)
    username, url = COCKPIT
    cockpit_median, p95, cockpit_queries, status = get(logged_in(username), url, repeat)
    line(stdout, username, url, cockpit_median, p95, cockpit_queries, status)
    if status != 200:
        raise CommandError(f"{url} answered {status} for {username}")
    return {
        "dashboard_queries": most_queries,
        "dashboard_median_ms": round(max(timings), 1),
        "cockpit_median_ms": round(cockpit_median, 1),
        "cockpit_queries": cockpit_queries,
    }
