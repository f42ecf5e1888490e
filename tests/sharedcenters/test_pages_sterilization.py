"""The sterilization supply pages: packages with the batch scan and the register form, a
package's trace, the cycles and a cycle's indicators, recall and recall list.

A batch is all or nothing: one bad barcode moves nothing and every bad one is shown, with the
scanned list kept for a second try.
"""

import pytest
from django.test import Client

from sharedcenters import services
from sharedcenters.models import Package, PackageEvent, SterilizationCycle

pytestmark = pytest.mark.django_db


def logged_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def statuses(packages) -> list[str]:
    return [Package.objects.get(pk=p.pk).status for p in packages]


def fresh(packages) -> list[Package]:
    return list(Package.objects.filter(pk__in=[p.pk for p in packages]).order_by("barcode"))


def move(packages, action: str, actor, **extra) -> None:
    services.packages_move(
        actor=actor, barcodes=[p.barcode for p in packages], action=action, **extra
    )


@pytest.fixture
def cycle(cssd_staff, centers):
    return services.cycle_start(
        actor=cssd_staff,
        center=centers["cssd"],
        sterilizer="脉动真空灭菌器1号",
        cycle_number="20250301-01",
        method="steam",
    )


@pytest.fixture
def at_member(make_packages, cycle, cssd_staff, clinic_doctor):
    """Three packages through a released cycle, dispatched and received at the world's centre."""

    def make(count: int = 3, owner=None, prefix: str = "PKG", receiver=None):
        packages = make_packages(count, owner=owner, prefix=prefix)
        for action in ("clean", "pack"):
            move(packages, action, cssd_staff)
        move(packages, "sterilize", cssd_staff, cycle=cycle)
        return fresh(packages)

    def finish(packages, receiver=clinic_doctor):
        if SterilizationCycle.objects.get(pk=cycle.pk).status == "running":
            services.cycle_record_results(
                actor=cssd_staff,
                cycle=cycle,
                physical="passed",
                chemical="passed",
                biological="passed",
            )
        move(packages, "store", cssd_staff)
        move(packages, "dispatch", cssd_staff)
        move(packages, "receive_by_member", receiver)
        return fresh(packages)

    make.finish = finish
    return make


def move_form(action: str, barcodes: str, **extra) -> dict:
    return {"op": "move", "action": action, "barcodes": barcodes} | extra


# --- Who may open which page --------------------------------------------------------------------


def urls(package, cycle) -> dict[str, str]:
    return {
        "packages": "/centers/sterilization/",
        "package": f"/centers/sterilization/packages/{package.pk}/",
        "cycles": "/centers/sterilization/cycles/",
        "cycle": f"/centers/sterilization/cycles/{cycle.pk}/",
    }


@pytest.mark.parametrize("persona", ["bureau_viewer", "no_profile_user"])
@pytest.mark.parametrize("page", ["packages", "package", "cycles", "cycle"])
def test_the_bureau_and_accounts_without_a_profile_get_403(
    make_packages, cycle, request, persona, page
):
    [package] = make_packages(1)

    response = logged_in(request.getfixturevalue(persona)).get(urls(package, cycle)[page])

    assert response.status_code == 403
    assert package.barcode not in response.content.decode()


@pytest.mark.parametrize("page", ["packages", "package", "cycles", "cycle"])
def test_anonymous_visitors_are_sent_to_the_login_page(make_packages, cycle, page):
    [package] = make_packages(1)

    response = Client().get(urls(package, cycle)[page])

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", ["outsider_clinic_user", "center_staff"])
def test_another_institution_or_center_gets_a_404_on_the_package(make_packages, request, persona):
    [package] = make_packages(1)
    client = logged_in(request.getfixturevalue(persona))

    assert client.get(f"/centers/sterilization/packages/{package.pk}/").status_code == 404
    assert package.barcode not in html(client.get("/centers/sterilization/"))


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        (p, page)
        for p in ("cssd_staff", "clinic_doctor", "alliance_office", "superuser")
        for page in ("packages", "package", "cycles", "cycle")
    ],
)
def test_every_page_renders_in_chinese_for_the_roles_that_use_it(at_member, request, persona, page):
    packages = at_member(1)
    package = packages[0]
    cycle = package.cycle

    content = html(logged_in(request.getfixturevalue(persona)).get(urls(package, cycle)[page]))

    assert 'lang="zh-hans"' in content and "资源共享中心" in content
    assert (cycle.sterilizer if page == "cycles" else package.barcode) in content


