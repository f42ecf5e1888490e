"""Contact cards (科室联系卡) are kept by the people who own them: an institution's administrator
edits its own and its stations', the alliance office any member's; every change has history."""

import pytest
from django.test import Client

from alliance.choices import Role, Specialty
from alliance.models import Department, DepartmentHistory
from tests.kit.factories import DepartmentFactory, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def center_admin(world):
    user = staff_user(Role.COMMUNITY_STAFF, world["center"], username="center_admin")
    user.staff_profile.is_institution_admin = True
    user.staff_profile.save()
    return user


@pytest.fixture
def card(world):
    return DepartmentFactory(
        institution=world["center"],
        name="全科",
        specialty=Specialty.GENERAL_PRACTICE,
        phone="021-58070001",
        on_duty_phone="13900000001",
    )


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def page(institution) -> str:
    return f"/alliance/institutions/{institution.pk}/contacts/"


def form_data(departments, new=None, changes=None) -> dict:
    """The page's formset as a browser posts it: every card, then the blank row for a new one."""
    data = {
        "cards-TOTAL_FORMS": str(len(departments) + 1),
        "cards-INITIAL_FORMS": str(len(departments)),
        "cards-MIN_NUM_FORMS": "0",
        "cards-MAX_NUM_FORMS": "200",
    }
    for i, d in enumerate(departments):
        row = {
            "id": d.pk,
            "name": d.name,
            "specialty": d.specialty,
            "phone": d.phone,
            "on_duty_phone": d.on_duty_phone,
            "head": d.head,
            **({"accepts_referrals": "on"} if d.accepts_referrals else {}),
            **({"is_active": "on"} if d.is_active else {}),
        } | (changes or {}).get(d.pk, {})
        data |= {f"cards-{i}-{k}": v for k, v in row.items() if v is not None}
    # The blank row as a browser sends it untouched: its select and ticked box have values.
    blank = {"specialty": Specialty.OTHER, "is_active": "on"} | (new or {})
    for k, v in blank.items():
        data[f"cards-{len(departments)}-{k}"] = v
    return data


# -- unhappy paths first ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["clinic_doctor", "hospital_triage", "bureau_viewer", "no_profile_user"]
)
def test_staff_who_do_not_keep_the_cards_are_refused_and_nothing_changes(
    request, world, card, persona
):
    user = request.getfixturevalue(persona)
    client = logged_in(user)

    shown = client.get(page(world["center"]))
    posted = client.post(page(world["center"]), form_data([card], {card.pk: {"phone": ""}}))

    assert shown.status_code in (403, 404) and posted.status_code in (403, 404)
    card.refresh_from_db()
    assert card.phone == "021-58070001"


def test_an_institution_admin_cannot_edit_another_institutions_cards(world, center_admin):
    other = DepartmentFactory(institution=world["other_center"], name="内科")

    response = logged_in(center_admin).post(page(world["other_center"]), form_data([other]))

    assert response.status_code == 403
    assert Department.objects.get(pk=other.pk).name == "内科"


def test_the_office_may_not_edit_an_institution_outside_its_alliance(world, alliance_office):
    response = logged_in(alliance_office).get(page(world["foreign_center"]))
    assert response.status_code == 403


def test_an_unknown_institution_is_not_found(world, alliance_office):
    assert (
        logged_in(alliance_office).get("/alliance/institutions/999999/contacts/").status_code == 404
    )


def test_a_wrong_phone_shows_a_chinese_field_error_and_no_card_is_saved(world, center_admin, card):
    data = form_data(
        [card],
        {"name": "口腔科", "specialty": Specialty.OTHER, "phone": "021-1", "is_active": "on"},
        changes={card.pk: {"on_duty_phone": "13900000009"}},
    )

    response = logged_in(center_admin).post(page(world["center"]), data)

    assert response.status_code == 400
    errors = response.context["formset"].forms[1].errors
    assert errors["phone"] == ["请输入 11 位手机号码或固定电话号码（如 021-58000000）。"]
    card.refresh_from_db()
    assert card.on_duty_phone == "13900000001"  # the valid row was not saved either
    assert not Department.objects.filter(name="口腔科").exists()


def test_a_second_department_of_the_same_name_is_a_field_error(world, center_admin, card):
    data = form_data([card], {"name": "全科", "specialty": Specialty.OTHER, "is_active": "on"})

    response = logged_in(center_admin).post(page(world["center"]), data)

    assert response.status_code == 400
    assert Department.objects.filter(institution=world["center"], name="全科").count() == 1


# -- the page ---------------------------------------------------------------------------------


