"""Supply requests on the pages and in the API: who may open, create, cancel and dispatch, the
JSON bodies of every refusal, and fixed query counts. Visible text is checked through things no
translation changes (numbers, barcodes, URLs)."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from alliance.choices import Role
from sharedcenters import services
from sharedcenters.choices import PackageStatus, SupplyRequestStatus
from sharedcenters.models import Package, PackageEvent, SupplyRequest
from tests.kit.factories import staff_user
from tests.sharedcenters.test_api import assert_field_error, assert_json_error

pytestmark = pytest.mark.django_db

S = SupplyRequestStatus
API = "/api/v1/sterilization/requests/"
MOVE = "/api/v1/sterilization/packages/move/"
PAGES = "/centers/sterilization/requests/"
NEW = f"{PAGES}new/"
REQUEST_NAMES = {
    "id",
    "number",
    "status",
    "center",
    "requesting_institution",
    "department",
    "requested_by",
    "created_at",
    "needed_by",
    "note",
    "requested",
    "dispatched",
    "lines",
    "fulfilled_at",
    "cancelled_at",
    "cancelled_by",
}
LINE_NAMES = {"instrument_set", "instrument_set_name", "quantity", "dispatched", "remaining"}


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [m.level_tag for m in response.context["messages"]]


def status_of(supply_request) -> str:
    return SupplyRequest.objects.get(pk=supply_request.pk).status


def statuses(packages) -> list[str]:
    return [Package.objects.get(pk=p.pk).status for p in packages]


def dispatch(actor, packages, supply_request):
    return services.packages_move(
        actor=actor,
        barcodes=[p.barcode for p in packages],
        action="dispatch",
        supply_request=supply_request,
    )


@pytest.fixture
def client_for(api):
    return lambda user: type(api)().as_user(user)


@pytest.fixture
def supply_request(make_supply_request):
    """Two of the debridement set, from the world's centre."""
    return make_supply_request()


# --- The pages: who may open which --------------------------------------------------------------


def page_urls(supply_request) -> dict[str, str]:
    return {"list": PAGES, "new": NEW, "detail": f"{PAGES}{supply_request.pk}/"}


MATRIX = {
    # persona: list, new, detail (of the world's centre's request)
    "clinic_doctor": (200, 200, 200),
    "outsider_clinic_user": (200, 200, 404),
    "hospital_triage": (200, 200, 404),
    "cssd_staff": (200, 403, 200),
    "center_staff": (200, 403, 404),
    "alliance_office": (200, 403, 200),
    "bureau_viewer": (403, 403, 403),
    "no_profile_user": (403, 403, 403),
    "superuser": (200, 403, 200),
}


@pytest.mark.parametrize(
    ("persona", "page", "code"),
    [
        (p, page, codes[i])
        for p, codes in MATRIX.items()
        for i, page in enumerate(("list", "new", "detail"))
    ],
)
def test_every_page_answers_each_persona_as_its_role_allows(
    supply_request, cssd_staff, request, persona, page, code
):
    response = logged_in(request.getfixturevalue(persona)).get(page_urls(supply_request)[page])

    assert response.status_code == code
    if code == 200 and page != "new":
        content = response.content.decode()
        shown = supply_request.number in content
        assert shown == (persona in ("clinic_doctor", "cssd_staff", "alliance_office", "superuser"))


@pytest.mark.parametrize("page", ["list", "new", "detail"])
def test_anonymous_visitors_are_sent_to_the_login_page(supply_request, page):
    response = Client().get(page_urls(supply_request)[page])
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_navigation_links_the_requests_for_the_roles_that_read_them(clinic_doctor):
    content = html(logged_in(clinic_doctor).get("/centers/sterilization/"))
    assert f'href="{PAGES}"' in content


# --- The list -----------------------------------------------------------------------------------


def test_a_member_sees_its_requests_newest_first_with_what_was_sent(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor, instrument_set
):
    older = make_supply_request([(instrument_set, 3)])
    newer = make_supply_request()
    dispatch(cssd_staff, stored_packages(1), older)

    content = html(logged_in(clinic_doctor).get(PAGES))

    assert content.index(newer.number) < content.index(older.number)
    assert "1/3" in content  # the older request's line and total