def test_each_side_is_offered_its_own_steps(cssd_staff, clinic_doctor, alliance_office, centers):
    center = logged_in(cssd_staff).get("/centers/sterilization/").context
    member = logged_in(clinic_doctor).get("/centers/sterilization/").context
    office = logged_in(alliance_office).get("/centers/sterilization/").context

    center_steps = [value for value, _ in center["move_form"].fields["action"].choices]
    member_steps = [value for value, _ in member["move_form"].fields["action"].choices]
    assert center_steps == ["receive", "clean", "pack", "sterilize", "store", "dispatch", "expire"]
    assert member_steps == ["collect", "receive_by_member", "use", "expire"]
    assert center["register_form"] is not None and member["register_form"] is None
    assert office["move_form"] is None and office["register_form"] is None


def test_a_member_may_not_post_the_centers_forms(clinic_doctor, at_member, instrument_set):
    cycle = at_member(1)[0].cycle  # a cycle the member sees: its package went through it
    client = logged_in(clinic_doctor)

    register = client.post(
        "/centers/sterilization/",
        {"op": "register", "barcode": "NEW001", "instrument_set": instrument_set.pk},
    )
    recall = client.post(
        f"/centers/sterilization/cycles/{cycle.pk}/", {"op": "recall", "reason": "x"}
    )
    start = client.post("/centers/sterilization/cycles/", {"sterilizer": "x"})

    assert (register.status_code, recall.status_code, start.status_code) == (403, 403, 403)
    assert Package.objects.count() == 1
    cycle.refresh_from_db()
    assert cycle.recalled_at is None


def test_the_office_may_not_move_packages(alliance_office, make_packages):
    packages = make_packages(1)

    response = logged_in(alliance_office).post(
        "/centers/sterilization/", move_form("clean", packages[0].barcode)
    )

    assert response.status_code == 403
    assert statuses(packages) == ["received"]


# --- The package list ---------------------------------------------------------------------------


def test_the_list_has_a_tab_per_state_and_finds_a_barcode(cssd_staff, make_packages):
    packages = make_packages(3)
    move(packages[:1], "clean", cssd_staff)
    client = logged_in(cssd_staff)

    response = client.get("/centers/sterilization/")
    tabs = {status: n for status, _label, n in response.context["tabs"]}
    cleaned = client.get("/centers/sterilization/", {"status": "cleaned"})
    found = client.get("/centers/sterilization/", {"q": "00002"})

    assert (tabs["received"], tabs["cleaned"], response.context["total"]) == (2, 1, 3)
    assert list(cleaned.context["object_list"]) == packages[:1]
    assert list(found.context["object_list"]) == [packages[1]]


def test_a_member_sees_only_its_own_packages(clinic_doctor, make_packages, world):
    mine = make_packages(2)
    theirs = make_packages(2, owner=world["other_center"], prefix="OTH")

    listed = set(logged_in(clinic_doctor).get("/centers/sterilization/").context["object_list"])

    assert listed == set(mine) and not listed & set(theirs)


# --- The batch scan -----------------------------------------------------------------------------


def test_a_batch_with_an_unknown_barcode_moves_nothing_and_shows_it(cssd_staff, make_packages):
    packages = make_packages(3)
    typed = "PKG00001\nPKG00002\nNOPE-999\nPKG00003"

    response = logged_in(cssd_staff).post("/centers/sterilization/", move_form("clean", typed))

    content = html(response)
    errors = response.context["move_form"].errors["barcodes"]
    assert len(errors) == 1 and "NOPE-999" in errors[0]
    assert errors[0] in content
    assert typed in content.replace("\r\n", "\n")  # the scanned list is kept for a retry
    assert statuses(packages) == ["received"] * 3
    assert not PackageEvent.objects.exclude(from_status="").exists()


def test_every_bad_barcode_of_a_batch_is_listed(cssd_staff, make_packages):
    packages = make_packages(3)
    move(packages[:1], "clean", cssd_staff)

    response = logged_in(cssd_staff).post(
        "/centers/sterilization/", move_form("clean", "PKG00001\nPKG00002\nGONE-1")
    )

    errors = response.context["move_form"].errors["barcodes"]
    assert len(errors) == 2
    assert "PKG00001" in errors[0] and "GONE-1" in errors[1]
    assert statuses(packages) == ["cleaned", "received", "received"]


def test_a_batch_moves_every_package_and_returns_to_the_page(cssd_staff, make_packages):
    packages = make_packages(3)

    response = logged_in(cssd_staff).post(
        "/centers/sterilization/?status=received",
        move_form("clean", "PKG00001\r\n\r\nPKG00002\r\nPKG00003\r\n"),
        follow=True,
    )

    assert response.redirect_chain == [("/centers/sterilization/?status=received", 302)]
    assert statuses(packages) == ["cleaned"] * 3
    [(level, text)] = messages_of(response)
    assert level == "success" and "3" in text


