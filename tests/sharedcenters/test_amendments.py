"""An issued report is amended, never deleted and rewritten: the report it replaces is kept as a
version with who amended it, when and why, on the order's page, in the API and on the printed
report. The amendment is a step of the order (an event row) and needs a reason."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, transaction
from django.test import Client

from core.errors import ActionNotAllowed
from sharedcenters import services
from sharedcenters.models import LabResult, OrderEvent, ReportVersion
from tests.conftest import require_postgres
from tests.kit.documents import read_pdf

from .conftest import NORMAL_RESULTS

pytestmark = pytest.mark.django_db

CORRECTED = [
    {"analyte": "白细胞", "value": "6.2", "unit": "10^9/L", "reference_range": "3.5-9.5"},
    {
        "analyte": "血钾",
        "value": "5.9",
        "unit": "mmol/L",
        "reference_range": "3.5-5.3",
        "flag": "H",
    },
]
REASON = "血钾结果录入错误，复核后更正"


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


@pytest.fixture
def client_for(api):
    return lambda user: type(api)().as_user(user)


def values(order) -> dict:
    return dict(LabResult.objects.filter(order=order).values_list("analyte", "value"))


def test_amending_keeps_the_replaced_report_with_who_when_and_why(
    lab_order_in, center_staff, django_capture_on_commit_callbacks
):
    order = lab_order_in("acknowledged")
    first_reported_at = order.reported_at

    with django_capture_on_commit_callbacks(execute=False) as queued:
        amended = services.order_amend(
            actor=center_staff, order=order, results=CORRECTED, reason=REASON
        )

    assert values(amended) == {"白细胞": "6.2", "血钾": "5.9"}
    version = ReportVersion.objects.get(order=order)
    assert version.version == 1
    assert [(r["analyte"], r["value"]) for r in version.results] == [
        ("白细胞", "6.2"),
        ("血钾", "4.1"),
    ]
    assert (version.reason, version.superseded_by, version.reported_at) == (
        REASON,
        center_staff,
        first_reported_at,
    )
    # Back to the orderer to read; the first report's time stays for the turnaround.
    assert (amended.status, amended.acknowledged_at) == ("reported", None)
    assert amended.reported_at == first_reported_at
    event = OrderEvent.objects.filter(order=order).latest("pk")
    assert (event.action, event.from_status, event.to_status, event.note, event.actor) == (
        "amend",
        "acknowledged",
        "reported",
        REASON,
        center_staff,
    )
    assert event.data["version"] == 2
    assert len(queued) >= 1  # the orderer is told


def test_a_second_amendment_adds_a_version_and_keeps_the_first(lab_order_in, center_staff):
    order = lab_order_in("reported")
    services.order_amend(actor=center_staff, order=order, results=CORRECTED, reason=REASON)
    again = [{**CORRECTED[1], "value": "5.8"}]
    services.order_amend(actor=center_staff, order=order, results=again, reason="再次复核")

    versions = list(ReportVersion.objects.filter(order=order).order_by("version"))
    assert [(v.version, v.reason) for v in versions] == [(1, REASON), (2, "再次复核")]
    assert [r["value"] for r in versions[1].results] == ["6.2", "5.9"]
    assert values(order) == {"血钾": "5.8"}


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_amendment_without_a_reason_is_refused_and_changes_nothing(
    lab_order_in, center_staff, reason
):
    order = lab_order_in("reported")
    with pytest.raises(ValidationError) as refused:
        services.order_amend(actor=center_staff, order=order, results=CORRECTED, reason=reason)
    assert "reason" in refused.value.message_dict
    assert values(order) == {"白细胞": "6.2", "血钾": "4.1"}
    assert not ReportVersion.objects.exists()


def test_only_the_center_amends_and_only_an_issued_report(
    lab_order_in, center_staff, clinic_doctor
):
    from core.errors import IllegalTransition

    with pytest.raises(ActionNotAllowed):
        services.order_amend(
            actor=clinic_doctor, order=lab_order_in("reported"), results=CORRECTED, reason=REASON
        )
    with pytest.raises(IllegalTransition):
        services.order_amend(
            actor=center_staff,
            order=lab_order_in("in_progress"),
            results=CORRECTED,
            reason=REASON,
        )
    assert not ReportVersion.objects.exists()


# --- the API ---------------------------------------------------------------------------------


def test_the_api_amends_and_lists_the_earlier_versions(
    client_for, center_staff, clinic_doctor, lab_order_in
):
    order = lab_order_in("reported")
    url = f"/api/v1/orders/{order.pk}/"

    response = client_for(center_staff).post(
        f"{url}amend/", {"results": CORRECTED, "reason": REASON}, "json"
    )

    assert response.status_code == 200, response.content
    body = client_for(clinic_doctor).get(url).json()
    assert [r["value"] for r in body["results"]] == ["6.2", "5.9"]
    [version] = body["report_versions"]
    assert (version["version"], version["reason"], version["amended_by"]) == (
        1,
        REASON,
        center_staff.get_full_name() or center_staff.get_username(),
    )
    assert [r["value"] for r in version["results"]] == ["6.2", "4.1"]
    assert "acknowledge" in body["allowed_actions"]


def test_the_api_refuses_an_amendment_without_a_reason_in_chinese(
    client_for, center_staff, lab_order_in
):
    order = lab_order_in("reported")
    response = client_for(center_staff).post(
        f"/api/v1/orders/{order.pk}/amend/",
        {"results": CORRECTED},
        "json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["reason"] == ["请填写更正报告的原因。"]
    assert values(order) == {"白细胞": "6.2", "血钾": "4.1"}


def test_the_orderer_cannot_amend_through_the_api(client_for, clinic_doctor, lab_order_in):
    order = lab_order_in("reported")
    response = client_for(clinic_doctor).post(
        f"/api/v1/orders/{order.pk}/amend/", {"results": CORRECTED, "reason": REASON}, "json"
    )
    assert response.status_code == 403, response.content
    assert not ReportVersion.objects.exists()


# --- the pages and the printed report ---------------------------------------------------------


def amend_form(rows: list[dict], reason: str) -> dict:
    data = {
        "results-TOTAL_FORMS": str(len(rows) + 1),
        "results-INITIAL_FORMS": str(len(rows)),
        "results-MIN_NUM_FORMS": "0",
        "results-MAX_NUM_FORMS": "60",
        "amend-reason": reason,
        "amend-impression": "",
        "amend-critical_note": "",
    }
    for index, row in enumerate(rows):
        for name in ("analyte", "value", "unit", "reference_range", "flag"):
            data[f"results-{index}-{name}"] = row.get(name, "")
    return data


def test_the_detail_page_starts_the_amendment_from_the_current_results(center_staff, lab_order_in):
    order = lab_order_in("reported")
    response = logged_in(center_staff).get(f"/centers/orders/{order.pk}/")
    assert response.status_code == 200
    formset = response.context["results_formset"]
    assert [f.initial.get("value") for f in formset.forms[:2]] == ["6.2", "4.1"]
    assert "更正报告" in response.content.decode()


def test_an_amendment_on_the_page_needs_a_reason_and_is_shown_with_the_old_values(
    center_staff, clinic_doctor, lab_order_in
):
    order = lab_order_in("reported")
    url = f"/centers/orders/{order.pk}/amend/"
    client = logged_in(center_staff)

    refused = client.post(url, amend_form(CORRECTED, ""))
    assert refused.status_code == 200
    assert "请填写更正报告的原因。" in refused.content.decode()
    assert not ReportVersion.objects.exists()

    # The first row emptied on the form is left out of the amended report.
    done = client.post(url, amend_form([{}, CORRECTED[1]], REASON))
    assert done.status_code == 302, done.content.decode()[:2000]
    assert values(order) == {"血钾": "5.9"}

    page = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/").content.decode()
    assert 'id="report-versions"' in page and REASON in page
    assert "<s>4.1</s>" in page and "第 2 版" in page

    printed = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/report/")
    assert 'id="amendments"' in printed.content.decode()
    assert REASON in printed.content.decode()


def test_the_printed_report_says_it_is_amended_and_what_it_replaced(
    center_staff, clinic_doctor, lab_order_in
):
    """Needs the CJK fonts of the documents (fonts-noto-cjk, installed by .ci/run)."""
    order = lab_order_in("reported")
    services.order_amend(actor=center_staff, order=order, results=CORRECTED, reason=REASON)
    url = f"/centers/orders/{order.pk}/report/"
    pages, text = read_pdf(logged_in(clinic_doctor).get(url, {"format": "pdf"}))
    assert pages == 1
    for expected in ("更正报告", REASON, "更正前结果", "血钾4.1", "5.9"):
        assert expected in text, expected


def test_a_report_never_amended_shows_no_versions(clinic_doctor, lab_order_in):
    order = lab_order_in("reported")
    response = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/")
    assert response.context["versions"] == []
    assert 'id="report-versions"' not in response.content.decode()


def test_an_earlier_version_cannot_be_rewritten(lab_order_in, center_staff):
    require_postgres()
    order = lab_order_in("reported")
    services.order_amend(actor=center_staff, order=order, results=NORMAL_RESULTS, reason=REASON)
    kept = ReportVersion.objects.filter(order=order)
    for change in (lambda: kept.update(reason="抹掉"), kept.delete):
        with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
            change()
    assert kept.get().reason == REASON


def test_a_critical_value_brought_by_an_amendment_is_alerted_and_escalated_from_then(
    settings, lab_order_in, center_staff, django_capture_on_commit_callbacks
):
    import datetime

    from django.utils import timezone

    settings.CRITICAL_VALUE_ACK_MINUTES = 10
    now = timezone.now()
    order = services.order_report(
        actor=center_staff,
        order=lab_order_in("in_progress"),
        results=NORMAL_RESULTS,
        at=now - datetime.timedelta(hours=2),
    )
    critical = [{**CORRECTED[1], "value": "6.9", "flag": "critical"}]
    amended_at = now - datetime.timedelta(minutes=5)
    with django_capture_on_commit_callbacks() as queued:
        order = services.order_amend(
            actor=center_staff, order=order, results=critical, reason=REASON, at=amended_at
        )
    assert order.critical and "6.9" in order.critical_note
    assert len(queued) == 1
    assert services.escalate_critical_values(now=now) == {"escalated": 0}
    later = amended_at + datetime.timedelta(minutes=11)
    with django_capture_on_commit_callbacks():
        assert services.escalate_critical_values(now=later) == {"escalated": 1}
