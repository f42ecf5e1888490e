"""The shared-center order pages: the catalog, the order list, a new order, the detail with its
action forms, the printable report, the center's worklist with scan-to-receive and the slot
board. Chinese first; an order the user may not see is a 404; the forms keep what was typed and
show their errors; a refused action is a message, never a change.

The sterilization pages are in test_pages_sterilization.py, the dashboard in test_dashboard.py.
"""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from alliance.choices import Role
from sharedcenters import services
from sharedcenters.models import ExamOrder, ImagingSlot, OrderEvent
from tests.kit.factories import PatientFactory, staff_user

pytestmark = pytest.mark.django_db

MASKED_ID = re.compile(r"\d{6}\*{8}[\dX]{4}")


def logged_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def snapshot(order) -> tuple:
    order.refresh_from_db()
    return (
        order.status,
        order.status_note,
        order.rejection_reason,
        order.slot_id,
        OrderEvent.objects.filter(order=order).count(),
        ExamOrder.objects.count(),
    )


def page_urls(order) -> dict[str, str]:
    return {
        "centers": "/centers/",
        "orders": "/centers/orders/",
        "new": "/centers/orders/new/",
        "detail": f"/centers/orders/{order.pk}/",
        "report": f"/centers/orders/{order.pk}/report/",
        "worklist": "/centers/worklist/",
        "slots": "/centers/slots/",
        "dashboard": "/centers/dashboard/",
    }


def result_rows(*rows: dict, extra: int = 2) -> dict:
    """The lab report's formset as the browser posts it: the rows, then blank ones."""
    data = {
        "results-TOTAL_FORMS": str(len(rows) + extra),
        "results-INITIAL_FORMS": "0",
        "results-MIN_NUM_FORMS": "0",
        "results-MAX_NUM_FORMS": "60",
    }
    for index, row in enumerate(rows):
        for name in ("analyte", "value", "unit", "reference_range", "flag"):
            data[f"results-{index}-{name}"] = row.get(name, "")
    return data


@pytest.fixture
def green_patient(world):
    """A family-doctor-signed resident of the world's centre: the alliance green channel."""
    return PatientFactory(
        name="孙丽",
        home_institution=world["center"],
        signed=True,
        signing_institution=world["center"],
        signed_on=datetime.date(2024, 3, 1),
    )


# --- Who may open which page --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["bureau_viewer", "no_profile_user"])
@pytest.mark.parametrize(
    "page", ["centers", "orders", "new", "detail", "report", "worklist", "slots", "dashboard"]
)
def test_the_bureau_and_accounts_without_a_profile_get_403_everywhere(
    lab_order_in, request, persona, page
):
    order = lab_order_in("reported")

    response = logged_in(request.getfixturevalue(persona)).get(page_urls(order)[page])

    assert response.status_code == 403
    content = response.content.decode()
    assert order.number not in content and "张伟" not in content


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("clinic_doctor", "worklist"),
        ("clinic_doctor", "dashboard"),
        ("hospital_triage", "dashboard"),
        ("center_staff", "new"),
        ("alliance_office", "new"),
        ("alliance_office", "worklist"),
    ],
)
def test_each_role_gets_403_on_the_pages_of_the_other_side(lab_order_in, request, persona, page):
    order = lab_order_in("collected")

    response = logged_in(request.getfixturevalue(persona)).get(page_urls(order)[page])

    assert response.status_code == 403


@pytest.mark.parametrize(
    "page", ["centers", "orders", "new", "detail", "report", "worklist", "slots", "dashboard"]
)
def test_anonymous_visitors_are_sent_to_the_login_page(lab_order_in, page):
    response = Client().get(page_urls(lab_order_in("reported"))[page])

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["alliance_office", "bureau_viewer", "no_profile_user"])
def test_who_does_not_work_orders_may_not_post_an_action(lab_order_in, request, persona):
    order = lab_order_in("collected")
    before = snapshot(order)

    response = logged_in(request.getfixturevalue(persona)).post(
        f"/centers/orders/{order.pk}/receive/", {}
    )

    assert response.status_code == 403
    assert snapshot(order) == before


@pytest.mark.parametrize("page", ["detail", "report"])
def test_another_institution_gets_a_404_for_the_order(outsider_clinic_user, lab_order_in, page):
    order = lab_order_in("reported")

    response = logged_in(outsider_clinic_user).get(page_urls(order)[page])

    assert response.status_code == 404
    content = response.content.decode()
    assert order.number not in content and "张伟" not in content


@pytest.mark.parametrize("action", ["collect", "cancel", "receive", "bogus"])
def test_another_institutions_action_post_is_a_404_and_changes_nothing(
    outsider_clinic_user, lab_order_in, action
):
    order = lab_order_in("ordered")
    before = snapshot(order)

    response = logged_in(outsider_clinic_user).post(
        f"/centers/orders/{order.pk}/{action}/", {f"{action}-reason": "x"}
    )

    assert response.status_code == 404
    assert snapshot(order) == before