def test_the_institution_admin_changes_a_card_and_adds_a_department(world, center_admin, card):
    client = logged_in(center_admin)
    detail = client.get(f"/alliance/institutions/{world['center'].pk}/")
    assert "编辑科室联系卡" in detail.content.decode()

    data = form_data(
        [card],
        {
            "name": "康复科",
            "specialty": Specialty.REHABILITATION,
            "phone": "021-58070009",
            "is_active": "on",
        },
        changes={card.pk: {"on_duty_phone": "13900000002"}},
    )
    response = client.post(page(world["center"]), data)

    assert response.status_code == 302, response.context and response.context["formset"].errors
    card.refresh_from_db()
    assert card.on_duty_phone == "13900000002"
    added = Department.objects.get(institution=world["center"], name="康复科")
    assert added.phone == "021-58070009" and added.is_active


def test_the_institution_admin_keeps_its_stations_cards(world, center_admin):
    station_card = DepartmentFactory(institution=world["station"], name="全科诊室")

    response = logged_in(center_admin).post(
        page(world["station"]),
        form_data([station_card], {}, changes={station_card.pk: {"head": "李医生"}}),
    )

    assert response.status_code == 302
    assert Department.objects.get(pk=station_card.pk).head == "李医生"


def test_the_office_edits_any_members_cards_and_retires_a_department(world, alliance_office, card):
    response = logged_in(alliance_office).post(
        page(world["center"]), form_data([card], {}, changes={card.pk: {"is_active": None}})
    )

    assert response.status_code == 302
    card.refresh_from_db()
    assert not card.is_active  # retired, not deleted: referrals still point to it


def test_every_change_is_in_the_history_with_who_made_it(world, center_admin, card):
    client = logged_in(center_admin)
    client.post(
        page(world["center"]), form_data([card], {}, changes={card.pk: {"phone": "021-58070008"}})
    )

    last = DepartmentHistory.objects.filter(pgh_obj_id=card.pk).latest("pgh_id")
    assert last.pgh_label == "update" and last.phone == "021-58070008"
    assert last.pgh_context.metadata["user"] == center_admin.pk
    shown = client.get(page(world["center"])).content.decode()
    assert "021-58070008" in shown and center_admin.get_full_name() in shown


def test_the_page_runs_a_fixed_number_of_queries(
    world, center_admin, card, django_assert_max_num_queries
):
    for n in range(15):
        DepartmentFactory(institution=world["center"], name=f"科室{n}")
    client = logged_in(center_admin)
    client.get(page(world["center"]))
    with django_assert_max_num_queries(20):
        assert client.get(page(world["center"])).status_code == 200


# -- the API ----------------------------------------------------------------------------------


def test_the_api_lets_the_admin_patch_a_card_and_add_one(api, world, center_admin, card):
    client = api.as_user(center_admin)

    patched = client.patch(
        f"/api/v1/departments/{card.pk}/", {"on_duty_phone": "13900000003"}, "json"
    )
    created = client.post(
        "/api/v1/departments/",
        {
            "institution": world["center"].pk,
            "name": "中医科",
            "specialty": Specialty.TCM,
            "phone": "021-58070005",
        },
        "json",
    )

    assert patched.status_code == 200, patched.content
    assert patched.json()["on_duty_phone"] == "13900000003"
    assert created.status_code == 201, created.content
    assert Department.objects.filter(institution=world["center"], name="中医科").exists()


def test_the_api_refuses_a_card_the_user_sees_but_does_not_keep(api, world, clinic_doctor, card):
    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/departments/{card.pk}/", {"phone": ""}, "json"
    )
    assert response.status_code == 403 and response.json()["detail"]
    assert Department.objects.get(pk=card.pk).phone == "021-58070001"


def test_the_api_refuses_another_institutions_card_to_an_admin(api, world, center_admin):
    other = DepartmentFactory(institution=world["other_center"], name="内科", phone="021-57570001")
    client = api.as_user(center_admin)

    patched = client.patch(f"/api/v1/departments/{other.pk}/", {"phone": ""}, "json")
    created = client.post(
        "/api/v1/departments/", {"institution": world["other_center"].pk, "name": "X"}, "json"
    )

    assert patched.status_code == 403
    assert created.status_code == 400 and "institution" in created.json()["errors"]
    assert Department.objects.get(pk=other.pk).phone == "021-57570001"
    assert not Department.objects.filter(name="X").exists()


def test_the_api_answers_a_bad_phone_with_a_400_naming_it(api, world, center_admin, card):
    response = api.as_user(center_admin).patch(
        f"/api/v1/departments/{card.pk}/", {"phone": "12"}, "json"
    )
    assert response.status_code == 400 and "phone" in response.json()["errors"]
