"""The exam report and the sterilization recall list as PDFs: A4, the center's institution as
letterhead, the report naming its reporting and reviewing doctors, signature and seal lines;
the same 404 (and the same patient masking) as the pages."""

import pytest
from django.test import Client

from alliance.choices import Role
from sharedcenters import services
from tests.kit.documents import read_pdf
from tests.kit.factories import staff_user

from .conftest import NORMAL_RESULTS
from .test_pages_sterilization import at_member, cycle, move  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_the_exam_report_names_its_reviewer_and_has_the_signature_lines(
    lab_order_in, centers, world, clinic_doctor, center_staff
):
    hospital = world["hospital"]
    hospital.address, hospital.phone = "浦东新区临港大道 1000 号", "021-38297000"
    hospital.save()
    reviewer = staff_user(Role.CENTER_STAFF, hospital, username="lab_reviewer")
    reviewer.first_name, reviewer.last_name = "敏", "王"
    reviewer.save()
    centers["lab"].staff.add(reviewer)  # a reviewer is a colleague at the center (the service)
    order = lab_order_in("in_progress")
    order = services.order_report(
        actor=center_staff, order=order, results=NORMAL_RESULTS, reviewed_by=reviewer
    )
    for user in (clinic_doctor, center_staff):
        response = logged_in(user).get(f"/centers/orders/{order.pk}/report/", {"format": "pdf"})
        assert response["Content-Disposition"] == f'inline; filename="report-{order.number}.pdf"'
        pages, text = read_pdf(response)
        assert pages == 1
        for expected in (
            hospital.name,
            "浦东新区临港大道1000号",
            "021-38297000",
            "检验报告",
            order.number,
            "白细胞",
            "报告医生",
            "审核医生",
            reviewer.get_full_name().replace(" ", ""),
            "单位盖章",
            "第1页，共1页",
        ):
            assert expected in text, expected
        assert world["patient"].id_number not in text


def test_a_report_without_a_reviewer_leaves_the_reviewers_line_to_sign(lab_order_in, clinic_doctor):
    order = lab_order_in("reported")
    url = f"/centers/orders/{order.pk}/report/"
    pages, text = read_pdf(logged_in(clinic_doctor).get(url, {"format": "pdf"}))
    assert pages == 1
    assert "审核—" in text and "审核医生：" in text and "报告医生：" in text


def test_a_report_of_another_institution_is_a_404_and_an_unreported_one_is_not_printed(
    lab_order_in, outsider_clinic_user, clinic_doctor
):
    order = lab_order_in("reported")
    url = f"/centers/orders/{order.pk}/report/"
    assert logged_in(outsider_clinic_user).get(url, {"format": "pdf"}).status_code == 404
    assert (
        logged_in(clinic_doctor)
        .get("/centers/orders/999999/report/", {"format": "pdf"})
        .status_code
        == 404
    )
    pending = lab_order_in("collected")
    response = logged_in(clinic_doctor).get(
        f"/centers/orders/{pending.pk}/report/", {"format": "pdf"}
    )
    assert response.status_code == 302  # back to the order: no report to print yet


def test_the_recall_list_lists_every_package_over_pages(
    cssd_staff,
    clinic_doctor,
    at_member,  # noqa: F811
    world,
    outsider_clinic_user,
):
    packages = at_member.finish(at_member(60))
    move([packages[0]], "use", clinic_doctor, patient=world["patient"], procedure="清创缝合术")
    recalled = packages[0].cycle
    url = f"/centers/sterilization/cycles/{recalled.pk}/"
    logged_in(cssd_staff).post(url, {"op": "recall", "reason": "生物监测阳性"})
    pages, text = read_pdf(logged_in(cssd_staff).get(url, {"format": "pdf"}))
    assert pages >= 2  # 60 packages: the header row repeats, every page numbered
    assert f"第1页，共{pages}页" in text and f"第{pages}页，共{pages}页" in text
    assert text.count(recalled.center.institution.name) >= pages  # the letterhead on every page
    for expected in (
        "召回清单",
        "生物监测阳性",
        packages[0].barcode,
        packages[-1].barcode,
        "核对人签名",
        "单位盖章",
    ):
        assert expected in text, expected
    assert (
        "张伟" not in text
    )  # the center does not see the member's patient by name, as on the page
    _, member_text = read_pdf(logged_in(clinic_doctor).get(url, {"format": "pdf"}))
    assert "张伟" in member_text and world["patient"].masked_id_number in member_text
    assert logged_in(outsider_clinic_user).get(url, {"format": "pdf"}).status_code == 404
