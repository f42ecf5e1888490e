"""The referral slip as a PDF: the letterhead of the referring institution, the slip, the
signature and seal lines, page numbers and the print time; the same 404 as the page."""

import re

import pytest
from django.test import Client

from tests.kit.documents import read_pdf

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def test_the_slip_is_an_a4_pdf_with_letterhead_and_signature_lines(
    referral_in, clinic_doctor, hospital_triage, world
):
    center = world["center"]
    center.address, center.phone = "浦东新区泥城镇云汉路 88 号", "021-58070000"
    center.save()
    referral = referral_in("scheduled")
    for user in (clinic_doctor, hospital_triage):  # both sides print it
        response = logged_in(user).get(f"/referrals/{referral.pk}/slip/", {"format": "pdf"})
        assert response["Content-Disposition"] == (
            f'inline; filename="referral-{referral.number}.pdf"'
        )
        pages, text = read_pdf(response)
        assert pages == 1
        for expected in (
            center.name,
            "浦东新区泥城镇云汉路88号",
            "021-58070000",
            "双向转诊单",
            referral.number,
            world["patient"].masked_id_number,
            "转诊医生签名",
            "接诊医生签名",
            "单位盖章",
            "第1页，共1页",
        ):
            assert expected in text, expected
        assert re.search(r"打印时间\d{4}-\d\d-\d\d\d\d:\d\d", text)
        assert world["patient"].id_number not in text


def test_another_institution_gets_the_same_404_as_for_the_page(referral_in, outsider_clinic_user):
    referral = referral_in("submitted")
    client = logged_in(outsider_clinic_user)
    assert client.get(f"/referrals/{referral.pk}/slip/").status_code == 404
    assert client.get(f"/referrals/{referral.pk}/slip/", {"format": "pdf"}).status_code == 404
    assert client.get("/referrals/999999/slip/", {"format": "pdf"}).status_code == 404
    assert Client().get(f"/referrals/{referral.pk}/slip/", {"format": "pdf"}).status_code == 302