def test_loading_into_a_cycle_needs_the_cycle(cssd_staff, make_packages, cycle):
    packages = make_packages(2)
    move(packages, "clean", cssd_staff)
    move(packages, "pack", cssd_staff)
    client = logged_in(cssd_staff)

    refused = client.post("/centers/sterilization/", move_form("sterilize", "PKG00001\nPKG00002"))
    assert refused.context["move_form"].errors["cycle"]
    assert statuses(packages) == ["inspected_packed"] * 2

    client.post(
        "/centers/sterilization/", move_form("sterilize", "PKG00001\nPKG00002", cycle=cycle.pk)
    )
    assert statuses(packages) == ["sterilized"] * 2
    assert {p.cycle_id for p in Package.objects.all()} == {cycle.pk}


@pytest.mark.parametrize(("id_number", "error"), [("", True), ("310115199001011234", True)])
def test_use_needs_a_patient_the_member_can_see(clinic_doctor, at_member, id_number, error):
    packages = at_member.finish(at_member(1))

    response = logged_in(clinic_doctor).post(
        "/centers/sterilization/",
        move_form("use", packages[0].barcode, patient_id_number=id_number, procedure="清创缝合"),
    )

    assert response.context["move_form"].errors["patient_id_number"]
    assert "清创缝合" in html(response)
    assert statuses(packages) == ["received_by_member"]


def test_a_member_records_a_use_and_the_trace_shows_the_patient_to_it_only(
    clinic_doctor, cssd_staff, at_member, world
):
    packages = at_member.finish(at_member(1))
    patient = world["patient"]

    logged_in(clinic_doctor).post(
        "/centers/sterilization/",
        move_form(
            "use",
            packages[0].barcode,
            patient_id_number=patient.id_number.lower(),
            procedure="清创缝合术",
        ),
    )

    package = Package.objects.get()
    assert (package.status, package.used_for_patient, package.procedure) == (
        "used",
        patient,
        "清创缝合术",
    )
    url = f"/centers/sterilization/packages/{package.pk}/"
    member = html(logged_in(clinic_doctor).get(url))
    center = html(logged_in(cssd_staff).get(url))
    assert "张伟" in member and patient.masked_id_number in member
    assert patient.id_number not in member
    assert "张伟" not in center and patient.masked_id_number not in center
    assert "清创缝合术" in center


def test_the_trace_lists_every_step(cssd_staff, at_member):
    package = at_member.finish(at_member(1))[0]

    response = logged_in(cssd_staff).get(f"/centers/sterilization/packages/{package.pk}/")

    assert [e.to_status for e in response.context["events"]] == [
        "received",
        "cleaned",
        "inspected_packed",
        "sterilized",
        "stored",
        "dispatched",
        "received_by_member",
    ]
    assert "脉动真空灭菌器1号" in html(response)


# --- Registering a package ----------------------------------------------------------------------


def test_registering_a_package(cssd_staff, instrument_set, world):
    response = logged_in(cssd_staff).post(
        "/centers/sterilization/",
        {
            "op": "register",
            "barcode": " NEW-0001 ",
            "instrument_set": instrument_set.pk,
            "owner": world["center"].pk,
        },
        follow=True,
    )

    package = Package.objects.get()
    assert (package.barcode, package.status, package.owner) == (
        "NEW-0001",
        "received",
        world["center"],
    )
    assert [level for level, _ in messages_of(response)] == ["success"]


def test_a_duplicate_barcode_is_a_field_error_and_keeps_the_input(
    cssd_staff, make_packages, instrument_set, world
):
    make_packages(1)

    response = logged_in(cssd_staff).post(
        "/centers/sterilization/",
        {
            "op": "register",
            "barcode": "PKG00001",
            "instrument_set": instrument_set.pk,
            "owner": world["center"].pk,
        },
    )

    assert response.context["register_form"].errors["barcode"]
    assert 'value="PKG00001"' in html(response)
    assert Package.objects.count() == 1


def test_only_alliance_members_may_own_a_package(cssd_staff, instrument_set, world):
    response = logged_in(cssd_staff).post(
        "/centers/sterilization/",
        {
            "op": "register",
            "barcode": "NEW-1",
            "instrument_set": instrument_set.pk,
            "owner": world["foreign_center"].pk,
        },
    )

    assert response.context["register_form"].errors["owner"]
    assert not Package.objects.exists()


# --- Cycles -------------------------------------------------------------------------------------


def test_starting_a_cycle_opens_its_page(cssd_staff, centers):
    response = logged_in(cssd_staff).post(
        "/centers/sterilization/cycles/",
        {
            "center": centers["cssd"].pk,
            "sterilizer": "低温等离子1号",
            "cycle_number": "0042",
            "method": "plasma",
        },
    )

    cycle = SterilizationCycle.objects.get()
    assert response["Location"] == f"/centers/sterilization/cycles/{cycle.pk}/"
    assert (cycle.status, cycle.operator) == ("running", cssd_staff)


