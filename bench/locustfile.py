"""The bounded load test of `make bench` (bench/loadtest.py runs it; never imported by the
application or the test suite: locust is a dev dependency).

Users, on loopback against gunicorn:

* ``DoctorUser``: a community doctor (token) submits a referral to the lead hospital,
  ``POST /api/v1/referrals/`` with ``"submit": true``, for a patient the doctor can see;
* ``TriageUser``: the lead hospital's triage (token) lists ``/api/v1/referrals/?status=submitted``
  and accepts one referral of that list, ``POST /api/v1/referrals/{id}/accept/``;
* ``OfficeDashboardUser`` / ``BureauDashboardUser``: the alliance office and the bureau log in
  (the login form, CSRF and all) and open ``/reporting/``.

Accepting without races: triage only accepts referrals a load test submitted (their reason
starts with 负载测试), so the bench data's own submitted referrals stay as they are; and every
referral is claimed in a set shared by the run's users before its accept is sent (locust runs
them as greenlets of one process, so the check and the claim cannot interleave: run it as one
process, without --processes or workers). No two users
ever accept the same referral: a 409, like any answer but 200, is a real failure. A triage round
that finds nothing to accept only lists; such rounds are counted (``accept_idle``).

Every request must answer the expected status (redirects are not followed) and, for the API, a
body in the expected state; anything else is a failure in locust's statistics.

Configuration comes from the environment (bench/loadtest.py sets it):
LOAD_DOCTORS (JSON list of {"token", "patients"}), LOAD_HOSPITAL_TOKEN, LOAD_LEAD_INSTITUTION,
LOAD_PASSWORD, LOAD_MARKER, LOAD_SUMMARY (where the counters are written at the end).
"""

import itertools
import json
import os
import random
import re
from urllib.parse import urlencode

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.stats import CSV_STATS_INTERVAL_SEC

