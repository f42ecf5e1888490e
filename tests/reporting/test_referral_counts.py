"""The fourth kind of fact file: monthly referral counts from the hospitals' own systems, for
the months before the platform ran. The indicators take the platform's referrals of an
institution and month where there are any, the imported counts elsewhere, never both; the
demo's 2019 reads the paper's 60,297 upward and 8,504 downward referrals."""

import datetime
import io

import pytest
from django.utils import timezone

from referrals.models import Referral
from reporting.models import IndicatorValue, ReferralCount
from reporting.services.imports import ImportRejected, import_facts
from reporting.services.indicators import recompute
from tests.referrals.conftest import make_referral  # noqa: F401 - fixture

LAST_YEAR = timezone.localdate().year - 1
HEADER = "institution_code,month,direction,count,to_institution_code"


def referrals_csv(lines: list[str], header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\r\n".join([header, *lines]) + "\r\n").encode("utf-8"))


def alliance_value(world, indicator: str, period: str):
    row = IndicatorValue.objects.filter(
        indicator=indicator, alliance=world["alliance"], period=period
    ).first()
    return None if row is None else row.value


@pytest.mark.django_db
def test_a_referral_count_file_is_imported_with_chinese_headers_and_month_shapes(world):
    center, hospital = world["center"], world["hospital"]
    file = referrals_csv(
        [
            f"{center.code},{LAST_YEAR}-01,上转,120,{hospital.code}",
            f"{center.code},{LAST_YEAR}年2月,up,95,{hospital.code}",
            f"{hospital.code},{LAST_YEAR}02,下转,30,{center.code}",
            f"{hospital.code},{LAST_YEAR}-03-15 00:00:00,down,0,",
        ],
        header="机构编码,月份,转诊方向,转诊人次,接收机构编码",
    )
    result = import_facts(kind="referrals", file=file, actor=None)
    assert result.created == 4
    stored = sorted(
        ReferralCount.objects.values_list("month", "direction", "count", "to_institution_code")
    )
    assert stored == [
        (datetime.date(LAST_YEAR, 1, 1), "up", 120, hospital.code),
        (datetime.date(LAST_YEAR, 2, 1), "down", 30, center.code),
        (datetime.date(LAST_YEAR, 2, 1), "up", 95, hospital.code),
        (datetime.date(LAST_YEAR, 3, 1), "down", 0, ""),
    ]
    # The same file again changes nothing; a corrected count updates its row.
    again = referrals_csv([f"{center.code},{LAST_YEAR}-01,上转,121,{hospital.code}"])
    assert import_facts(kind="referrals", file=again, actor=None).updated == 1
    assert ReferralCount.objects.get(direction="up", month__month=1).count == 121


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("{code},{year}-01,横转,5,", "direction", "不是转诊方向"),
        ("{code},{year}-13,上转,5,", "month", "不是有效的月份"),
        ("{code},2999-01,上转,5,", "month", "不晚于今天"),
        ("{code},{year}-01,上转,-5,", "count", "不是有效数量"),
    ],
)
def test_a_bad_referral_count_row_names_its_column(world, line, column, message, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    file = referrals_csv([line.format(code=world["center"].code, year=LAST_YEAR)])
    with pytest.raises(ImportRejected) as rejected:
        import_facts(kind="referrals", file=file, actor=None)
    (error,) = rejected.value.errors
    assert error["column"] == column
    assert message in error["message"], error["message"]
    assert not ReferralCount.objects.exists()


@pytest.mark.django_db
def test_the_same_month_and_direction_twice_is_a_duplicate(world):
    code = world["center"].code
    file = referrals_csv([f"{code},{LAST_YEAR}-01,上转,5,", f"{code},{LAST_YEAR}-01,up,7,"])
    with pytest.raises(ImportRejected) as rejected:
        import_facts(kind="referrals", file=file, actor=None)
    assert rejected.value.errors[0]["row"] == 3


@pytest.mark.django_db
def test_platform_referrals_win_over_imported_counts_never_both(
    world,
    make_referral,  # noqa: F811 - the imported fixture
):
    """This year the centre sent one referral on the platform, in this month; its file also
    counts 40 for this month and 25 for a month before: 1 + 25, never 41 + 25."""
    today = timezone.localdate()
    year = today.year
    first = make_referral("submitted")
    Referral.objects.filter(pk=first.pk).update(status="submitted", submitted_at=timezone.now())
    center = world["center"]
    this_month = today.replace(day=1)
    ReferralCount.objects.create(institution=center, month=this_month, direction="up", count=40)
    if this_month.month > 1:
        earlier = this_month.replace(month=this_month.month - 1)
        ReferralCount.objects.create(institution=center, month=earlier, direction="up", count=25)
    recompute(year)
    expected = 1 + (25 if this_month.month > 1 else 0)
    value = IndicatorValue.objects.get(
        indicator="upward_referrals", institution=center, period=str(year)
    ).value
    assert value == expected
    assert alliance_value(world, "upward_referrals", f"{year}-{this_month.month:02d}") == 1


@pytest.mark.django_db
def test_the_demo_2019_reads_the_papers_referral_counts(db, client):
    from django.core.management import call_command

    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    from alliance.models import Alliance

    lingang = Alliance.objects.get(name__contains="临港")
    up = IndicatorValue.objects.get(indicator="upward_referrals", alliance=lingang, period="2019")
    down = IndicatorValue.objects.get(
        indicator="downward_referrals", alliance=lingang, period="2019"
    )
    assert (up.value, down.value) == (60_297, 8_504)
    rate = IndicatorValue.objects.get(
        indicator="upward_referral_rate", alliance=lingang, period="2019"
    )
    assert rate.numerator == 60_297  # all from primary institutions
    share = IndicatorValue.objects.get(
        indicator="downward_referral_share", alliance=lingang, period="2019"
    )
    assert share.numerator == 8_504  # all from the lead hospital

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="bureau"))
    # It opens on last year, whose facts are complete (every member, every month), not on
    # 2019 and not on this year, whose current month has no files yet.
    opened = client.get("/reporting/")
    assert opened.context["year"] == LAST_YEAR
    assert "数据不完整" not in str(opened.context["figures"][0].headline[2].note)
    page = client.get("/reporting/", {"year": 2019}).content.decode()
    assert "60,297" in page and "8,504" in page
    # The rates' definitions stand next to them: numerator and denominator in words.
    assert 'data-definition-open="upward_referral_rate"' in page
    assert 'data-definition-open="downward_referral_share"' in page


@pytest.mark.django_db
def test_the_upload_page_and_the_api_take_the_referral_count_kind(world):
    import codecs

    from django.test import Client

    from alliance.choices import Role
    from tests.kit.factories import staff_user

    office = staff_user(Role.ALLIANCE_OFFICE, world["hospital"], username="office_rc")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(office)
    page = client.get("/reporting/imports/").content.decode()
    assert "/reporting/imports/template/referrals.csv" in page
    assert "转诊方向" in page and "上转 或 下转" in page
    template = client.get("/reporting/imports/template/referrals.csv")
    assert template.content == codecs.BOM_UTF8 + (
        b"institution_code,month,direction,to_institution_code,count\r\n"
    )
    upload = referrals_csv([f"{world['center'].code},{LAST_YEAR}-05,上转,12,"])
    upload.name = "referrals.csv"
    answer = client.post("/api/v1/facts/referrals/import/", {"file": upload})
    assert answer.status_code == 200, answer.content
    assert answer.json()["months"][0]["after"] == 12
    assert ReferralCount.objects.get().count == 12
