"""factory_boy factories shared by every app's tests."""

import datetime

import factory
from django.contrib.auth import get_user_model
from stdnum.cn import ric, uscc

from alliance.choices import Gender, InstitutionKind, Role, Specialty
from alliance.models import (
    Alliance,
    Department,
    District,
    Institution,
    Membership,
    Patient,
    StaffProfile,
)


def valid_uscc(n: int) -> str:
    body = f"12310115{n:08d}0"
    return body + uscc.calc_check_digit(body)


def valid_id_number(
    n: int, birth: datetime.date = datetime.date(1995, 5, 17), male=True, region="310115"
) -> str:
    """An 18-digit GB 11643 number (identity card, or with region 810000 / 9xxxxx a residence
    permit or a foreigner's permanent residence card) with a valid check digit."""
    sequence = (n % 499) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("code",)

    code = "310115"
    name = "浦东新区"
    population = 5681512


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"测试社区卫生服务中心{n}")
    short_name = factory.Sequence(lambda n: f"中心{n}")
    code = factory.Sequence(lambda n: f"TEST-{n:04d}")
    kind = InstitutionKind.COMMUNITY_CENTER
    district = factory.SubFactory(DistrictFactory)
    approved_beds = 50
    health_technical_staff = 60
    population_served = 40000


class HospitalFactory(InstitutionFactory):
    name = factory.Sequence(lambda n: f"测试三级医院{n}")
    kind = InstitutionKind.TERTIARY_HOSPITAL
    approved_beds = 600
    health_technical_staff = 900
    population_served = None


class StationFactory(InstitutionFactory):
    name = factory.Sequence(lambda n: f"测试村卫生室{n}")
    kind = InstitutionKind.VILLAGE_CLINIC
    parent = factory.SubFactory(InstitutionFactory)
    approved_beds = 0
    health_technical_staff = 3
    population_served = None


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    institution = factory.SubFactory(HospitalFactory)
    name = factory.Sequence(lambda n: f"科室{n}")
    specialty = Specialty.CARDIOLOGY
    phone = "021-38297001"
    on_duty_phone = "13901700001"
    accepts_referrals = True


class AllianceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alliance

    name = factory.Sequence(lambda n: f"测试医联体{n}")
    mode = "urban_group"
    closeness = "tight"
    lead_institution = factory.SubFactory(HospitalFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    alliance = factory.SubFactory(AllianceFactory)
    institution = factory.SubFactory(InstitutionFactory)
    joined_on = datetime.date(2020, 1, 1)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    name = factory.Sequence(lambda n: f"患者{n}")
    gender = Gender.MALE
    birth_date = datetime.date(1995, 5, 17)
    # Another district's code than valid_id_number's default, so a number a test writes by hand
    # (valid_id_number(60)) is never one the sequence has handed out earlier in the session.
    id_number = factory.Sequence(lambda n: valid_id_number(n, region="310104"))
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    home_institution = factory.SubFactory(InstitutionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(UserFactory)
    institution = factory.SubFactory(InstitutionFactory)
    role = Role.COMMUNITY_STAFF


def staff_user(role: str, institution: Institution, username: str | None = None, **kwargs):
    """A user with a staff profile of the given role at the given institution."""
    user = UserFactory(**({"username": username} if username else {}))
    StaffProfileFactory(user=user, institution=institution, role=role, **kwargs)
    return user
