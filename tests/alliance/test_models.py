import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from alliance.choices import InstitutionKind, Tier
from alliance.models import Institution, Membership
from alliance.validators import birth_date_from_id_number
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    HospitalFactory,
    InstitutionFactory,
    PatientFactory,
    StationFactory,
    valid_id_number,
)

pytestmark = pytest.mark.django_db


class TestInstitution:
    def test_a_station_without_a_center_is_refused(self):
        station = InstitutionFactory.build(kind=InstitutionKind.VILLAGE_CLINIC, parent=None)
        station.district.save()
        with pytest.raises(ValidationError) as error:
            station.full_clean()
        assert "parent" in error.value.message_dict

    def test_a_station_under_a_hospital_is_refused(self):
        station = StationFactory.build(parent=HospitalFactory())
        with pytest.raises(ValidationError) as error:
            station.full_clean()
        assert "parent" in error.value.message_dict

    def test_a_station_may_sit_under_a_sub_center_which_sits_under_a_center(self):
        center = InstitutionFactory()
        sub_center = InstitutionFactory(kind=InstitutionKind.SUB_CENTER, parent=center)
        station = StationFactory(parent=sub_center, district=center.district)
        station.full_clean()
        clinic = StationFactory(
            kind=InstitutionKind.VILLAGE_CLINIC, parent=sub_center, district=center.district
        )
        clinic.full_clean()
        assert set(Institution.objects.subtree_of(center.pk)) == {
            center,
            sub_center,
            station,
            clinic,
        }

    @pytest.mark.parametrize(
        ("kind", "parent_kind", "message"),
        [
            (
                InstitutionKind.SUB_CENTER,
                InstitutionKind.SUB_CENTER,
                "上级机构必须是社区卫生服务中心或乡镇卫生院。",
            ),
            (
                InstitutionKind.COMMUNITY_STATION,
                InstitutionKind.COMMUNITY_STATION,
                "上级机构必须是社区卫生服务中心、乡镇卫生院或分中心。",
            ),
            (
                InstitutionKind.VILLAGE_CLINIC,
                InstitutionKind.BRANCH_CAMPUS,
                "上级机构必须是社区卫生服务中心、乡镇卫生院或分中心。",
            ),
        ],
    )
    def test_the_tree_refuses_a_parent_of_the_wrong_kind(self, kind, parent_kind, message):
        center = InstitutionFactory()
        parent = (
            InstitutionFactory(kind=parent_kind, parent=center)
            if parent_kind in (InstitutionKind.SUB_CENTER, InstitutionKind.COMMUNITY_STATION)
            else HospitalFactory(kind=parent_kind)
        )
        child = InstitutionFactory.build(kind=kind, parent=parent, district=center.district)
        with pytest.raises(ValidationError) as error:
            child.full_clean()
        with translation.override("zh-hans"):
            assert error.value.message_dict["parent"] == [message]

    def test_an_institution_cannot_sit_under_its_own_descendant(self):
        center = InstitutionFactory()
        sub_center = InstitutionFactory(kind=InstitutionKind.SUB_CENTER, parent=center)
        center.parent = sub_center
        with pytest.raises(ValidationError) as error:
            center.full_clean()
        assert "parent" in error.value.message_dict

    def test_the_database_refuses_an_institution_as_its_own_parent(self):
        center = InstitutionFactory()
        with pytest.raises(IntegrityError), transaction.atomic():
            Institution.objects.filter(pk=center.pk).update(parent=center)

    def test_an_invalid_credit_code_is_a_field_error(self):
        center = InstitutionFactory.build(code="12310115000000010Z")
        center.district.save()
        with pytest.raises(ValidationError) as error:
            center.full_clean()
        assert "code" in error.value.message_dict

    def test_codes_are_unique(self):
        InstitutionFactory(code="NC-01")
        with pytest.raises(IntegrityError), transaction.atomic():
            InstitutionFactory(code="NC-01")

    @pytest.mark.parametrize(
        "kind, tier",
        [
            (InstitutionKind.BRANCH_CAMPUS, Tier.TERTIARY),
            (InstitutionKind.SECONDARY_HOSPITAL, Tier.SECONDARY),
            (InstitutionKind.VILLAGE_CLINIC, Tier.PRIMARY),
            (InstitutionKind.TOWNSHIP_CENTER, Tier.PRIMARY),
            (InstitutionKind.OTHER, None),
        ],
    )
    def test_the_tier_follows_from_the_kind(self, kind, tier):
        assert Institution(kind=kind).tier == tier

    def test_latitude_out_of_range_is_refused_by_the_database(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            InstitutionFactory(latitude=91)


class TestMembership:
    def test_leaving_before_joining_is_refused(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(
                alliance=AllianceFactory(),
                institution=InstitutionFactory(),
                joined_on=datetime.date(2020, 1, 1),
                left_on=datetime.date(2019, 1, 1),
            )

    def test_active_memberships_exclude_those_who_left_or_have_not_joined(self):
        alliance = AllianceFactory()
        current = Membership.objects.create(
            alliance=alliance, institution=InstitutionFactory(), joined_on=datetime.date(2020, 1, 1)
        )
        Membership.objects.create(
            alliance=alliance,
            institution=InstitutionFactory(),
            joined_on=datetime.date(2020, 1, 1),
            left_on=datetime.date(2021, 1, 1),
        )
        Membership.objects.create(
            alliance=alliance, institution=InstitutionFactory(), joined_on=datetime.date(2999, 1, 1)
        )
        assert list(Membership.objects.active(datetime.date(2024, 1, 1))) == [current]


class TestPatient:
    def test_the_birth_date_is_taken_from_the_identity_number(self):
        patient = PatientFactory.build(
            id_number=valid_id_number(5), birth_date=datetime.date(1995, 5, 18)
        )
        patient.home_institution.district.save()
        patient.home_institution.save()
        patient.clean()
        assert patient.birth_date == birth_date_from_id_number(patient.id_number)
        assert patient.birth_date != datetime.date(1995, 5, 18)

    def test_the_gender_is_taken_from_the_identity_number(self):
        patient = PatientFactory.build(id_number=valid_id_number(5, male=False), gender="male")
        patient.home_institution.district.save()
        patient.home_institution.save()
        patient.clean()
        assert patient.gender == "female"

    def test_a_signed_resident_needs_the_signing_institution_and_date(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            PatientFactory(signed=True, signing_institution=None, signed_on=None)

    def test_identity_numbers_are_unique(self):
        number = valid_id_number(9)
        PatientFactory(id_number=number)
        with pytest.raises(IntegrityError), transaction.atomic():
            PatientFactory(id_number=number)

    def test_str_shows_the_masked_identity_number_only(self):
        patient = PatientFactory(id_number=valid_id_number(9))
        assert patient.id_number not in str(patient)
        assert patient.id_number[-4:] in str(patient)


def test_a_department_name_is_unique_within_its_institution():
    department = DepartmentFactory(name="心内科")
    DepartmentFactory(name="心内科")  # same name elsewhere is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        DepartmentFactory(name="心内科", institution=department.institution)


class TestSigning:
    def test_signing_happens_at_a_primary_care_institution(self):
        patient = PatientFactory()
        patient.signed, patient.signed_on = True, datetime.date(2021, 1, 1)
        patient.signing_institution = HospitalFactory()
        with pytest.raises(ValidationError) as error:
            patient.full_clean()
        assert "signing_institution" in error.value.message_dict

    @pytest.mark.parametrize("signed_on", [datetime.date(1990, 1, 1), datetime.date(2999, 1, 1)])
    def test_the_signing_date_lies_between_birth_and_today(self, signed_on):
        patient = PatientFactory()
        patient.signed, patient.signed_on = True, signed_on
        patient.signing_institution = patient.home_institution
        with pytest.raises(ValidationError) as error:
            patient.full_clean()
        assert "signed_on" in error.value.message_dict
