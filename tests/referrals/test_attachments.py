"""Attachments: PDF/JPEG/PNG by content, size-limited, served only to those who see the referral."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from referrals.models import ReferralAttachment, ReferralEvent

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def referral(make_referral, clinic_doctor):
    from referrals import services

    return services.referral_submit(actor=clinic_doctor, referral=make_referral())


def upload(api, referral, name, content, content_type="application/pdf"):
    return api.post(
        f"/api/v1/referrals/{referral.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def test_a_text_file_named_pdf_is_refused(api, clinic_doctor, referral):
    response = upload(api.as_user(clinic_doctor), referral, "report.pdf", b"just text, not a pdf")
    assert response.status_code == 400
    assert "file" in response.json()
    assert not ReferralAttachment.objects.exists()


def test_an_html_file_disguised_as_png_is_refused(api, clinic_doctor, referral):
    response = upload(
        api.as_user(clinic_doctor),
        referral,
        "x.png",
        b"<html><script>alert(1)</script>",
        "image/png",
    )
    assert response.status_code == 400


def test_a_file_over_the_limit_is_refused(api, clinic_doctor, referral, settings):
    settings.REFERRAL_ATTACHMENT_MAX_BYTES = 1024
    response = upload(api.as_user(clinic_doctor), referral, "big.pdf", PDF + b"0" * 2048)
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_a_third_institution_can_neither_attach_nor_download(
    api, clinic_doctor, outsider_clinic_user, referral
):
    created = upload(api.as_user(clinic_doctor), referral, "ecg.pdf", PDF).json()
    assert upload(api.as_user(outsider_clinic_user), referral, "x.pdf", PDF).status_code == 404
    download = api.as_user(outsider_clinic_user).get(created["url"])
    assert download.status_code == 404


def test_the_bureau_cannot_download(api, clinic_doctor, bureau_viewer, referral):
    created = upload(api.as_user(clinic_doctor), referral, "ecg.pdf", PDF).json()
    assert api.as_user(bureau_viewer).get(created["url"]).status_code == 403


def test_a_pdf_is_stored_under_a_random_name_and_served_as_a_download_to_the_receiver(
    api, clinic_doctor, hospital_triage, referral
):
    response = upload(api.as_user(clinic_doctor), referral, "../../etc/心电图.pdf", PDF)
    assert response.status_code == 201, response.content
    body = response.json()
    attachment = ReferralAttachment.objects.get()
    assert "etc" not in attachment.file.name and attachment.file.name.endswith(".pdf")
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    assert ReferralEvent.objects.filter(referral=referral, action="attach").exists()

    download = api.as_user(hospital_triage).get(body["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"
    assert "no-store" in download["Cache-Control"]


def test_png_uploads_through_the_page_and_downloads_from_the_page(
    browser_client, clinic_doctor, referral
):
    browser_client.force_login(clinic_doctor)
    response = browser_client.post(
        f"/referrals/{referral.pk}/attachments/",
        {"file": SimpleUploadedFile("xray.png", PNG, content_type="image/png")},
    )
    assert response.status_code == 302
    attachment = ReferralAttachment.objects.get()
    assert attachment.content_type == "image/png"
    page = browser_client.get(f"/referrals/{referral.pk}/")
    assert "xray.png" in page.content.decode()
    download = browser_client.get(f"/referrals/{referral.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200


def test_no_files_on_a_closed_referral(api, clinic_doctor, referral):
    from referrals import services

    services.referral_cancel(actor=clinic_doctor, referral=referral, reason="患者拒绝")
    assert upload(api.as_user(clinic_doctor), referral, "late.pdf", PDF).status_code == 409
