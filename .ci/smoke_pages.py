"""Sign in as each demo account on a running `make run` (SQLite) and fetch the pages its work
starts from: each must answer 200. The suite runs on PostgreSQL; this catches a page that only
SQLite refuses (a query feature it lacks). Usage: python3 .ci/smoke_pages.py http://127.0.0.1:PORT"""

import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request

PAGES = {
    "nicheng": [
        "/",
        "/alliance/patients/",
        "/referrals/",
        "/referrals/follow-ups/",
        "/centers/orders/",
        "/centers/orders/?critical=maybe&ordered_from=2026-13-01",
        "/centers/sterilization/requests/",
        "/alliance/institutions/",
    ],
    "hospital": ["/", "/referrals/incoming/", "/referrals/", "/centers/orders/"],
    "lab": ["/", "/centers/worklist/", "/centers/orders/", "/centers/dashboard/"],
    "imaging": ["/centers/worklist/", "/centers/slots/"],
    "cssd": [
        "/centers/sterilization/?expiring=1",
        "/centers/sterilization/cycles/",
        "/centers/sterilization/requests/",
    ],
    "office": ["/", "/reporting/", "/referrals/", "/centers/orders/"],
    "bureau": ["/", "/reporting/"],
    "auditor": ["/alliance/audit/"],
}


def fetch_all(base: str) -> list[str]:
    failures = []
    for user, paths in PAGES.items():
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = opener.open(base + "/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": user, "password": "alliance-demo"}
        ).encode()
        request = urllib.request.Request(  # noqa: S310  (http to the local server only)
            base + "/accounts/login/", data=body, headers={"Referer": base + "/accounts/login/"}
        )
        landed = opener.open(request).geturl()
        if "/accounts/login/" in landed:
            failures.append(f"{user}: could not sign in")
            continue
        for path in paths:
            try:
                status = opener.open(base + path).status
            except urllib.error.HTTPError as error:
                status = error.code
            if status != 200:
                failures.append(f"{user} {path}: {status}")
    return failures


if __name__ == "__main__":
    problems = fetch_all(sys.argv[1].rstrip("/"))
    print("\n".join(problems) or f"{sum(map(len, PAGES.values()))} pages answered 200")
    sys.exit(1 if problems else 0)
