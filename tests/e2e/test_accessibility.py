"""The pages the trust issue (13) added or changed pass axe-core in Chinese, at 1366 and 390 px.

axe-core (npm, installed by `make assets` into node_modules) is injected into each page the way
the journeys load the site: real chromium, the live server, a signed-in user per role. A critical
or serious violation fails the test with its rule and the elements it names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from alliance.demo import DEMO_PASSWORD
from alliance.models import Patient
from sharedcenters import services as center_services
from sharedcenters.choices import CenterKind
from sharedcenters.models import ServiceItem, SharedCenter

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
