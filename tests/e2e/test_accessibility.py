"""Every page of every demo role passes axe-core in Chinese, at 1366 and 390 px.

The walk (issue 15) builds each role's page list from the links its header shows (the main menu
and the account menu) plus one detail page per list (the first row's link) and the buttons of each
page's header (the "new" forms), so a page added to the menu is checked without editing this file.
The trust issue's (13) pages are checked as before.

axe-core (npm, installed by `make assets` into node_modules) is injected into each page the way
the journeys load the site: real chromium, the live server, a signed-in user per role. A critical
or serious violation fails the test with its rule and the elements it names.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from alliance.demo import DEMO_PASSWORD
from alliance.models import Patient
from sharedcenters import services as center_services
from sharedcenters.choices import CenterKind
from sharedcenters.models import ServiceItem, SharedCenter

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1366, 390)
# Each role's pages: the token pages, the import and recompute jobs (re-run), the limits page
# (its change history), the access log, the forms whose patient picker is logged, an order with
# an amended report.
PAGES = {
    "office": [
        "/accounts/tokens/",
        "/alliance/tokens/",
        "/referrals/limits/",
        "/reporting/imports/",
        "/reporting/recompute/",
    ],
    "auditor": ["/alliance/audit/"],
    "nicheng": ["/referrals/new/", "/centers/orders/new/", "/accounts/tokens/"],
    "lab": ["/centers/orders/{amended}/"],
}
ROLES = (
    "nicheng",
    "hospital",
    "lab",
    "imaging",
    "cssd",
    "office",
    "bureau",
    "auditor",
    "nicheng_admin",
)
# Not the site's own markup: Django's admin and the OpenAPI viewer (Swagger UI).
FOREIGN = ("/admin/", "/api/")
# The header's links: main menu, its dropdowns, the account menu (the log-out is a form button).
NAV_LINKS = """() => [...document.querySelectorAll(
  "header #navbar-menu a[href]:not([download]), header .dropdown-menu a.dropdown-item[href]")]
  .map(a => a.getAttribute("href"))"""
# From a visited page: the first link of a table's first row (a detail page) and the page
# header's buttons that are links (a "new" form).
PAGE_LINKS = """() => {
  const first = document.querySelector(
    "main table tbody tr a[href], main .list-group a[href]");
  const buttons = [...document.querySelectorAll(".page-header a.btn[href]:not([download])")];
  return [first, ...buttons].filter(a => a).map(a => a.getAttribute("href"));
}"""
SHOTS = SCREENSHOTS / "a11y"
# The elements wider than the screen that make the page scroll sideways (none when it does not).
OVERFLOW = """() => document.documentElement.scrollWidth <= window.innerWidth ? "" :
  [...document.querySelectorAll("main *")].filter(e => e.getBoundingClientRect().right >
    window.innerWidth + 1 && !e.closest(".table-responsive, .overflow-auto"))
  .slice(0, 3).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join(".")).join(", ")"""
# Rule id, impact, node count, the first three elements (a contrast failure with its colours).
WALK_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter(v => v.impact === "critical" || v.impact === "serious")
  .map(v => `${v.id} (${v.impact}) x${v.nodes.length}: ` +
    v.nodes.slice(0, 3).map(n => n.target.join(" ") + ((d => v.id === "color-contrast" && d ?
      ` [${d.fgColor} on ${d.bgColor} ${d.contrastRatio}:1]` : "")((n.any[0] || {}).data))
    ).join(", "))"""
RUN_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter(v => v.impact === "critical" || v.impact === "serious")
  .map(v => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))"""


@pytest.fixture
def amended_order(demo):
    """A lab order of 泥城 whose report the lab has amended once."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    doctor, lab = users.get(username="nicheng"), users.get(username="lab")
    center = SharedCenter.objects.filter(kind=CenterKind.LAB).first()
    item = ServiceItem.objects.filter(center=center, is_active=True).first()
    patient = Patient.objects.restrict(doctor).first()
    order = center_services.order_create(actor=doctor, center=center, patient=patient, items=[item])
    order = center_services.order_collect(actor=doctor, order=order)
    order = center_services.order_receive(actor=lab, order=order)
    first = [{"analyte": item.name, "value": "4.1"}]
    order = center_services.order_report(actor=lab, order=order, results=first)
    corrected = [{"analyte": item.name, "value": "5.9"}]
    return center_services.order_amend(
        actor=lab, order=order, results=corrected, reason="复核发现录入错误"
    )