def test_the_center_sees_the_open_requests_first_soonest_needed_on_top(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor, outsider_clinic_user
):
    in_a_week = timezone.localdate() + datetime.timedelta(days=7)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    done = make_supply_request()
    dispatch(cssd_staff, stored_packages(2), done)
    later = make_supply_request(needed_by=in_a_week)
    soon = make_supply_request(actor=outsider_clinic_user, needed_by=tomorrow)
    whenever = make_supply_request()

    response = logged_in(cssd_staff).get(PAGES)

    numbers = [r.number for r in response.context["object_list"]]
    assert numbers == [soon.number, later.number, whenever.number, done.number]
    assert status_of(done) == S.FULFILLED


def test_the_pick_list_shows_what_of_the_requesters_own_is_on_the_shelf(
    make_supply_request, stored_packages, cssd_staff, world
):
    supply_request = make_supply_request()
    stored_packages(1)
    stored_packages(3, owner=world["other_center"], prefix="OTH")  # not the requester's

    response = logged_in(cssd_staff).get(PAGES)

    [line] = response.context["object_list"][0].lines.all()
    assert (line.remaining, line.on_shelf) == (2, 1)
    assert supply_request.number in html(response)


def test_the_status_tabs_filter_the_list(make_supply_request, clinic_doctor):
    kept = make_supply_request()
    gone = make_supply_request()
    services.supply_request_cancel(actor=clinic_doctor, request=gone)

    response = logged_in(clinic_doctor).get(PAGES, {"status": "cancelled"})

    assert [r.pk for r in response.context["object_list"]] == [gone.pk]
    assert kept.number not in html(response)


def test_only_members_are_offered_a_new_request(clinic_doctor, cssd_staff, alliance_office):
    assert f'href="{NEW}"' in html(logged_in(clinic_doctor).get(PAGES))
    for user in (cssd_staff, alliance_office):
        assert f'href="{NEW}"' not in html(logged_in(user).get(PAGES))