def test_another_lab_centers_staff_get_a_404(lab_order_in, imaging_staff):
    order = lab_order_in("collected")

    assert logged_in(imaging_staff).get(f"/centers/orders/{order.pk}/").status_code == 404


def test_the_other_institution_does_not_find_the_order_in_its_list(
    outsider_clinic_user, lab_order_in
):
    order = lab_order_in("reported")
    client = logged_in(outsider_clinic_user)

    assert order.number not in html(client.get("/centers/orders/"))
    assert list(client.get("/centers/orders/", {"q": order.number}).context["object_list"]) == []


@pytest.mark.parametrize("url", ["/centers/orders/999999/", "/centers/orders/999999/report/"])
def test_an_unknown_order_is_a_404(clinic_doctor, centers, url):
    assert logged_in(clinic_doctor).get(url).status_code == 404


# --- Every page renders, in Chinese -------------------------------------------------------------

PAGES_BY_ROLE = {
    "clinic_doctor": ["centers", "orders", "new", "detail", "report", "slots"],
    "hospital_triage": ["centers", "orders", "new", "slots"],
    "center_staff": ["centers", "orders", "detail", "report", "worklist", "slots", "dashboard"],
    "alliance_office": ["centers", "orders", "detail", "report", "slots", "dashboard"],
    "superuser": ["centers", "orders", "new", "detail", "report", "worklist", "slots", "dashboard"],
}


@pytest.mark.parametrize(
    ("persona", "page"), [(p, page) for p, pages in PAGES_BY_ROLE.items() for page in pages]
)
def test_every_page_renders_in_chinese_for_the_roles_that_use_it(
    lab_order_in, slot, request, persona, page
):
    order = lab_order_in("reported", critical=True)

    content = html(logged_in(request.getfixturevalue(persona)).get(page_urls(order)[page]))

    assert 'lang="zh-hans"' in content
    if page != "report":  # the printable report has no navigation
        assert "资源共享中心" in content  # the header's entry, in Chinese
    if page in ("orders", "detail", "report") and persona != "hospital_triage":
        assert order.number in content and "张伟" in content
        assert world_id_hidden(content, order)


def world_id_hidden(content: str, order) -> bool:
    return order.patient.id_number not in content


def test_pages_switch_to_english(clinic_doctor, lab_order_in):
    order = lab_order_in("reported")

    content = html(logged_in(clinic_doctor, "en").get(f"/centers/orders/{order.pk}/"))

    assert 'lang="en"' in content and "Timeline" in content and "Turnaround" in content


def test_the_navigation_shows_each_role_its_own_entries(
    clinic_doctor, center_staff, alliance_office, bureau_viewer, centers
):
    doctor = html(logged_in(clinic_doctor).get("/"))
    staff = html(logged_in(center_staff).get("/"))
    office = html(logged_in(alliance_office).get("/"))

    assert "/centers/orders/new/" in doctor and "/centers/worklist/" not in doctor
    assert "/centers/dashboard/" not in doctor
    assert "/centers/worklist/" in staff and "/centers/dashboard/" in staff
    assert "/centers/orders/new/" not in staff
    assert "/centers/dashboard/" in office and "/centers/worklist/" not in office
    assert "/centers/" not in html(logged_in(bureau_viewer).get("/"))


# --- The catalog --------------------------------------------------------------------------------


def test_the_catalog_lists_each_centers_items_targets_and_prices(clinic_doctor, centers):
    response = logged_in(clinic_doctor).get("/centers/")

    content = html(response)
    for text in (
        "临检中心",
        "影像中心",
        "心电诊断中心",
        "消毒供应中心",
        "血常规",
        "头颅CT平扫",
        "260.00",
        "021-68180000",
    ):
        assert text in content, text
    assert set(response.context["object_list"]) == {
        centers[k] for k in ("lab", "imaging", "ecg", "cssd")
    }


def test_a_member_of_another_alliance_sees_none_of_its_centers(world, centers):
    foreign = staff_user(Role.COMMUNITY_STAFF, world["foreign_center"], username="foreign")

    response = logged_in(foreign).get("/centers/")

    assert list(response.context["object_list"]) == []
    assert "临检中心" not in html(response)


# --- The order list -----------------------------------------------------------------------------


def test_the_list_filters_by_status_priority_center_and_critical(
    clinic_doctor, lab_order_in, make_order
):
    routine = lab_order_in("collected")
    urgent = lab_order_in("ordered", priority="urgent")
    critical = lab_order_in("reported", critical=True)
    imaging = make_order("imaging")
    client = logged_in(clinic_doctor)

    def listed(**params):
        return set(client.get("/centers/orders/", params).context["object_list"])

    assert listed(status="collected") == {routine}
    assert listed(priority="urgent") == {urgent}
    assert listed(critical="open") == {critical}
    assert listed(center=imaging.center_id) == {imaging}
    assert listed() == {routine, urgent, critical, imaging}


