"""The small alliance every test starts from.

A lead hospital, two member centres (one with a village clinic), a centre outside the alliance,
the district bureau, and one patient registered at each primary institution. Tests read it as
attributes (`world.hospital`) or, as most do, by name (`world["hospital"]`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from alliance.choices import InstitutionKind
from alliance.models import Alliance, Department, District, Institution, Patient
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    DistrictFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
    PatientFactory,
    StationFactory,
)


@dataclass(frozen=True)
class World:
    pudong: District
    fengxian: District
    hospital: Institution
    cardiology: Department
    center: Institution
    station: Institution
    other_center: Institution
    foreign_center: Institution
    bureau: Institution
    alliance: Alliance
    patient: Patient
    station_patient: Patient
    other_patient: Patient
    foreign_patient: Patient

    def __getitem__(self, name: str):
        if name not in self:
            raise KeyError(name)
        return getattr(self, name)

    def __contains__(self, name: object) -> bool:
        return name in {field.name for field in fields(self)}

    def __or__(self, other: dict) -> dict:
        """`world | {"extra": ...}`: the world's rows by name, with more."""
        return {field.name: getattr(self, field.name) for field in fields(self)} | other


def build_world() -> World:
    pudong = DistrictFactory(code="310115", name="浦东新区")
    fengxian = DistrictFactory(code="310120", name="奉贤区")
    hospital = HospitalFactory(name="临港院区", district=pudong)
    cardiology = DepartmentFactory(institution=hospital, name="心内科（胸痛中心）")
    center = InstitutionFactory(name="泥城社区卫生服务中心", district=pudong)
    station = StationFactory(name="泥城镇公平村卫生室", parent=center, district=pudong)
    other_center = InstitutionFactory(name="四团平安社区卫生服务中心", district=fengxian)
    foreign_center = InstitutionFactory(name="联盟外社区卫生服务中心", district=fengxian)
    bureau = InstitutionFactory(
        name="浦东新区卫生健康委员会",
        kind=InstitutionKind.OTHER,
        district=pudong,
        approved_beds=0,
        health_technical_staff=0,
        population_served=None,
    )
    alliance = AllianceFactory(name="临港医联体", lead_institution=hospital)
    for member in (hospital, center, other_center):
        MembershipFactory(alliance=alliance, institution=member)
    return World(
        pudong=pudong,
        fengxian=fengxian,
        hospital=hospital,
        cardiology=cardiology,
        center=center,
        station=station,
        other_center=other_center,
        foreign_center=foreign_center,
        bureau=bureau,
        alliance=alliance,
        patient=PatientFactory(name="张伟", home_institution=center),
        station_patient=PatientFactory(name="李芳", home_institution=station),
        other_patient=PatientFactory(name="王强", home_institution=other_center),
        foreign_patient=PatientFactory(name="赵敏", home_institution=foreign_center),
    )
