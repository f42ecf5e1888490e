"""The dashboard as the browser prints it (the print CSS in static/css/site.css): the first page
carries the figures, not only the page title, and every chart is redrawn to the paper's width
within its own box, ending above the next chart's heading."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from alliance.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

# Each chart's drawn size against its box, and the first heading of the grid below the box.
CHART_BOXES = """() => [...document.querySelectorAll('[data-chart]')].map((box) => {
  const drawn = box.firstElementChild.getBoundingClientRect();
  const own = box.getBoundingClientRect();
  const below = [...box.closest('.row').querySelectorAll('h3')]
    .map((h) => h.getBoundingClientRect().top).filter((top) => top > own.top);
  return {chart: box.dataset.chart, drawnWidth: drawn.width, boxWidth: own.width,
          drawnBottom: drawn.bottom, boxBottom: own.bottom,
          nextTop: below.length ? Math.min(...below) : null};
})"""


def test_the_printed_dashboard_starts_with_its_figures_and_no_chart_overruns(
    browser, live_server, demo
):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "office")
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form[action$='/accounts/login/'] button[type=submit]")
    page.goto("/reporting/")
    page.wait_for_selector("[data-chart] svg")
    screen = page.evaluate(CHART_BOXES)

    # The print media without a resize of the window, as when the print dialog opens: the
    # charts must follow the print layout by themselves.
    page.emulate_media(media="print")
    page.wait_for_timeout(300)
    printed = page.evaluate(CHART_BOXES)
    assert printed and len(printed) == len(screen)
    assert len({round(box["boxWidth"]) for box in printed}) == 1
    for box in printed:
        assert box["drawnWidth"] <= box["boxWidth"] + 1, box  # redrawn to the paper's width
        assert box["drawnWidth"] >= box["boxWidth"] - 2, box
        assert box["drawnBottom"] <= box["boxBottom"] + 1, box
        if box["nextTop"] is not None:
            assert box["boxBottom"] <= box["nextTop"], box  # never over the next heading

    pdf = PdfReader(io.BytesIO(page.pdf(format="A4")))
    # NFKC: the text layer of Chromium's PDF writes some characters as Kangxi radicals (⼈ for 人)
    first = unicodedata.normalize("NFKC", pdf.pages[0].extract_text()).replace(" ", "")
    assert "统计看板" in first and "主要指标" in first
    assert "每千人口床位数" in first  # a figure on the first page: it is not blank
    context.close()