def test_the_list_searches_by_number_or_patient_name(clinic_doctor, lab_order_in, world):
    mine = lab_order_in("ordered")
    other = lab_order_in("ordered", patient=world["station_patient"])
    client = logged_in(clinic_doctor)

    assert list(
        client.get("/centers/orders/", {"q": mine.number.lower()}).context["object_list"]
    ) == [mine]
    assert list(client.get("/centers/orders/", {"q": "李"}).context["object_list"]) == [other]


def test_the_list_filters_by_the_day_ordered(clinic_doctor, make_order):
    today = timezone.localdate()
    old = make_order("lab", ordered_at=timezone.now() - datetime.timedelta(days=10))
    new = make_order("lab")
    client = logged_in(clinic_doctor)

    recent = client.get("/centers/orders/", {"ordered_from": today.isoformat()})
    earlier = client.get(
        "/centers/orders/", {"ordered_until": (today - datetime.timedelta(days=9)).isoformat()}
    )

    assert list(recent.context["object_list"]) == [new]
    assert list(earlier.context["object_list"]) == [old]


def test_an_invalid_filter_shows_an_error_not_a_500(clinic_doctor, lab_order_in):
    order = lab_order_in("ordered")

    response = logged_in(clinic_doctor).get(
        "/centers/orders/", {"status": "bogus", "ordered_from": "不是日期", "priority": "urgent"}
    )

    content = html(response)
    form = response.context["filter_form"]
    assert set(form.errors) == {"status", "ordered_from"}
    assert form.errors["ordered_from"][0] in content
    assert list(response.context["object_list"]) == []  # the valid filter still applies
    assert order.priority == "routine"


def test_the_list_shows_turnaround_on_time_and_critical_badges(clinic_doctor, lab_order_in):
    order = lab_order_in("reported", critical=True)

    content = html(logged_in(clinic_doctor).get("/centers/orders/"))

    assert f"{order.tat_hours} 小时" in content  # the unit in the reader's language
    assert "按时" in content  # the on-time badge, in Chinese
    assert "bg-red text-red-fg" in content  # the unacknowledged critical badge


def test_the_orderer_sees_unacknowledged_critical_values_on_top(
    clinic_doctor, outsider_clinic_user, lab_order_in
):
    critical = lab_order_in("reported", critical=True)
    lab_order_in("reported")
    acknowledged = lab_order_in("acknowledged", critical=True)

    mine = logged_in(clinic_doctor).get("/centers/orders/").context["unacknowledged"]
    theirs = logged_in(outsider_clinic_user).get("/centers/orders/").context["unacknowledged"]

    assert mine == [critical] and acknowledged not in mine
    assert theirs == []


# --- A new order --------------------------------------------------------------------------------


def order_form(world, centers, **overrides) -> dict:
    data = {
        "center": centers["lab"].pk,
        "patient": world["patient"].pk,
        "items": [centers["cbc"].pk, centers["potassium"].pk],
        "priority": "urgent",
        "clinical_info": "乏力三天，查电解质",
    } | overrides
    return {k: v for k, v in data.items() if v is not None}


def test_choosing_a_center_shows_its_catalog_and_keeps_the_patient(clinic_doctor, world, centers):
    response = logged_in(clinic_doctor).get(
        "/centers/orders/new/", {"center": centers["lab"].pk, "patient": world["patient"].pk}
    )

    content = html(response)
    form = response.context["form"]
    assert set(form.fields["items"].queryset) == {centers["cbc"], centers["potassium"]}
    assert form.initial["patient"] == str(world["patient"].pk)
    assert f'<input type="hidden" name="patient" value="{world["patient"].pk}">' in content
    assert "血常规" in content and "头颅CT平扫" not in content


def test_the_form_offers_only_visible_patients_and_the_alliances_diagnostic_centers(
    clinic_doctor, world, centers
):
    response = logged_in(clinic_doctor).get("/centers/orders/new/")

    form = response.context["form"]
    assert set(form.fields["patient"].queryset) == {world["patient"], world["station_patient"]}
    assert set(response.context["centers"]) == {centers["lab"], centers["imaging"], centers["ecg"]}


def test_finding_the_patient_by_name_preselects_the_only_match(clinic_doctor, world, centers):
    response = logged_in(clinic_doctor).get("/centers/orders/new/", {"find": "张伟"})

    assert list(response.context["form"].fields["patient"].queryset) == [world["patient"]]
    assert response.context["form"].initial["patient"] == world["patient"].pk
    hidden = logged_in(clinic_doctor).get("/centers/orders/new/", {"find": "王强"})
    assert list(hidden.context["form"].fields["patient"].queryset) == []