@pytest.mark.parametrize(
    ("persona", "limit"),
    [
        # session, user, profile; the user's centers twice (does the user serve requests, which
        # requests are the center's) and whether one is a sterilization center; the state
        # counts, count, rows, the lines with their dispatched counts, the requesters' shelf;
        # unread count, the header's institution, the permission tables
        ("cssd_staff", 15),
        # the member's institutions (or the office's alliances) instead, and no shelf
        ("clinic_doctor", 10),
        ("alliance_office", 10),
    ],
)
def test_the_list_makes_the_same_number_of_queries_for_2_and_for_12_requests(
    make_supply_request,
    stored_packages,
    cssd_staff,
    outsider_clinic_user,
    dressing_set,
    instrument_set,
    request,
    django_assert_max_num_queries,
    persona,
    limit,
):
    client = logged_in(request.getfixturevalue(persona))
    for _ in range(2):
        make_supply_request()
    with django_assert_max_num_queries(limit) as few:
        first = client.get(PAGES)
    packages = stored_packages(5)
    for n in range(10):
        actor = outsider_clinic_user if n % 2 else None
        made = make_supply_request([(instrument_set, 2), (dressing_set, 3)], actor=actor)
        if actor is None:  # the world's centre's own packages serve its requests
            dispatch(cssd_staff, [packages[n // 2]], made)
    with django_assert_max_num_queries(limit) as more:
        second = client.get(PAGES)

    assert len(more) == len(few)
    assert len(first.context["object_list"]) == 2
    assert len(second.context["object_list"]) in (7, 12)  # the member sees its own


# --- A new request ------------------------------------------------------------------------------


def request_form(center, *rows, **extra) -> dict:
    data = {
        "center": center.pk,
        "needed_by": "",
        "note": "",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "20",
    }
    for n in range(5):
        kit, quantity = rows[n] if n < len(rows) else ("", "")
        data[f"lines-{n}-instrument_set"] = getattr(kit, "pk", kit)
        data[f"lines-{n}-quantity"] = quantity
    return data | extra


def test_a_member_submits_a_request_and_lands_on_it(
    clinic_doctor, centers, instrument_set, dressing_set
):
    needed = f"{timezone.localdate() + datetime.timedelta(days=3):%Y-%m-%d}"
    response = logged_in(clinic_doctor).post(
        NEW,
        request_form(
            centers["cssd"],
            (instrument_set, 4),
            ("", ""),
            (dressing_set, 1),
            needed_by=needed,
            note="周一门诊",
        ),
    )

    created = SupplyRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{PAGES}{created.pk}/"
    assert {(line.instrument_set_id, line.quantity) for line in created.lines.all()} == {
        (instrument_set.pk, 4),
        (dressing_set.pk, 1),
    }
    assert f"{created.needed_by:%Y-%m-%d}" == needed and created.note == "周一门诊"
    content = html(logged_in(clinic_doctor).get(response["Location"]))
    assert created.number in content


@pytest.mark.parametrize(
    "rows",
    [
        [],  # nothing asked for
        [("set", 2), ("set", 3)],  # a set twice
        [("set", "")],  # a set without a quantity
        [("", 2)],  # a quantity without a set
        [("set", 0)],
        [("set", 201)],
    ],
)
def test_an_incomplete_request_is_shown_again_and_nothing_is_created(
    clinic_doctor, centers, instrument_set, rows
):
    rows = [(instrument_set if kit == "set" else kit, quantity) for kit, quantity in rows]
    response = logged_in(clinic_doctor).post(NEW, request_form(centers["cssd"], *rows))

    assert response.status_code == 200
    form, formset = response.context["form"], response.context["formset"]
    assert form.errors or formset.total_error_count()
    assert not SupplyRequest.objects.exists()


def test_the_form_reads_the_sets_once_however_many_rows(
    clinic_doctor, instrument_set, dressing_set, django_assert_max_num_queries
):
    client = logged_in(clinic_doctor)
    # session, user, profile; the centers (the user's alliances, the rows), the sets;
    # unread count, the header's institution, the permission tables
    with django_assert_max_num_queries(9) as five:
        first = client.get(NEW)
    with django_assert_max_num_queries(9) as twenty:
        second = client.get(NEW, {"rows": "20"})

    assert len(five) == len(twenty)
    assert (len(first.context["formset"].forms), len(second.context["formset"].forms)) == (5, 20)
    assert html(second).count(f'value="{dressing_set.pk}"') == 20


def test_a_set_of_a_center_the_member_cannot_see_is_refused(
    clinic_doctor, centers, instrument_set, world
):
    foreign = staff_user(Role.COMMUNITY_STAFF, world["foreign_center"], username="foreigner")
    response = logged_in(foreign).post(NEW, request_form(centers["cssd"], (instrument_set, 1)))

    assert response.status_code == 200
    assert "center" in response.context["form"].errors
    assert not SupplyRequest.objects.exists()


# --- The detail: cancel and dispatch ------------------------------------------------------------


def test_the_requester_cancels_from_the_detail(supply_request, clinic_doctor):
    client = logged_in(clinic_doctor)
    url = f"{PAGES}{supply_request.pk}/"
    assert 'value="cancel"' in html(client.get(url))

    response = client.post(url, {"op": "cancel"}, follow=True)

    assert status_of(supply_request) == S.CANCELLED
    assert messages_of(response) == ["success"]
    assert 'value="cancel"' not in html(response)


@pytest.mark.parametrize("persona", ["cssd_staff", "alliance_office"])
def test_nobody_but_the_requester_is_offered_or_may_post_the_cancel(
    supply_request, request, persona
):
    client = logged_in(request.getfixturevalue(persona))
    url = f"{PAGES}{supply_request.pk}/"
    assert 'value="cancel"' not in html(client.get(url))

    assert client.post(url, {"op": "cancel"}).status_code == 403
    assert status_of(supply_request) == S.SUBMITTED


def test_cancelling_after_a_dispatch_is_refused_with_a_message(
    supply_request, stored_packages, cssd_staff, clinic_doctor
):
    dispatch(cssd_staff, stored_packages(1), supply_request)
    client = logged_in(clinic_doctor)
    url = f"{PAGES}{supply_request.pk}/"
    assert 'value="cancel"' not in html(client.get(url))

    response = client.post(url, {"op": "cancel"}, follow=True)

    assert messages_of(response) == ["error"]
    assert status_of(supply_request) == S.SUBMITTED


def test_the_center_scans_packages_against_the_request_until_it_is_complete(
    supply_request, stored_packages, cssd_staff
):
    packages = stored_packages(2)
    client = logged_in(cssd_staff)
    url = f"{PAGES}{supply_request.pk}/"
    assert 'value="dispatch"' in html(client.get(url))

    response = client.post(url, {"op": "dispatch", "barcodes": "STK00001\r\n"}, follow=True)

    assert messages_of(response) == ["success"]
    assert statuses(packages) == [PackageStatus.DISPATCHED, PackageStatus.STORED]
    assert "STK00001" in html(response) and status_of(supply_request) == S.SUBMITTED

    response = client.post(url, {"op": "dispatch", "barcodes": "STK00002"}, follow=True)

    assert status_of(supply_request) == S.FULFILLED
    content = html(response)
    assert "STK00001" in content and "STK00002" in content
    assert 'value="dispatch"' not in content  # nothing more to scan


def test_a_bad_scan_dispatches_nothing_and_names_the_barcode(
    supply_request, stored_packages, cssd_staff, world
):
    mine = stored_packages(1)
    theirs = stored_packages(1, owner=world["other_center"], prefix="OTH")
    client = logged_in(cssd_staff)

    response = client.post(
        f"{PAGES}{supply_request.pk}/", {"op": "dispatch", "barcodes": "STK00001\nOTH00001"}
    )

    errors = response.context["dispatch_form"].errors["barcodes"]
    assert len(errors) == 1 and errors[0].startswith("OTH00001")
    assert "OTH00001" in html(response)
    assert statuses([*mine, *theirs]) == [PackageStatus.STORED] * 2


@pytest.mark.parametrize("persona", ["clinic_doctor", "alliance_office"])
def test_only_the_center_may_post_a_dispatch(supply_request, stored_packages, request, persona):
    packages = stored_packages(1)
    client = logged_in(request.getfixturevalue(persona))
    url = f"{PAGES}{supply_request.pk}/"
    assert 'value="dispatch"' not in html(client.get(url))

    assert client.post(url, {"op": "dispatch", "barcodes": "STK00001"}).status_code == 403
    assert statuses(packages) == [PackageStatus.STORED]


def test_a_dispatch_posted_to_a_closed_request_is_a_message(
    supply_request, stored_packages, cssd_staff, clinic_doctor
):
    packages = stored_packages(1)
    services.supply_request_cancel(actor=clinic_doctor, request=supply_request)

    response = logged_in(cssd_staff).post(
        f"{PAGES}{supply_request.pk}/", {"op": "dispatch", "barcodes": "STK00001"}, follow=True
    )

    assert messages_of(response) == ["error"]
    assert statuses(packages) == [PackageStatus.STORED]


@pytest.mark.parametrize(
    ("persona", "limit"),
    [
        # session, user, profile; the restriction; the request with its totals, its lines;
        # the user's side; the dispatch events with their packages; the shelf (center only);
        # unread count, the header's institution, the permission tables
        ("cssd_staff", 13),
        ("clinic_doctor", 10),
    ],
)
def test_the_detail_makes_the_same_number_of_queries_for_1_and_for_6_dispatches(
    make_supply_request,
    stored_packages,
    cssd_staff,
    instrument_set,
    request,
    django_assert_max_num_queries,
    persona,
    limit,
):
    supply_request = make_supply_request([(instrument_set, 10)])
    packages = stored_packages(6)
    dispatch(cssd_staff, packages[:1], supply_request)
    client = logged_in(request.getfixturevalue(persona))
    url = f"{PAGES}{supply_request.pk}/"
    with django_assert_max_num_queries(limit) as few:
        html(client.get(url))
    dispatch(cssd_staff, packages[1:], supply_request)
    with django_assert_max_num_queries(limit) as more:
        content = html(client.get(url))

    assert len(more) == len(few)
    assert all(p.barcode in content for p in packages)


# --- The API: reading ---------------------------------------------------------------------------


API_MATRIX = {
    "clinic_doctor": (200, 200),
    "outsider_clinic_user": (200, 404),
    "cssd_staff": (200, 200),
    "center_staff": (200, 404),
    "alliance_office": (200, 200),
    "bureau_viewer": (403, 403),
    "no_profile_user": (403, 403),
    "superuser": (200, 200),
}


@pytest.mark.parametrize(("persona", "codes"), API_MATRIX.items())
def test_the_api_answers_each_persona_as_its_role_allows(
    supply_request, cssd_staff, client_for, request, persona, codes
):
    client = client_for(request.getfixturevalue(persona))

    listed = client.get(API)
    one = client.get(f"{API}{supply_request.pk}/")

    assert (listed.status_code, one.status_code) == codes
    if codes[0] == 200:
        ids = [row["id"] for row in listed.json()["results"]]
        assert ids == ([supply_request.pk] if codes[1] == 200 else [])
    else:
        assert_json_error(listed, 403)
    if codes[1] == 404:
        assert assert_json_error(one, 404)["code"] == "not_found"


def test_anonymous_api_calls_are_refused(supply_request, api):
    assert_json_error(api.get(API), 401)
    assert_json_error(api.post(API, {}, format="json"), 401)


def test_a_request_reads_with_its_lines_and_what_was_sent(
    supply_request, stored_packages, cssd_staff, client_for, clinic_doctor, instrument_set
):
    dispatch(cssd_staff, stored_packages(1), supply_request)

    body = client_for(clinic_doctor).get(f"{API}{supply_request.pk}/").json()

    assert set(body) == REQUEST_NAMES
    assert (body["number"], body["status"]) == (supply_request.number, "submitted")
    assert (body["requested"], body["dispatched"]) == (2, 1)
    [line] = body["lines"]
    assert set(line) == LINE_NAMES
    assert line == {
        "instrument_set": instrument_set.pk,
        "instrument_set_name": "清创缝合包",
        "quantity": 2,
        "dispatched": 1,
        "remaining": 1,
    }


def test_the_list_filters_by_status_and_center(
    make_supply_request, clinic_doctor, client_for, centers
):
    kept = make_supply_request()
    gone = make_supply_request()
    services.supply_request_cancel(actor=clinic_doctor, request=gone)
    client = client_for(clinic_doctor)

    def ids(**params):
        return [row["id"] for row in client.get(API, params).json()["results"]]

    assert ids() == [gone.pk, kept.pk]
    assert ids(status="submitted") == [kept.pk]
    assert ids(status="cancelled") == [gone.pk]
    assert ids(center=centers["cssd"].pk) == [gone.pk, kept.pk]
    assert_field_error(client.get(API, {"status": "lost"}), "status")


def test_the_api_list_makes_the_same_number_of_queries_for_2_and_for_10(
    make_supply_request,
    stored_packages,
    cssd_staff,
    client_for,
    dressing_set,
    instrument_set,
    django_assert_max_num_queries,
):
    client = client_for(cssd_staff)
    for _ in range(2):
        make_supply_request()
    # token and user, profile, the user's centers, the rows with their totals, the lines
    with django_assert_max_num_queries(5) as few:
        assert len(client.get(API).json()["results"]) == 2
    packages = stored_packages(4)
    for n in range(8):
        made = make_supply_request([(instrument_set, 2), (dressing_set, 1)])
        if n < 4:
            dispatch(cssd_staff, [packages[n]], made)
    with django_assert_max_num_queries(5) as more:
        assert len(client.get(API).json()["results"]) == 10
    assert len(more) == len(few)


# --- The API: creating and cancelling -----------------------------------------------------------


def test_a_member_creates_a_request(client_for, clinic_doctor, centers, instrument_set):
    needed = f"{timezone.localdate() + datetime.timedelta(days=1):%Y-%m-%d}"
    response = client_for(clinic_doctor).post(
        API,
        {
            "center": centers["cssd"].pk,
            "lines": [{"instrument_set": instrument_set.pk, "quantity": 5}],
            "needed_by": needed,
            "note": "急用",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    day = f"{timezone.localdate():%Y%m%d}"
    assert body["number"] == f"SQ-{day}-0001"
    assert (body["status"], body["needed_by"], body["note"]) == ("submitted", needed, "急用")
    assert body["lines"][0]["remaining"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"instrument_set": "set", "quantity": 1}]}, "center"),
        ({"center": "cssd"}, "lines"),
        ({"center": "cssd", "lines": []}, "lines"),
        ({"center": "cssd", "lines": [{"instrument_set": "set", "quantity": 0}]}, "lines"),
        ({"center": "cssd", "lines": [{"instrument_set": "set", "quantity": 201}]}, "lines"),
        ({"center": "cssd", "lines": [{"instrument_set": "set"}]}, "lines"),
        ({"center": "cssd", "lines": [{"instrument_set": 999999, "quantity": 1}]}, "lines"),
        (
            {
                "center": "cssd",
                "lines": [
                    {"instrument_set": "set", "quantity": 1},
                    {"instrument_set": "set", "quantity": 2},
                ],
            },
            "lines",
        ),
        ({"center": "lab", "lines": [{"instrument_set": "set", "quantity": 1}]}, "center"),
        ({"center": 999999, "lines": [{"instrument_set": "set", "quantity": 1}]}, "center"),
        (
            {
                "center": "cssd",
                "lines": [{"instrument_set": "set", "quantity": 1}],
                "needed_by": "2020-01-01",
            },
            "needed_by",
        ),
        (
            {
                "center": "cssd",
                "lines": [{"instrument_set": "set", "quantity": 1}],
                "department": "cardiology",
            },
            "department",
        ),
    ],
)
def test_a_bad_request_body_is_a_400_naming_the_field(
    client_for, clinic_doctor, centers, instrument_set, world, body, field
):
    names = {
        "set": instrument_set.pk,
        "cssd": centers["cssd"].pk,
        "lab": centers["lab"].pk,
        "cardiology": world["cardiology"].pk,
    }

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return names.get(value, value) if isinstance(value, str) else value

    response = client_for(clinic_doctor).post(API, resolve(body), format="json")

    assert_field_error(response, field)
    assert not SupplyRequest.objects.exists()


