"""The bounded load test of `make bench`: gunicorn on loopback, locust (bench/locustfile.py)
in a subprocess, and the figures read back from locust's CSV statistics.

The server runs with DEBUG=true like the rest of the bench (no production keys needed). Django
then keeps each request's SQL in memory, but in `connection.queries_log`, a deque bounded at
9000 entries that is emptied when each request starts: a little time per query, no growth.
With no broker configured, Celery runs the notification tasks in the request, after commit
(as `make run` does), so submit and accept include sending their notifications.

Each run leaves its referrals in the bench database (accepted, the last few submitted, which
the next run accepts; their reason is "负载测试 <time>"), like a couple of minutes of real
traffic; the bench's own referrals (those the pages are measured on) are left as they were.

Locust is a dev dependency and runs only in that subprocess: nothing here imports it.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from alliance.demo import DEMO_PASSWORD

BASE_DIR = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
DOCTORS = ["wanxiang", "nicheng", "luchaogang", "shuyuan", "situan"]  # the demo's community staff
TRIAGE = "hospital"
# (method, name in locustfile.py) → the short name of the figures.
ENDPOINTS = {
    ("GET", "/api/v1/referrals/?status=submitted"): "referral_list",
    ("POST", "/api/v1/referrals/{id}/accept/"): "referral_accept",
    ("POST", "/api/v1/referrals/"): "referral_submit",
    ("GET", "/reporting/"): "dashboard",
}


class LoadTestError(RuntimeError):
    """The load test could not run (server or locust did not start): no figures."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _call(base: str, path: str, token: str = "", body: dict | None = None) -> dict:
    request = urllib.request.Request(  # noqa: S310 - our own server on loopback
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/json"}
        | ({"Authorization": f"Token {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def _wait_until_up(base: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LoadTestError(f"gunicorn stopped ({server.returncode}): {_tail(log)}")
        try:
            with urllib.request.urlopen(base + "/healthz/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise LoadTestError(f"gunicorn did not answer /healthz/ in {timeout:.0f} s: {_tail(log)}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _prepare(base: str, password: str) -> dict[str, str]:
    """Tokens (the API's own token endpoint, correct passwords only: axes stays quiet), the
    patients each doctor can see, the lead hospital: the locust users' environment."""
    hospital = _call(base, "/api/v1/auth/token/", body={"username": TRIAGE, "password": password})
    lead = _call(base, "/api/v1/me/", hospital["token"])["institution"]
    doctors = []
    for username in DOCTORS:
        token = _call(
            base, "/api/v1/auth/token/", body={"username": username, "password": password}
        )["token"]
        page = _call(base, "/api/v1/patients/?page_size=200", token)
        patients = [patient["id"] for patient in page["results"]]
        if patients:
            doctors.append({"token": token, "patients": patients})
    if not doctors:
        raise LoadTestError("no community doctor of the demo can see a patient")
    return {
        "LOAD_DOCTORS": json.dumps(doctors),
        "LOAD_HOSPITAL_TOKEN": hospital["token"],
        "LOAD_LEAD_INSTITUTION": str(lead),
        "LOAD_PASSWORD": password,
        "LOAD_MARKER": f"负载测试 {time.strftime('%Y%m%d-%H%M%S')}",
    }


def _number(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def _figures(stats: Path, users: int, seconds: int) -> dict:
    rows = list(csv.DictReader(stats.open(encoding="utf-8")))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    results: dict = {
        "load_users": users,
        "load_seconds": seconds,
        "load_requests": int(total["Request Count"]),
        "load_failures": int(total["Failure Count"]),
        "load_rps": round(_number(total["Requests/s"]), 1),
        "load_p50_ms": _number(total["50%"]),
        "load_p95_ms": _number(total["95%"]),
    }
    by_endpoint = {(row["Type"], row["Name"]): row for row in rows}
    for key, short in ENDPOINTS.items():
        row = by_endpoint.get(key)
        results[f"load_{short}_requests"] = int(row["Request Count"]) if row else 0
        results[f"load_{short}_p50_ms"] = _number(row["50%"]) if row else None
        results[f"load_{short}_p95_ms"] = _number(row["95%"]) if row else None
    return results


def _report_problems(directory: Path, stdout: TextIO) -> int:
    """Print every kind of failed request and every exception in the locust users; returns
    the number of exceptions."""
    failures = directory / "load_failures.csv"
    if failures.exists():
        for row in csv.DictReader(failures.open(encoding="utf-8")):
            stdout.write(
                f"load test FAILED {row['Occurrences']}x {row['Method']} {row['Name']}: "
                f"{row['Error'][:300]}\n"
            )
    exceptions, count = directory / "load_exceptions.csv", 0
    if exceptions.exists():
        for row in csv.DictReader(exceptions.open(encoding="utf-8")):
            count += int(row["Count"])
            stdout.write(
                f"load test ERROR {row['Count']}x in a locust user: {row['Message']}\n"
                f"{row['Traceback'][-600:]}\n"
            )
    return count


def run_load_test(
    database_url: str,
    users: int = 30,
    seconds: int = 120,
    stdout: TextIO = sys.stdout,
    password: str = DEMO_PASSWORD,
) -> dict:
    """Serve the app with gunicorn on a free loopback port, run locust against it headless for
    `seconds` with `users` users (10 started a second), and return flat figures: requests,
    failures, requests a second, p50 and p95 in ms overall and per endpoint. Failed requests
    are counted and printed, not raised; LoadTestError when the test cannot run at all."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    workers = min(4, max(2, os.cpu_count() or 2))
    with tempfile.TemporaryDirectory(prefix="alliance-load-") as tmp:
        directory = Path(tmp)
        server_log = directory / "gunicorn.log"
        server_env = os.environ | {"DEBUG": "true", "DATABASE_URL": database_url}
        with server_log.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - fixed arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "10",
                    "--keep-alive",
                    "10",
                ],
                cwd=BASE_DIR,
                env=server_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_up(base, server, server_log)
            locust_env = os.environ | _prepare(base, password)
            locust_env["LOAD_SUMMARY"] = str(directory / "counters.json")
            stdout.write(
                f"Load test: {users} users for {seconds} s against gunicorn ({workers} workers "
                f"x 4 threads) on {base} ...\n"
            )
            stdout.flush()
            try:
                finished = subprocess.run(  # noqa: S603 - fixed arguments
                    [
                        sys.executable,
                        "-m",
                        "locust",
                        "-f",
                        str(LOCUSTFILE),
                        "--headless",
                        "-u",
                        str(users),
                        "-r",
                        "10",
                        "-t",
                        f"{seconds}s",
                        "--host",
                        base,
                        "--csv",
                        str(directory / "load"),
                        "--only-summary",
                        "--stop-timeout",
                        "10",
                        "--loglevel",
                        "WARNING",
                    ],
                    cwd=BASE_DIR,
                    env=locust_env,
                    capture_output=True,
                    text=True,
                    timeout=seconds + 120,
                )
            except subprocess.TimeoutExpired as exc:
                raise LoadTestError(f"locust did not finish in {seconds + 120} s") from exc
            stats = directory / "load_stats.csv"
            if not stats.exists():
                raise LoadTestError(
                    f"locust wrote no statistics (exit {finished.returncode}): "
                    f"{finished.stderr[-2000:]}"
                )
            results = _figures(stats, users, seconds)
            results["load_exceptions"] = _report_problems(directory, stdout)
            counters = directory / "counters.json"
            if counters.exists():
                done = json.loads(counters.read_text())
                results["load_accepted"] = done.get("accepted", 0)
                results["load_accept_idle"] = done.get("accept_idle", 0)
            if results["load_failures"] or results["load_exceptions"]:
                stdout.write(f"gunicorn's last lines:\n{_tail(server_log)}\n")
            return results
        finally:
            server.terminate()  # graceful: workers finish their requests
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