def test_the_search_posts_and_keeps_the_chosen_center(clinic_doctor, world, centers):
    client = logged_in(clinic_doctor)
    patient = world["patient"]
    response = client.post(
        "/centers/orders/new/", {"center": centers["lab"].pk, "find": patient.id_number}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields["patient"].queryset) == [patient] and not form.is_bound
    assert form.initial["center"] == str(centers["lab"].pk)
    html = response.content.decode()
    assert f'href="?center={centers["lab"].pk}&amp;patient={patient.pk}"' in html
    assert patient.id_number not in " ".join(re.findall(r'(?:href|action)="[^"]*"', html))


def test_prefill_from_a_referral(clinic_doctor, world, centers):
    from referrals import services as referral_services

    referral, _ = referral_services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["hospital"],
        diagnosis_code="I20.0",
        diagnosis_text="不稳定型心绞痛",
        reason="胸痛",
        consent=True,
        submit=True,
    )
    url = f"/centers/orders/new/?center={centers['imaging'].pk}&patient={world['patient'].pk}"

    response = logged_in(clinic_doctor).get(f"{url}&referral={referral.pk}")

    form = response.context["form"]
    assert list(form.fields["referral"].queryset) == [referral]
    assert form.initial["referral"] == str(referral.pk)
    assert referral.number in html(response)


def test_an_order_without_items_shows_the_error_and_keeps_what_was_typed(
    clinic_doctor, world, centers
):
    response = logged_in(clinic_doctor).post(
        "/centers/orders/new/", order_form(world, centers, items=None)
    )

    content = html(response)
    form = response.context["form"]
    assert form.errors["items"]
    assert form.errors["items"][0] in content
    assert "乏力三天，查电解质" in content
    assert re.search(r'value="urgent"[^>]*checked', content)
    assert re.search(rf'value="{world["patient"].pk}"[^>]*selected', content)
    assert not ExamOrder.objects.exists()


def test_a_required_field_error_is_in_chinese(clinic_doctor, world, centers):
    response = logged_in(clinic_doctor).post(
        "/centers/orders/new/", order_form(world, centers, patient=None)
    )

    assert response.context["form"].errors["patient"] == ["该字段是必填项。"]
    assert not ExamOrder.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"patient": "other_patient"}, "patient"),  # another centre's resident
        ({"patient": "foreign_patient"}, "patient"),
        ({"items": ["ct_head"]}, "items"),  # an item of another center
        ({"center": None}, "center"),
    ],
)
def test_an_invalid_order_shows_the_field_error_and_writes_nothing(
    clinic_doctor, world, centers, overrides, field
):
    values = {
        k: ([centers[i].pk for i in v] if k == "items" else world[v].pk if v in world else v)
        for k, v in overrides.items()
    }

    response = logged_in(clinic_doctor).post(
        "/centers/orders/new/", order_form(world, centers, **values)
    )

    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert "乏力三天" in html(response)
    assert not ExamOrder.objects.exists()


def test_a_service_refusal_lands_on_the_field_it_names(clinic_doctor, world, centers):
    # Only the service knows an imaging order books one modality.
    data = order_form(
        world,
        centers,
        center=centers["imaging"].pk,
        items=[centers["ct_head"].pk, centers["mri_knee"].pk],
    )

    response = logged_in(clinic_doctor).post("/centers/orders/new/", data)

    errors = response.context["form"].errors["items"]
    assert errors and errors[0] in html(response)
    assert not ExamOrder.objects.exists()


def test_a_valid_order_is_placed_and_opens_its_detail(clinic_doctor, world, centers):
    response = logged_in(clinic_doctor).post(
        "/centers/orders/new/", order_form(world, centers), follow=True
    )

    order = ExamOrder.objects.get()
    assert response.redirect_chain == [(f"/centers/orders/{order.pk}/", 302)]
    assert (order.status, order.priority, order.ordering_user) == (
        "ordered",
        "urgent",
        clinic_doctor,
    )
    assert {line.item for line in order.items.all()} == {centers["cbc"], centers["potassium"]}
    [(level, text)] = messages_of(response)
    assert level == "success" and order.number in text


# --- The detail ---------------------------------------------------------------------------------


def test_the_detail_shows_the_masked_identity_the_items_and_the_timeline(
    clinic_doctor, lab_order_in, world
):
    order = lab_order_in("in_progress")

    response = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/")

    content = html(response)
    assert world["patient"].id_number not in content
    assert world["patient"].masked_id_number in content and MASKED_ID.search(content)
    assert "血常规" in content and "血钾" in content
    assert [e.action for e in response.context["events"]] == [
        "create",
        "collect",
        "receive",
        "start",
    ]