@pytest.mark.parametrize("persona", ["cssd_staff", "alliance_office", "bureau_viewer"])
def test_roles_that_do_not_request_get_a_403(client_for, request, persona, centers, instrument_set):
    response = client_for(request.getfixturevalue(persona)).post(
        API,
        {
            "center": centers["cssd"].pk,
            "lines": [{"instrument_set": instrument_set.pk, "quantity": 1}],
        },
        format="json",
    )
    assert_json_error(response, 403)
    assert not SupplyRequest.objects.exists()


def test_the_requester_cancels_through_the_api(supply_request, client_for, clinic_doctor):
    response = client_for(clinic_doctor).post(f"{API}{supply_request.pk}/cancel/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled" and body["cancelled_by"] == clinic_doctor.pk


@pytest.mark.parametrize(
    ("persona", "code"),
    [
        ("outsider_clinic_user", 404),
        ("center_staff", 404),
        ("cssd_staff", 403),
        ("alliance_office", 403),
        ("bureau_viewer", 403),
    ],
)
def test_nobody_else_cancels_through_the_api(supply_request, client_for, request, persona, code):
    response = client_for(request.getfixturevalue(persona)).post(
        f"{API}{supply_request.pk}/cancel/"
    )
    assert_json_error(response, code)
    assert status_of(supply_request) == S.SUBMITTED


def test_cancelling_twice_or_after_a_dispatch_conflicts(
    make_supply_request, stored_packages, cssd_staff, client_for, clinic_doctor
):
    client = client_for(clinic_doctor)
    cancelled = make_supply_request()
    client.post(f"{API}{cancelled.pk}/cancel/")
    started = make_supply_request()
    dispatch(cssd_staff, stored_packages(1), started)

    for target in (cancelled, started):
        body = assert_json_error(client.post(f"{API}{target.pk}/cancel/"), 409)
        assert body["code"] == "illegal_transition"
    assert status_of(started) == S.SUBMITTED


# --- The API: dispatching through package moves -------------------------------------------------


def move_body(supply_request, *barcodes, action="dispatch") -> dict:
    return {"barcodes": list(barcodes), "action": action, "supply_request": supply_request.pk}


def test_a_dispatch_names_the_request_it_serves(
    supply_request, stored_packages, client_for, cssd_staff
):
    stored_packages(2)

    response = client_for(cssd_staff).post(
        MOVE, move_body(supply_request, "STK00001", "STK00002"), format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["moved"] == 2
    assert status_of(supply_request) == S.FULFILLED
    assert set(
        PackageEvent.objects.filter(to_status="dispatched").values_list("supply_request", flat=True)
    ) == {supply_request.pk}


def test_an_overfilling_or_foreign_package_is_a_400_naming_it(
    supply_request, stored_packages, client_for, cssd_staff, world
):
    packages = stored_packages(3)
    theirs = stored_packages(1, owner=world["other_center"], prefix="OTH")

    response = client_for(cssd_staff).post(
        MOVE,
        move_body(supply_request, "STK00001", "STK00002", "STK00003", "OTH00001"),
        format="json",
    )

    problems = assert_field_error(response, "barcodes")["barcodes"]
    assert [re.split(r"[:：\s]", p)[0] for p in problems] == ["STK00003", "OTH00001"]
    assert statuses([*packages, *theirs]) == [PackageStatus.STORED] * 4


def test_a_request_named_with_another_step_is_a_400(
    supply_request, make_packages, client_for, cssd_staff
):
    make_packages(1)
    response = client_for(cssd_staff).post(
        MOVE, move_body(supply_request, "PKG00001", action="clean"), format="json"
    )
    assert_field_error(response, "supply_request")


def test_a_request_the_user_cannot_see_is_a_400_like_an_unknown_one(
    supply_request, stored_packages, client_for, outsider_clinic_user, cssd_staff
):
    stored_packages(1)
    theirs_only = client_for(outsider_clinic_user)
    body = move_body(supply_request, "STK00001", action="expire")
    assert_field_error(theirs_only.post(MOVE, body, format="json"), "supply_request")
    unknown = {"barcodes": ["STK00001"], "action": "dispatch", "supply_request": 999999}
    assert_field_error(client_for(cssd_staff).post(MOVE, unknown, format="json"), "supply_request")
    assert statuses(Package.objects.all()) == [PackageStatus.STORED]


def test_a_member_may_not_dispatch_against_its_own_request(
    supply_request, stored_packages, client_for, clinic_doctor
):
    packages = stored_packages(1)
    response = client_for(clinic_doctor).post(
        MOVE, move_body(supply_request, "STK00001"), format="json"
    )
    assert assert_json_error(response, 403)["code"] == "not_allowed"
    assert statuses(packages) == [PackageStatus.STORED]


def test_dispatching_against_a_closed_request_conflicts(
    supply_request, stored_packages, client_for, cssd_staff, clinic_doctor
):
    packages = stored_packages(1)
    services.supply_request_cancel(actor=clinic_doctor, request=supply_request)

    response = client_for(cssd_staff).post(
        MOVE, move_body(supply_request, "STK00001"), format="json"
    )

    assert assert_json_error(response, 409)["code"] == "illegal_transition"
    assert statuses(packages) == [PackageStatus.STORED]