def test_a_cycle_number_used_twice_is_a_field_error(cssd_staff, cycle, centers):
    response = logged_in(cssd_staff).post(
        "/centers/sterilization/cycles/",
        {
            "center": centers["cssd"].pk,
            "sterilizer": cycle.sterilizer,
            "cycle_number": cycle.cycle_number,
            "method": "steam",
        },
    )

    assert response.context["start_form"].errors["cycle_number"]
    assert cycle.sterilizer in html(response)
    assert SterilizationCycle.objects.count() == 1


def test_recording_passed_indicators_releases_the_cycle(cssd_staff, cycle):
    logged_in(cssd_staff).post(
        f"/centers/sterilization/cycles/{cycle.pk}/",
        {"op": "results", "physical": "passed", "chemical": "passed", "biological": "passed"},
    )

    cycle.refresh_from_db()
    assert cycle.status == "released"
    content = html(logged_in(cssd_staff).get(f"/centers/sterilization/cycles/{cycle.pk}/"))
    assert 'value="results"' not in content  # final: no results form any more


def test_a_bad_indicator_value_is_a_field_error(cssd_staff, cycle):
    response = logged_in(cssd_staff).post(
        f"/centers/sterilization/cycles/{cycle.pk}/",
        {"op": "results", "physical": "ok", "chemical": "passed", "biological": "pending"},
    )

    assert response.context["results_form"].errors["physical"]
    cycle.refresh_from_db()
    assert cycle.status == "running"


def test_a_recall_needs_a_reason(cssd_staff, cycle):
    response = logged_in(cssd_staff).post(
        f"/centers/sterilization/cycles/{cycle.pk}/", {"op": "recall", "reason": ""}
    )

    assert response.context["recall_form"].errors["reason"] == ["该字段是必填项。"]
    cycle.refresh_from_db()
    assert cycle.recalled_at is None


def test_a_recall_blocks_the_unused_and_lists_who_the_used_ones_touched(
    cssd_staff, clinic_doctor, at_member, world
):
    packages = at_member.finish(at_member(3))
    used = packages[0]
    move([used], "use", clinic_doctor, patient=world["patient"], procedure="清创缝合术")
    cycle = used.cycle

    response = logged_in(cssd_staff).post(
        f"/centers/sterilization/cycles/{cycle.pk}/",
        {"op": "recall", "reason": "生物监测阳性"},
        follow=True,
    )

    cycle.refresh_from_db()
    assert (cycle.status, cycle.recall_reason) == ("recalled", "生物监测阳性")
    assert statuses(packages) == ["used", "blocked", "blocked"]
    lines = response.context["lines"]
    assert [line.package.barcode for line in lines] == [p.barcode for p in packages]
    assert [len(line.uses) for line in lines] == [1, 0, 0]
    center = html(response)
    member = html(logged_in(clinic_doctor).get(f"/centers/sterilization/cycles/{cycle.pk}/"))
    assert "张伟" in member and world["patient"].masked_id_number in member
    assert "张伟" not in center  # the center does not see the member's patient by name
    assert "data-print" in center and "生物监测阳性" in center
    assert world["patient"].id_number not in member


def test_a_member_sees_only_its_own_packages_of_a_cycle(clinic_doctor, at_member, world):
    mine = at_member(2)
    at_member(2, owner=world["other_center"], prefix="OTH")

    response = logged_in(clinic_doctor).get(f"/centers/sterilization/cycles/{mine[0].cycle_id}/")

    assert [line.package for line in response.context["lines"]] == mine
    assert response.context["results_form"] is None and response.context["recall_form"] is None


def test_a_member_does_not_see_cycles_its_packages_never_went_through(outsider_clinic_user, cycle):
    client = logged_in(outsider_clinic_user)

    assert client.get(f"/centers/sterilization/cycles/{cycle.pk}/").status_code == 404
    assert list(client.get("/centers/sterilization/cycles/").context["object_list"]) == []


# --- Query counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "limit"),
    [
        # session, user, profile; the user's centers (the rows, the state counts, the cycles,
        # the register form's sets and owners); the state counts, count, rows; the filter's
        # sets and owners, the running cycles, the register form's sets and owners;
        # permission tables; unread count, the header's institution
        ("cssd_staff", 19),
        # the member's institutions instead of centers, and no register form
        ("clinic_doctor", 15),
    ],
)
def test_the_package_page_makes_the_same_number_of_queries_for_3_and_for_20(
    make_packages, request, django_assert_max_num_queries, persona, limit
):
    client = logged_in(request.getfixturevalue(persona))
    make_packages(3)
    with django_assert_max_num_queries(limit) as few:
        first = client.get("/centers/sterilization/")
    make_packages(17, prefix="MORE")
    with django_assert_max_num_queries(limit) as more:
        second = client.get("/centers/sterilization/")

    assert (len(first.context["object_list"]), len(second.context["object_list"])) == (3, 20)
    assert len(more) == len(few)