def test_each_side_sees_its_own_actions(clinic_doctor, center_staff, lab_order_in):
    order = lab_order_in("collected")

    doctor = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/")
    lab = logged_in(center_staff).get(f"/centers/orders/{order.pk}/")

    assert doctor.context["actions"] == ["cancel"]
    assert lab.context["actions"] == ["receive", "reject"]
    assert f'action="/centers/orders/{order.pk}/receive/"' in html(lab)
    assert f'action="/centers/orders/{order.pk}/receive/"' not in html(doctor)


def test_the_report_shows_flags_and_the_critical_banner(clinic_doctor, lab_order_in):
    order = lab_order_in("reported", critical=True)

    content = html(logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/"))

    assert "alert-danger" in content and "血钾 6.9 mmol/L" in content
    assert re.search(r'<tr class="table-danger fw-bold">\s*<td>血钾</td>', content)
    assert f'action="/centers/orders/{order.pk}/acknowledge/"' in content


def test_the_acknowledged_critical_value_shows_the_minutes_it_took(clinic_doctor, lab_order_in):
    order = lab_order_in("reported", critical=True)
    services.order_acknowledge(
        actor=clinic_doctor, order=order, at=order.reported_at + datetime.timedelta(minutes=7)
    )

    content = html(logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/"))

    assert "alert-warning" in content and "报告发出 7 分钟后" in content


def test_rejecting_without_a_reason_shows_the_error_and_keeps_the_note(center_staff, lab_order_in):
    order = lab_order_in("collected")
    before = snapshot(order)

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/reject/", {"reject-reason": "", "reject-note": "标签模糊不清"}
    )

    content = html(response)
    form = response.context["forms"]["reject"]
    assert form.errors["reason"] and form.errors["reason"][0] in content
    assert "标签模糊不清" in content
    assert response.context["failed_action"] == "reject"
    assert snapshot(order) == before


def test_a_service_error_on_an_action_lands_on_its_field(center_staff, lab_order_in):
    order = lab_order_in("collected")
    before = snapshot(order)

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/reject/", {"reject-reason": "other", "reject-note": " "}
    )

    assert response.context["forms"]["reject"].errors["note"]  # "other" needs a description
    assert snapshot(order) == before


def test_rejecting_with_a_reason(center_staff, lab_order_in):
    order = lab_order_in("received")

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/reject/",
        {"reject-reason": "hemolysis", "reject-note": "重度溶血"},
        follow=True,
    )

    order.refresh_from_db()
    assert (order.status, order.rejection_reason, order.status_note) == (
        "rejected",
        "hemolysis",
        "重度溶血",
    )
    assert response.redirect_chain == [(f"/centers/orders/{order.pk}/", 302)]


def test_cancelling_needs_a_reason_in_chinese(clinic_doctor, lab_order_in):
    order = lab_order_in("ordered")
    before = snapshot(order)

    response = logged_in(clinic_doctor).post(
        f"/centers/orders/{order.pk}/cancel/", {"cancel-reason": ""}
    )

    assert response.context["forms"]["cancel"].errors["reason"] == ["该字段是必填项。"]
    assert snapshot(order) == before
    logged_in(clinic_doctor).post(
        f"/centers/orders/{order.pk}/cancel/", {"cancel-reason": "患者未到"}
    )
    order.refresh_from_db()
    assert (order.status, order.status_note) == ("cancelled", "患者未到")


def test_the_wrong_side_pressing_a_button_gets_a_message_and_nothing_changes(
    center_staff, lab_order_in
):
    order = lab_order_in("ordered")
    before = snapshot(order)

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/collect/", {"collect-note": ""}, follow=True
    )

    assert response.redirect_chain == [(f"/centers/orders/{order.pk}/", 302)]
    [(level, text)] = messages_of(response)
    assert level == "error" and text
    assert snapshot(order) == before


def test_an_action_in_the_wrong_state_gets_a_message(center_staff, lab_order_in):
    order = lab_order_in("reported")
    before = snapshot(order)

    response = logged_in(center_staff).post(f"/centers/orders/{order.pk}/start/", {}, follow=True)

    assert [level for level, _ in messages_of(response)] == ["error"]
    assert snapshot(order) == before


def test_an_unknown_action_is_a_404_and_get_is_not_allowed(center_staff, lab_order_in):
    order = lab_order_in("collected")

    assert logged_in(center_staff).post(f"/centers/orders/{order.pk}/approve/").status_code == 404
    assert logged_in(center_staff).get(f"/centers/orders/{order.pk}/receive/").status_code == 405
    order.refresh_from_db()
    assert order.status == "collected"