DOCTORS = json.loads(os.environ.get("LOAD_DOCTORS", "[]"))
HOSPITAL_TOKEN = os.environ.get("LOAD_HOSPITAL_TOKEN", "")
LEAD_INSTITUTION = int(os.environ.get("LOAD_LEAD_INSTITUTION", "0"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
MARKER_PREFIX = "负载测试"  # "load test": the reason of every referral a load test submits
MARKER = os.environ.get("LOAD_MARKER", MARKER_PREFIX)

# Names the statistics group by (reporting/loadtest.py reads them back).
LIST = "/api/v1/referrals/?status=submitted"
ACCEPT = "/api/v1/referrals/{id}/accept/"
SUBMIT = "/api/v1/referrals/"
DASHBOARD = "/reporting/"
LOGIN = "/accounts/login/"

claimed: set[int] = set()  # referrals some triage user has taken (see the docstring)
counters = {"submitted": 0, "accepted": 0, "accept_idle": 0}
_doctor_turn = itertools.count()
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class AllianceUser(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)  # staff reading a page or filling a form between requests

    def _fail_unless(self, response, code: int, check=None) -> dict | None:
        """Mark the request failed unless it answered `code` (and `check(body)` holds);
        None when it failed, else the JSON body checked (an empty dict without a check)."""
        if response.status_code != code:
            if getattr(response, "error", None) is not None:  # no answer: connection error
                response.failure(f"no response: {response.error!r}")
            else:
                where = (response.headers or {}).get("Location") or (response.text or "")[:200]
                response.failure(f"status {response.status_code}: {where!r}")
            return None
        body = {}
        if check is not None:
            try:
                body = response.json()
            except (TypeError, ValueError):
                body = None
            if not isinstance(body, dict):
                response.failure(f"not a JSON object: {(response.text or '')[:200]!r}")
                return None
            problem = check(body)
            if problem:
                response.failure(problem)
                return None
        response.success()
        return body


class DoctorUser(AllianceUser):
    weight = 4

    def on_start(self) -> None:
        doctor = DOCTORS[next(_doctor_turn) % len(DOCTORS)]
        self.headers = {"Authorization": f"Token {doctor['token']}"}
        self.patients = doctor["patients"]

    def _submitted(self, body: dict) -> str | None:
        if body.get("status") != "submitted":
            return f"created in status {body.get('status')!r}, not submitted"
        return None

    @staticmethod
    def _body(patient: int) -> dict:
        return {
            "patient": patient,
            "to_institution": LEAD_INSTITUTION,
            "urgency": "urgent",
            "service": "outpatient",
            "diagnosis_code": "I20.0",
            "diagnosis_text": "不稳定型心绞痛",
            "reason": MARKER,
            "clinical_summary": "胸痛2小时，心电图ST段压低",
            "consent": True,
            "submit": True,
        }

    @task
    def submit(self) -> None:
        with self.client.post(
            "/api/v1/referrals/",
            json=self._body(random.choice(self.patients)),  # noqa: S311 - not cryptographic
            headers=self.headers,
            name=SUBMIT,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            created = self._fail_unless(response, 201, self._submitted)
        if created is not None:
            counters["submitted"] += 1


class TriageUser(AllianceUser):
    weight = 5

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {HOSPITAL_TOKEN}"}

    def _page(self, body: dict) -> str | None:
        return None if isinstance(body.get("results"), list) else "no results list"

    @task
    def triage(self) -> None:
        with self.client.get(
            LIST, headers=self.headers, name=LIST, allow_redirects=False, catch_response=True
        ) as response:
            page = self._fail_unless(response, 200, self._page)
        if page is None:
            return
        ours = [r["id"] for r in page["results"] if r.get("reason", "").startswith(MARKER_PREFIX)]
        candidate = next((pk for pk in ours if pk not in claimed), None)
        if candidate is None:
            counters["accept_idle"] += 1
            return
        claimed.add(candidate)  # no yield between the check and the claim: greenlets
        with self.client.post(
            f"/api/v1/referrals/{candidate}/accept/",
            json={"note": ""},
            headers=self.headers,
            name=ACCEPT,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            accepted = self._fail_unless(response, 200, self._accepted)
        if accepted is not None:
            counters["accepted"] += 1

    def _accepted(self, body: dict) -> str | None:
        if body.get("status") != "accepted":
            return f"answered status {body.get('status')!r}, not accepted"
        return None


class DashboardUser(AllianceUser):
    abstract = True
    username = ""

    def on_start(self) -> None:
        """The login form: its CSRF cookie and token, then the POST a browser sends."""
        with self.client.get(
            LOGIN, name=f"{LOGIN} (form)", allow_redirects=False, catch_response=True
        ) as response:
            if self._fail_unless(response, 200) is None:
                return
            found = CSRF_INPUT.search(response.text)
        if found is None:
            raise RuntimeError("the login page has no csrfmiddlewaretoken")
        with self.client.post(
            LOGIN,
            data=urlencode(
                {
                    "username": self.username,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": found.group(1),
                }
            ),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"{self.host}{LOGIN}",
            },
            name=LOGIN,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            self._fail_unless(response, 302)  # 200 is the form again: the login failed

    @task
    def dashboard(self) -> None:
        with self.client.get(
            DASHBOARD, name=DASHBOARD, allow_redirects=False, catch_response=True
        ) as response:
            self._fail_unless(response, 200)


class OfficeDashboardUser(DashboardUser):
    weight = 1
    username = "office"


class BureauDashboardUser(DashboardUser):
    weight = 1
    username = "bureau"


@events.quitting.add_listener
def _write_counters(environment, **kwargs) -> None:
    # The users have stopped; locust's CSV writer rewrites its files once a second and does not
    # write them again on exit: wait for one more round, so they hold the last second too.
    gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.5)
    path = os.environ.get("LOAD_SUMMARY")
    if path:
        with open(path, "w", encoding="utf-8") as summary:
            json.dump(counters, summary)
