"""The alliance's core story clicked through in a real browser, in Chinese and in English.

A community doctor registers a patient and refers him up as an emergency; the lead hospital sees the
alert, accepts, schedules, records arrival, completes and refers him back down; a lab order comes
back with a critical value that the orderer acknowledges; the bureau exports its dashboard.

Assertions use numbers, ids and CSS hooks, and visible text through the language's own gettext, so
they hold in both languages. A screenshot after every step goes to artifacts/screenshots/<lang>/.
"""

from __future__ import annotations

import datetime
import re
import shutil

import openpyxl
import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from alliance.choices import Gender
from alliance.demo import DEMO_PASSWORD, demo_id_number
from alliance.models import Department, Institution, Patient
from referrals.choices import Outcome, Status, Urgency
from referrals.models import Referral
from sharedcenters.choices import CenterKind, OrderStatus, Priority
from sharedcenters.models import ExamOrder, ServiceItem, SharedCenter

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 15_000
BROWSER_LOCALE = {"zh-hans": "zh-CN", "en": "en-US"}
# A birth date no demo resident has, so the journey's patient is new in either language.
BIRTH = {"zh-hans": datetime.date(1946, 3, 15), "en": datetime.date(1946, 3, 16)}


class Journey:
    """One language's run: a browser context per user (each with its own session)."""

    def __init__(self, browser, base_url: str, lang: str):
        self.browser, self.base_url, self.lang = browser, base_url, lang
        self.shots = SCREENSHOTS / lang
        shutil.rmtree(self.shots, ignore_errors=True)
        self.shots.mkdir(parents=True)
        self.count = 0
        self.contexts = []

    def t(self, text) -> str:
        """What the user reads for `text` (a msgid or a lazy label) in this run's language."""
        with translation.override(self.lang):
            return str(gettext(text) if isinstance(text, str) else text)

    def shot(self, page, step: str) -> None:
        self.count += 1
        page.screenshot(path=self.shots / f"{self.count:02d}-{step}.png", full_page=True)

    def context(self, *, language_cookie: bool = True):
        context = self.browser.new_context(
            base_url=self.base_url,
            locale=BROWSER_LOCALE[self.lang],
            accept_downloads=True,
            viewport={"width": 1366, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        if language_cookie:
            context.add_cookies(
                [{"name": "django_language", "value": self.lang, "url": self.base_url}]
            )
        self.contexts.append(context)
        return context

    def login(self, username: str, *, switch_language: bool = False):
        page = self.context(language_cookie=not switch_language).new_page()
        page.goto("/accounts/login/")
        if switch_language:
            # The header's language switcher (site.js submits it on change).
            with page.expect_navigation():
                page.select_option("select[name=language]", self.lang)
        assert page.get_attribute("html", "lang") == self.lang
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("form[action$='/accounts/login/'] button[type=submit]")
        assert "/accounts/login/" not in page.url, f"{username} could not log in"
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def click_action(page, action: str) -> None:
    """Press the button of one action form on a detail page and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(f"form[action$='/{action}/'] button")


def badges(page) -> str:
    return page.inner_text(".page-header .mt-1")


def messages(page) -> str:
    return " ".join(page.locator(".page-body .alert").all_inner_texts())


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_referral_lab_and_dashboard_journey(browser, live_server, demo, lang, tmp_path):
    journey = Journey(browser, live_server.url, lang)
    t = journey.t
    try:
        _journey(journey, t, lang, tmp_path)
    finally:
        journey.close()


def _journey(journey: Journey, t, lang: str, tmp_path) -> None:
    wanxiang = Institution.objects.get(short_name="万祥")
    lead = Institution.objects.get(short_name="临港院区")
    cardiology = Department.objects.get(institution=lead, name="心内科（胸痛中心）")
    name = {"zh-hans": "胸痛测试", "en": "胸痛英测"}[lang]

    # 1. The community doctor signs in (choosing the language in the header) and registers the
    #    patient on the registration page.
    doctor = journey.login("wanxiang", switch_language=True)
    # The header names the signed-in user (written out from 1400 px, a tooltip below that).
    assert doctor.get_attribute("header [data-account]", "title") == "万祥中心 全科医生"
    journey.shot(doctor, "community-signed-in")
    doctor.goto("/alliance/patients/new/")
    doctor.fill("#id_name", name)
    doctor.select_option("#id_gender", Gender.MALE.value)
    doctor.fill("#id_birth_date", BIRTH[lang].isoformat())
    doctor.fill("#id_id_number", demo_id_number("310115", BIRTH[lang], 977, Gender.MALE))
    doctor.fill("#id_phone", "13800007979")
    doctor.select_option("#id_home_institution", str(wanxiang.pk))
    doctor.check("#id_signed")
    doctor.select_option("#id_signing_institution", str(wanxiang.pk))
    doctor.fill("#id_signed_on", timezone.localdate().isoformat())
    journey.shot(doctor, "community-registers-patient")
    with doctor.expect_navigation():
        doctor.click("form.card button[type=submit]")
    registered = re.search(r"/alliance/patients/(\d+)/$", doctor.url)
    assert registered, doctor.url
    patient_id = int(registered.group(1))
    assert Patient.objects.get(pk=patient_id).name == name

    # ... and refers him up as an emergency: find him, pick him, fill in the form.
    doctor.goto("/referrals/new/")
    doctor.fill("#id_find", name)
    with doctor.expect_navigation():
        doctor.press("#id_find", "Enter")
    with doctor.expect_navigation():
        doctor.click(f"a.list-group-item[href*='patient={patient_id}']")
    assert doctor.input_value("#id_patient") == str(patient_id)
    doctor.select_option("#id_to_institution", str(lead.pk))
    doctor.select_option("#id_to_department", str(cardiology.pk))
    doctor.select_option("#id_urgency", Urgency.EMERGENCY.value)
    doctor.select_option("#id_service", "admission")
    doctor.fill("#id_diagnosis_code", "I21.9")
    doctor.fill("#id_diagnosis_text", "急性心肌梗死")
    doctor.fill("#id_reason", "夜间胸痛2小时，心电图ST段抬高，请胸痛中心接诊")
    doctor.fill("#id_clinical_summary", "79岁男性，胸痛伴大汗，已嚼服阿司匹林300mg")
    doctor.check("#id_consent")
    assert doctor.is_checked("#id_submit_now")
    journey.shot(doctor, "referral-form")
    with doctor.expect_navigation():
        doctor.click("form[method=post] .card-footer button[type=submit]")
    number = doctor.inner_text("h1.page-title").strip()
    referral = Referral.objects.get(number=number)
    assert referral.status == Status.SUBMITTED and referral.patient_id == patient_id
    assert t(Urgency.EMERGENCY.label) in badges(doctor)
    assert t(Status.SUBMITTED.label) in badges(doctor)
    assert number in messages(doctor)
    journey.shot(doctor, "referral-submitted")

    # 2. The hospital coordinator sees the alert in the header and the referral at the top of the
    #    incoming worklist, then accepts and schedules it on the detail page.
    hospital = journey.login("hospital")
    assert int(hospital.inner_text("header .badge-notification")) >= 1
    hospital.click("header a[href='/notifications/']")
    hospital.wait_for_load_state()
    assert number in hospital.inner_text(".page-body")
    journey.shot(hospital, "hospital-inbox")
    hospital.click("header a.nav-link[href='/referrals/incoming/']")
    hospital.wait_for_load_state()
    first_row = hospital.locator("table tbody tr").first
    assert first_row.locator("td a.fw-bold").inner_text() == number
    assert t(Urgency.EMERGENCY.label) in first_row.inner_text()
    journey.shot(hospital, "hospital-worklist")
    with hospital.expect_navigation():
        first_row.locator("td a.fw-bold").click()
    hospital.fill("#id_accept-note", "胸痛中心已启动，导管室准备")
    click_action(hospital, "accept")
    assert t(Status.ACCEPTED.label) in badges(hospital)
    appointment = timezone.localtime() + datetime.timedelta(hours=1)
    hospital.fill("#id_schedule-appointment_at", appointment.strftime("%Y-%m-%dT%H:%M"))
    hospital.fill("#id_schedule-place", "急诊胸痛中心绿色通道")
    click_action(hospital, "schedule")
    assert t(Status.SCHEDULED.label) in badges(hospital)
    assert "急诊胸痛中心绿色通道" in hospital.inner_text(".page-body")
    journey.shot(hospital, "referral-scheduled")

    # 3. The patient arrives; the hospital completes the referral and refers him back down.
    click_action(hospital, "arrive")
    assert t(Status.ARRIVED.label) in badges(hospital)
    hospital.select_option("#id_complete-outcome", Outcome.ADMITTED.value)
    hospital.fill("#id_complete-summary", "急诊PCI，前降支植入支架1枚，术后平稳")
    hospital.fill("#id_complete-follow_up_plan", "社区每2周随访，双抗血小板治疗12个月")
    click_action(hospital, "complete")
    assert t(Status.COMPLETED.label) in badges(hospital)
    journey.shot(hospital, "referral-completed")
    click_action(hospital, "refer_back")
    back_number = hospital.inner_text("h1.page-title").strip()
    assert back_number != number
    assert number in hospital.inner_text(".page-body")  # "Returns": the upward referral
    assert t(Status.DRAFT.label) in badges(hospital)
    journey.shot(hospital, "refer-back-draft")
    click_action(hospital, "submit")
    assert t(Status.SUBMITTED.label) in badges(hospital)
    journey.shot(hospital, "refer-back-submitted")
    # The community centre now has the downward referral on its own incoming worklist.
    doctor.goto("/referrals/incoming/")
    assert back_number in doctor.inner_text("table tbody")
    journey.shot(doctor, "community-incoming-downward")

    # 4. A lab order: the doctor orders electrolytes, marks the specimen collected and sends it.
    lab_center = SharedCenter.objects.get(kind=CenterKind.LAB, alliance__lead_institution=lead)
    electrolytes = ServiceItem.objects.get(center=lab_center, code="L004")
    doctor.goto("/centers/orders/new/")
    with doctor.expect_navigation():
        doctor.select_option("#id_pick_center", str(lab_center.pk))  # autosubmits
    doctor.fill("#id_find", name)
    with doctor.expect_navigation():
        doctor.press("#id_find", "Enter")
    with doctor.expect_navigation():
        doctor.click(f"a.list-group-item[href*='patient={patient_id}']")
    doctor.check(f"input[name=items][value='{electrolytes.pk}']")
    doctor.check(f"input[name=priority][value='{Priority.URGENT.value}']")
    doctor.fill("#id_clinical_info", "PCI术后，复查电解质")
    journey.shot(doctor, "lab-order-form")
    with doctor.expect_navigation():
        doctor.click("form[method=post] .card-footer button[type=submit]")
    order_number = doctor.inner_text("h1.page-title").strip()
    order = ExamOrder.objects.get(number=order_number)
    assert order.patient_id == patient_id
    assert t(OrderStatus.ORDERED.label) in badges(doctor)
    click_action(doctor, "collect")
    assert t(OrderStatus.COLLECTED.label) in badges(doctor)
    order_url = doctor.url
    journey.shot(doctor, "lab-order-sent")

    # The lab scans the order number on its worklist, starts the run and reports a critical value.
    lab = journey.login("lab")
    lab.goto("/centers/worklist/")
    lab.fill("#id_number", order_number)
    with lab.expect_navigation():
        lab.press("#id_number", "Enter")
    row = lab.locator("table tbody tr", has=lab.locator(f"a:text-is('{order_number}')"))
    assert t(OrderStatus.RECEIVED.label) in row.inner_text()
    journey.shot(lab, "lab-received")
    with lab.expect_navigation():
        row.locator("form[action$='/start/'] button").click()
    row = lab.locator("table tbody tr", has=lab.locator(f"a:text-is('{order_number}')"))
    assert t(OrderStatus.IN_PROGRESS.label) in row.inner_text()
    with lab.expect_navigation():
        row.locator("a[href$='#report-form']").click()
    lab.fill("#id_results-0-analyte", "血钾")
    lab.fill("#id_results-0-value", "6.8")
    lab.fill("#id_results-0-unit", "mmol/L")
    lab.fill("#id_results-0-reference_range", "3.5-5.3")
    lab.select_option("#id_results-0-flag", "critical")
    lab.fill("#id_results-1-analyte", "血钠")
    lab.fill("#id_results-1-value", "139")
    lab.fill("#id_results-1-unit", "mmol/L")
    lab.fill("#id_report-critical_note", "血钾 6.8 mmol/L，已电话通知万祥中心值班医生")
    journey.shot(lab, "lab-report-form")
    with lab.expect_navigation():
        lab.click("#report-form button[type=submit]")
    assert t(OrderStatus.REPORTED.label) in badges(lab)
    assert lab.locator("tr.table-danger").count() == 1
    journey.shot(lab, "lab-reported-critical")

    # The orderer is alerted (inbox badge), sees the critical value banner and acknowledges it.
    doctor.goto(order_url)
    assert int(doctor.inner_text("header .badge-notification")) >= 1
    banner = doctor.locator(".alert.alert-danger[role=alert]")
    assert t("Critical value") in banner.inner_text()
    assert "6.8" in banner.inner_text()
    journey.shot(doctor, "critical-value-banner")
    click_action(doctor, "acknowledge")
    assert doctor.locator(".alert.alert-warning[role=alert]").count() == 1
    assert t("Critical value (acknowledged)") in badges(doctor)
    order.refresh_from_db()
    assert order.critical_acknowledged_at is not None
    journey.shot(doctor, "critical-value-acknowledged")

    # 5. The bureau opens its dashboard and exports the member institutions' table to Excel.
    bureau = journey.login("bureau")
    bureau.goto("/reporting/")
    table = bureau.locator("table[data-table=comparison]")
    assert table.locator("tbody tr").count() >= 5
    assert "万祥" in table.inner_text()
    journey.shot(bureau, "bureau-dashboard")
    with bureau.expect_download() as download_info:
        bureau.click("a[data-export=comparison-xlsx]")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    assert sheet.max_row >= 5
    assert any("万祥" in str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value)