def test_a_quick_action_from_the_worklist_returns_to_the_worklist(center_staff, lab_order_in):
    order = lab_order_in("received")

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/start/", {"next": "/centers/worklist/?status=received"}
    )

    assert response["Location"] == "/centers/worklist/?status=received"
    order.refresh_from_db()
    assert order.status == "in_progress"


def test_next_never_leaves_the_site(center_staff, lab_order_in):
    order = lab_order_in("received")

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/start/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"/centers/orders/{order.pk}/"


# --- The lab report form ------------------------------------------------------------------------


def test_an_incomplete_result_row_shows_its_error_and_keeps_every_row(center_staff, lab_order_in):
    order = lab_order_in("in_progress")
    before = snapshot(order)
    data = result_rows(
        {"analyte": "白细胞", "value": "6.2", "unit": "10^9/L"},
        {"analyte": "血红蛋白", "value": ""},
    ) | {"report-impression": "请结合临床"}

    response = logged_in(center_staff).post(f"/centers/orders/{order.pk}/report/", data)

    content = html(response)
    formset = response.context["results_formset"]
    assert formset.forms[1].errors["value"] == ["该字段是必填项。"]
    for typed in ("白细胞", "6.2", "血红蛋白", "请结合临床"):
        assert typed in content, typed
    assert snapshot(order) == before


def test_a_report_without_any_result_is_refused_by_the_service(center_staff, lab_order_in):
    order = lab_order_in("in_progress")
    before = snapshot(order)

    response = logged_in(center_staff).post(
        f"/centers/orders/{order.pk}/report/", result_rows(extra=6)
    )

    form = response.context["forms"]["report"]
    assert form.non_field_errors() and form.non_field_errors()[0] in html(response)
    assert snapshot(order) == before


def test_more_result_rows_on_request(center_staff, lab_order_in):
    order = lab_order_in("in_progress")

    response = logged_in(center_staff).get(f"/centers/orders/{order.pk}/", {"rows": "20"})

    assert len(response.context["results_formset"].forms) == 20


def test_an_imaging_report_needs_the_impression_and_keeps_the_findings(
    make_order, clinic_doctor, imaging_staff, slot
):
    order = make_order("imaging")
    order = services.order_schedule(actor=clinic_doctor, order=order, slot=slot)
    order = services.order_receive(actor=imaging_staff, order=order)
    client = logged_in(imaging_staff)

    refused = client.post(
        f"/centers/orders/{order.pk}/report/", {"report-findings": "左侧基底节区低密度灶"}
    )
    assert refused.context["forms"]["report"].errors["impression"]
    assert "左侧基底节区低密度灶" in html(refused)
    client.post(
        f"/centers/orders/{order.pk}/report/",
        {
            "report-findings": "左侧基底节区低密度灶",
            "report-impression": "腔隙性脑梗死可能",
            "report-critical": "on",
            "report-critical_note": "急性脑梗死不能除外",
        },
    )

    order.refresh_from_db()
    assert (order.status, order.impression, order.critical) == (
        "reported",
        "腔隙性脑梗死可能",
        True,
    )
    assert order.critical_note == "急性脑梗死不能除外"


# --- The whole lab lifecycle, through the pages -------------------------------------------------


def test_the_whole_lab_lifecycle_through_the_pages(
    clinic_doctor, center_staff, world, centers, critical_alerts
):
    doctor, lab = logged_in(clinic_doctor), logged_in(center_staff)

    placed = doctor.post("/centers/orders/new/", order_form(world, centers))
    order = ExamOrder.objects.get()
    assert placed["Location"] == f"/centers/orders/{order.pk}/"
    doctor.post(f"/centers/orders/{order.pk}/collect/", {"collect-note": "已采血，冷链送检"})
    lab.post("/centers/worklist/", {"number": order.number})
    lab.post(f"/centers/orders/{order.pk}/start/", {"start-note": ""})
    reported = lab.post(
        f"/centers/orders/{order.pk}/report/",
        result_rows(
            {
                "analyte": "白细胞",
                "value": "11.2",
                "unit": "10^9/L",
                "reference_range": "3.5-9.5",
                "flag": "H",
            },
            {
                "analyte": "血钾",
                "value": "6.9",
                "unit": "mmol/L",
                "reference_range": "3.5-5.3",
                "flag": "critical",
            },
        ),
        follow=True,
    )
    order.refresh_from_db()
    assert (order.status, order.critical, order.results.count()) == ("reported", True, 2)
    assert {level for level, _ in messages_of(reported)} == {"success"}
    assert doctor.get("/centers/orders/").context["unacknowledged"] == [order]

    doctor.post(f"/centers/orders/{order.pk}/acknowledge/", {"acknowledge-note": "已电话通知患者"})

    order.refresh_from_db()
    assert order.status == "acknowledged" and order.critical_acknowledged_by == clinic_doctor
    assert list(order.events.values_list("action", flat=True)) == [
        "create",
        "collect",
        "receive",
        "start",
        "report",
        "acknowledge",
    ]
    assert doctor.get("/centers/orders/").context["unacknowledged"] == []
    printed = html(doctor.get(f"/centers/orders/{order.pk}/report/"))
    for text in (order.number, "临港医联体", "临检中心", "张伟", "11.2", "↑", "6.9", "lab_staff"):
        assert text in printed, text
    assert world["patient"].id_number not in printed
    assert world["patient"].masked_id_number in printed