def test_the_pages_of_the_trust_issue_have_no_serious_axe_violations(
    browser, live_server, amended_order
):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make assets` installs axe-core from package.json")
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for username, urls in PAGES.items():
        for width in WIDTHS:
            # The site's CSP allows no inline script: the test's own injection bypasses it.
            context = browser.new_context(
                base_url=live_server.url,
                locale="zh-CN",
                bypass_csp=True,
                viewport={"width": width, "height": 900},
            )
            context.add_cookies(
                [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
            )
            page = context.new_page()
            page.goto("/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", DEMO_PASSWORD)
            with page.expect_navigation():
                page.click("form[action$='/accounts/login/'] button[type=submit]")
            for url in urls:
                url = url.format(amended=amended_order.pk)
                response = page.goto(url)
                assert response.status == 200, (username, url, response.status)
                assert page.get_attribute("html", "lang") == "zh-hans"
                page.add_script_tag(content=script)
                violations = page.evaluate(RUN_AXE)
                if violations:
                    found[f"{username} {url} at {width} px"] = violations
            context.close()
    assert not found, "\n".join(f"{where}: {v}" for where, v in found.items())


def _own_page(href: str | None) -> str | None:
    """The path of a same-site page worth checking, or None (anchors, downloads, foreign UIs)."""
    if not href or not href.startswith("/") or href.startswith("//"):
        return None
    path = href.split("#")[0]
    # A file (a CSV template, a PDF) or an export is a download, not a page.
    if not path or path.startswith(FOREIGN) or "export" in path or "." in path.rsplit("/", 1)[-1]:
        return None
    return path


@pytest.fixture
def walk_data(amended_order):
    """Rows on the lists the menu opens: the amended lab order, and the sterilization center's
    packages, cycles and supply requests (the demo's four months of orders are left out)."""
    from django.utils import timezone

    from alliance.models import Institution
    from sharedcenters.demo.sterilization import create_sterilization, create_supply_requests

    center = SharedCenter.objects.get(kind=CenterKind.STERILIZATION)
    lead = Institution.objects.get(short_name="临港院区")
    members = list(
        Institution.objects.filter(short_name__in=["万祥", "泥城", "芦潮港", "书院"]).order_by("pk")
    )
    create_sterilization(center, [lead, *members], timezone.now())
    create_supply_requests(center, members, timezone.now())
    return amended_order


def test_every_page_of_every_role_has_no_serious_axe_violations(browser, live_server, walk_data):
    """One browser, one sign-in per role; both widths are the same session resized."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make assets` installs axe-core from package.json")
    script = AXE.read_text(encoding="utf-8")
    found, checked = [], 0
    # A11Y_ROLES=lab,cssd walks only those roles (while fixing what the walk found).
    roles = os.environ.get("A11Y_ROLES", ",".join(ROLES)).split(",")
    for username in roles:
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            bypass_csp=True,
            viewport={"width": WIDTHS[0], "height": 900},
        )
        context.set_default_timeout(15_000)
        context.add_cookies(
            [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
        )
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("form[action$='/accounts/login/'] button[type=submit]")
        # The menu's pages, then what they lead to (one step, no further).
        queue = ["/"] + [p for p in map(_own_page, page.evaluate(NAV_LINKS)) if p]
        menu = set(queue)
        seen: set[str] = set()
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                response = page.goto(url)
                assert response.status == 200, (username, url, response.status)
                if width == WIDTHS[0] and url in menu:
                    queue += [p for p in map(_own_page, page.evaluate(PAGE_LINKS)) if p]
                # Below 576 px nothing is cut off: wide tables scroll inside their card.
                overflow = page.evaluate(OVERFLOW)
                if overflow:
                    found.append(
                        f"{username} {url} at {width} px: page wider than the screen: {overflow}"
                    )
                # Each role's home and the cockpit at both widths (issue 15), the phone worklists.
                if url in ("/", "/reporting/cockpit/") or (
                    width < 576 and ("worklist" in url or "incoming" in url)
                ):
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    name = f"{username}{url.replace('/', '_')}{width}.png"
                    page.screenshot(path=SHOTS / name, full_page=True)
                page.add_script_tag(content=script)
                checked += 1
                for violation in page.evaluate(WALK_AXE):
                    found.append(f"{username} {url} at {width} px: {violation}")
        context.close()
    print(f"axe walk: {checked} page views")
    assert checked > 100 or len(roles) < len(ROLES), checked
    assert not found, f"{len(found)} serious or critical axe violations:\n" + "\n".join(found)