def test_the_printable_report_waits_for_the_report(clinic_doctor, lab_order_in):
    order = lab_order_in("in_progress")

    response = logged_in(clinic_doctor).get(f"/centers/orders/{order.pk}/report/", follow=True)

    assert response.redirect_chain == [(f"/centers/orders/{order.pk}/", 302)]
    assert [level for level, _ in messages_of(response)] == ["info"]


# --- Imaging appointments -----------------------------------------------------------------------


@pytest.fixture
def small_slot(centers):
    """Tomorrow 10:00, three places, one of them reserved for the green channel."""
    start = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0)
    start += datetime.timedelta(days=1)
    return ImagingSlot.objects.create(
        center=centers["imaging"],
        modality="ct",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        capacity=3,
        priority_reserved=1,
    )


def book(make_order, clinic_doctor, slot, n: int, **extra) -> None:
    for _ in range(n):
        order = make_order("imaging", **extra)
        services.order_schedule(actor=clinic_doctor, order=order, slot=slot)


def test_the_schedule_form_offers_reserved_places_only_to_the_green_channel(
    clinic_doctor, make_order, small_slot, green_patient
):
    book(make_order, clinic_doctor, small_slot, 2)  # the two ordinary places
    ordinary = make_order("imaging")
    green = make_order("imaging", patient=green_patient)
    client = logged_in(clinic_doctor)

    ordinary_form = client.get(f"/centers/orders/{ordinary.pk}/").context["forms"]["schedule"]
    green_page = client.get(f"/centers/orders/{green.pk}/")

    assert list(ordinary_form.fields["slot"].queryset) == []
    assert list(green_page.context["forms"]["schedule"].fields["slot"].queryset) == [small_slot]
    assert "剩余 1 个" in html(green_page)  # the reserved place, shown as free to this patient


def test_booking_a_slot_from_the_detail_page(clinic_doctor, make_order, small_slot):
    order = make_order("imaging")

    response = logged_in(clinic_doctor).post(
        f"/centers/orders/{order.pk}/schedule/", {"schedule-slot": small_slot.pk}, follow=True
    )

    order.refresh_from_db()
    assert (order.status, order.slot) == ("scheduled", small_slot)
    assert [level for level, _ in messages_of(response)] == ["success"]


def test_a_slot_that_filled_up_meanwhile_is_a_field_error(clinic_doctor, make_order, small_slot):
    order = make_order("imaging")
    book(make_order, clinic_doctor, small_slot, 2)
    before = snapshot(order)

    response = logged_in(clinic_doctor).post(
        f"/centers/orders/{order.pk}/schedule/", {"schedule-slot": small_slot.pk}
    )

    assert response.context["forms"]["schedule"].errors["slot"]
    assert snapshot(order) == before


def test_the_slot_board_shows_free_ordinary_and_reserved_places(
    clinic_doctor, make_order, small_slot, green_patient, centers
):
    book(make_order, clinic_doctor, small_slot, 1)
    book(make_order, clinic_doctor, small_slot, 1, patient=green_patient)

    response = logged_in(clinic_doctor).get(
        "/centers/slots/",
        {"center": centers["imaging"].pk, "day": f"{small_slot.starts_at:%Y-%m-%d}"},
    )

    [(slot, free_ordinary, free_reserved)] = response.context["rows"]
    assert (slot.booked, slot.booked_priority) == (2, 1)
    assert (free_ordinary, free_reserved) == (1, 0)  # the green patient took the reserved place
    assert "10:00–10:30" in html(response)


def test_the_slot_board_defaults_to_tomorrow_at_the_imaging_center(clinic_doctor, small_slot):
    response = logged_in(clinic_doctor).get("/centers/slots/")

    assert response.context["day"] == timezone.localdate() + datetime.timedelta(days=1)
    assert response.context["center"] == small_slot.center
    assert [row[0] for row in response.context["rows"]] == [small_slot]


def test_a_bad_slot_board_date_falls_back_to_tomorrow(clinic_doctor, centers):
    response = logged_in(clinic_doctor).get("/centers/slots/", {"day": "明天"})

    assert response.context["form"].errors["day"]
    assert response.context["day"] == timezone.localdate() + datetime.timedelta(days=1)


# --- The worklist and scan-to-receive -----------------------------------------------------------


def test_the_worklist_lists_open_orders_of_the_users_centers_urgent_first(
    center_staff, lab_order_in, make_order
):
    routine = lab_order_in("collected")
    urgent = lab_order_in("collected", priority="urgent")
    received = lab_order_in("received")
    lab_order_in("reported")
    lab_order_in("cancelled")
    make_order("imaging")  # another center's

    response = logged_in(center_staff).get("/centers/worklist/")

    assert list(response.context["object_list"]) == [urgent, routine, received]
    tabs = {status: n for status, _label, n in response.context["tabs"]}
    assert (tabs["collected"], tabs["received"], tabs["ordered"]) == (2, 1, 0)
    content = html(response)
    assert content.index(urgent.number) < content.index(routine.number)
    collected = logged_in(center_staff).get("/centers/worklist/", {"status": "collected"})
    assert list(collected.context["object_list"]) == [urgent, routine]


def test_the_worklist_shows_the_time_left_to_the_due_time(center_staff, lab_order_in):
    late = lab_order_in("received")
    ExamOrder.objects.filter(pk=late.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    lab_order_in("received")

    content = html(logged_in(center_staff).get("/centers/worklist/"))

    assert "text-danger fw-bold" in content  # the overdue one


def test_scanning_order_numbers_receives_them_one_after_another(center_staff, lab_order_in):
    first, second = lab_order_in("collected"), lab_order_in("collected")
    client = logged_in(center_staff)

    for order in (first, second):
        response = client.post(
            "/centers/worklist/?status=collected",
            {"number": f" {order.number.lower()} "},
            follow=True,
        )
        assert response.redirect_chain == [("/centers/worklist/?status=collected", 302)]
        [(level, text)] = messages_of(response)
        assert level == "success" and order.number in text and "张伟" in text
        order.refresh_from_db()
        assert order.status == "received" and order.received_at and order.due_at
    assert "autofocus" in html(response)
    assert list(response.context["object_list"]) == []


@pytest.mark.parametrize("number", ["", "JY-19990101-0001"])
def test_scanning_an_unknown_number_is_an_error_message(center_staff, lab_order_in, number):
    order = lab_order_in("collected")
    before = snapshot(order)

    response = logged_in(center_staff).post("/centers/worklist/", {"number": number}, follow=True)

    [(level, text)] = messages_of(response)
    assert level == "error" and text
    assert snapshot(order) == before


def test_scanning_an_order_twice_says_it_is_already_received(center_staff, lab_order_in):
    order = lab_order_in("received")
    before = snapshot(order)

    response = logged_in(center_staff).post(
        "/centers/worklist/", {"number": order.number}, follow=True
    )

    [(level, text)] = messages_of(response)
    assert level == "error" and order.number in text
    assert snapshot(order) == before


def test_another_centers_order_cannot_be_scanned_in(imaging_staff, lab_order_in):
    order = lab_order_in("collected")
    before = snapshot(order)

    response = logged_in(imaging_staff).post(
        "/centers/worklist/", {"number": order.number}, follow=True
    )

    assert [level for level, _ in messages_of(response)] == ["error"]
    assert snapshot(order) == before


# --- Query counts -------------------------------------------------------------------------------


def more_orders(lab_order_in, make_order, n: int) -> None:
    for i in range(n):
        if i % 4 == 3:
            make_order("imaging")
        else:
            lab_order_in(["collected", "received", "reported"][i % 3], critical=i % 5 == 2)


@pytest.mark.parametrize(
    ("url", "persona", "limit"),
    [
        # session, user, profile; the user's institutions and alliances, once for the row
        # count, the rows and the unacknowledged critical values; the count, the rows, their
        # items, the critical values; the filter's centers (and the centers the user staffs);
        # unread count, the header's institution
        ("/centers/orders/", "clinic_doctor", 14),
        # the office's alliances instead of institutions; Django's own permission tables,
        # read once when the office is refused "add an order" (the rules said no)
        ("/centers/orders/", "alliance_office", 15),
        # session, user, profile; the user's alliances and centers (the tabs, the rows, the
        # state counts); the state counts, the count, the rows, their items; permission
        # tables; unread count, the header's institution
        ("/centers/worklist/", "center_staff", 16),
    ],
)
def test_lists_make_the_same_number_of_queries_for_3_and_for_20_orders(
    lab_order_in, make_order, request, django_assert_max_num_queries, url, persona, limit
):
    client = logged_in(request.getfixturevalue(persona))
    more_orders(lab_order_in, make_order, 3)
    with django_assert_max_num_queries(limit) as few:
        first = client.get(url)
    more_orders(lab_order_in, make_order, 17)
    with django_assert_max_num_queries(limit) as more:
        second = client.get(url)

    assert len(first.context["object_list"]) >= 1
    assert len(second.context["object_list"]) > len(first.context["object_list"])
    assert len(more) == len(few)
