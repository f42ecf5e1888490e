"""The demo alliance: Lingang (临港) from the 2022 paper, reproduced with synthetic identifiers.

`load_demo()` is idempotent: every row is found by its natural key (code, username, identity
number) and updated in place, so running it twice leaves the same data.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from stdnum.cn import ric, uscc

from ..choices import AllianceMode, Closeness, Gender, IdType, InstitutionKind, Specialty
from ..models import (
    Alliance,
    Department,
    District,
    Institution,
    Membership,
    Patient,
    SpecialtyNetwork,
    StaffProfile,
)
from .data import (
    ACCOUNTS,
    CENTER_DEPARTMENTS,
    DEMO_PASSWORD,
    DISTRICTS,
    GIVEN,
    HOMES,
    INSTITUTION_ADMINS,
    INSTITUTIONS,
    ISSUING_REGIONS,
    LEAD,
    LEAD_DEPARTMENTS,
    SECONDARY_DEPARTMENTS,
    STATIONS,
    SUB_CENTERS,
    SURNAMES,
)


def synthetic_uscc(region: str, serial: int) -> str:
    """A public-institution (事业单位, prefix 12) credit code with a valid check digit."""
    body = f"12{region}{serial:08d}0"
    return body + uscc.calc_check_digit(body)


def demo_id_number(region: str, birth: datetime.date, serial: int, gender: str) -> str:
    """A resident identity number issued in `region`, with a valid check digit."""
    sequence = serial * 2 + (1 if gender == Gender.MALE else 0)  # odd for men, even for women
    body = f"{region}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _patients(institutions: dict[str, Institution]) -> list[dict]:
    rows = []
    for n in range(40):
        gender = Gender.MALE if n % 2 == 0 else Gender.FEMALE
        birth = datetime.date(1940 + (n * 7) % 60, 1 + n % 12, 1 + (n * 5) % 28)
        home = institutions[HOMES[n % len(HOMES)]]
        region = ISSUING_REGIONS[home.district.code]
        region = region[(n // len(HOMES)) % len(region)]
        signed = n % 3 != 0
        center = home.parent or home
        rows.append(
            {
                "id_type": IdType.RESIDENT,
                "id_number": demo_id_number(region, birth, 100 + n, gender),
                "name": SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 3) % len(GIVEN)],
                "gender": gender,
                "birth_date": birth,
                "phone": f"139{n:08d}",
                "address": f"{home.district.name}{center.short_name}镇示例路{n + 1}号",
                "home_institution": home,
                "signed": signed,
                "signing_institution": center if signed else None,
                "signed_on": datetime.date(2021, 1 + n % 12, 1) if signed else None,
            }
        )
    # Residents without a resident identity card: a Hong Kong resident's residence permit, a
    # foreign resident's passport, and a newborn registered before any document exists.
    hmt_body = "81000019850612004"
    rows += [
        {
            "id_type": IdType.HMT_RESIDENCE,
            "id_number": hmt_body + ric.calc_check_digit(hmt_body + "0"),
            "name": "陈嘉欣",
            "gender": Gender.FEMALE,
            "birth_date": datetime.date(1985, 6, 12),
        },
        {
            "id_type": IdType.PASSPORT,
            "id_number": "E51234567",
            "name": "山田 太郎",
            "gender": Gender.MALE,
            "birth_date": datetime.date(1978, 3, 2),
        },
        {
            "id_type": IdType.NONE,
            "id_number": "",
            "name": "周小宝（新生儿）",
            "gender": Gender.MALE,
            "birth_date": datetime.date(2026, 11, 20),
        },
    ]
    for row in rows[-3:]:
        home = institutions["nicheng"]
        row.update(
            phone="13900009999",
            address=f"{home.district.name}泥城镇示例路99号",
            home_institution=home,
            signed=False,
            signing_institution=None,
            signed_on=None,
        )
    return rows


@transaction.atomic
def load_demo() -> dict[str, int]:
    districts = {
        code: District.objects.update_or_create(
            code=code, defaults={"name": name, "population": population}
        )[0]
        for code, name, population in DISTRICTS
    }
    institutions: dict[str, Institution] = {}
    for serial, row in enumerate(INSTITUTIONS, start=1):
        key, name, short, kind, _parent, district, beds, staff, population, lat, lon, phone = row
        institutions[key] = Institution.objects.update_or_create(
            code=synthetic_uscc(district, serial),
            defaults={
                "name": name,
                "short_name": short,
                "kind": kind,
                "parent": None,
                "district": districts[district],
                "approved_beds": beds,
                "health_technical_staff": staff,
                "population_served": population,
                "latitude": Decimal(lat) if lat else None,
                "longitude": Decimal(lon) if lon else None,
                "phone": phone,
                "address": f"{districts[district].name}{short}",
                "is_active": True,
            },
        )[0]
    for code, name, parent_key, lat, lon, phone in SUB_CENTERS:
        parent = institutions[parent_key]
        short = name.split("镇", 1)[-1].removesuffix("社区卫生服务分中心") + "分中心"
        institutions[code] = Institution.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "short_name": short,
                "kind": InstitutionKind.SUB_CENTER,
                "parent": parent,
                "district": parent.district,
                "address": name,
                "phone": phone,
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
                "is_active": True,
            },
        )[0]
    for code, name, kind, parent_key, lat, lon in STATIONS:
        parent = institutions[parent_key]
        institutions[code] = Institution.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "short_name": name.split("镇", 1)[-1],
                "kind": kind,
                "parent": parent,
                "district": parent.district,
                "address": name,
                "is_active": True,
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
            },
        )[0]

    departments: dict[tuple[str, str], Department] = {}

    def department(key, name, specialty, phone="", on_duty="", accepts=False, head=""):
        departments[(key, name)] = Department.objects.update_or_create(
            institution=institutions[key],
            name=name,
            defaults={
                "specialty": specialty,
                "phone": phone,
                "on_duty_phone": on_duty,
                "accepts_referrals": accepts,
                "head": head,
                "is_active": True,
            },
        )[0]

    for name, specialty, phone, on_duty, accepts, head in LEAD_DEPARTMENTS:
        department(LEAD, name, specialty, phone, on_duty, accepts, head)
    for key in ("wanxiang", "nicheng", "luchaogang", "shuyuan", "situan"):
        switchboard = institutions[key].phone
        for index, (name, specialty, accepts) in enumerate(CENTER_DEPARTMENTS, start=1):
            phone = f"{switchboard[:-1]}{index}"
            # General practice answers critical values and pre-arrival calls around the clock.
            on_duty = phone if specialty == Specialty.GENERAL_PRACTICE else ""
            department(key, name, specialty, phone, on_duty, accepts)
    for key in ("shengsi", "daishan"):
        for index, (name, specialty, accepts) in enumerate(SECONDARY_DEPARTMENTS, start=1):
            department(key, name, specialty, f"{institutions[key].phone[:-1]}{index}", "", accepts)

    lingang, _ = Alliance.objects.update_or_create(
        name="临港医联体",
        defaults={
            "mode": AllianceMode.URBAN_GROUP,
            "closeness": Closeness.TIGHT,
            "lead_institution": institutions[LEAD],
            "established_on": datetime.date(2013, 6, 1),
            "description": "以三级医院临港院区为核心、4个街镇社区卫生服务中心"
            "共同参与的区域医联体。",
        },
    )
    chest_pain, _ = Alliance.objects.update_or_create(
        name="沪浙跨区域胸痛专科联盟",
        defaults={
            "mode": AllianceMode.SPECIALTY_ALLIANCE,
            "closeness": Closeness.LOOSE,
            "lead_institution": institutions[LEAD],
            "established_on": datetime.date(2019, 9, 1),
            "description": "临港院区胸痛中心与浙江两家县级医院的跨区域专科联盟。",
        },
    )
    joined = datetime.date(2013, 6, 1)
    for key in (LEAD, "wanxiang", "nicheng", "luchaogang", "shuyuan"):
        Membership.objects.get_or_create(
            alliance=lingang, institution=institutions[key], joined_on=joined
        )
    Membership.objects.get_or_create(
        alliance=lingang, institution=institutions["situan"], joined_on=datetime.date(2021, 7, 1)
    )
    for key in (LEAD, "shengsi", "daishan"):
        Membership.objects.get_or_create(
            alliance=chest_pain, institution=institutions[key], joined_on=datetime.date(2019, 9, 1)
        )

    networks = [
        ("肿瘤疾病防治专科医联体", Specialty.ONCOLOGY, "肿瘤科", ["全科"]),
        ("危重新生儿救治协作网", Specialty.NEONATOLOGY, "新生儿科", ["预防保健科"]),
        ("糖尿病防治联盟", Specialty.ENDOCRINOLOGY, "内分泌科", ["内科", "全科"]),
    ]
    centers = ("wanxiang", "nicheng", "luchaogang", "shuyuan", "situan")
    for name, specialty, lead_department, member_names in networks:
        network, _ = SpecialtyNetwork.objects.update_or_create(
            alliance=lingang,
            name=name,
            defaults={
                "specialty": specialty,
                "lead_department": departments[(LEAD, lead_department)],
            },
        )
        members = [departments[(LEAD, lead_department)]]
        members += [departments[(key, n)] for key in centers for n in member_names]
        network.departments.set(members)

    for row in _patients(institutions):
        # Found again by the keyed hash: the encrypted number itself cannot be compared. A
        # resident without a document is found by name and birth date.
        if row["id_number"]:
            key = {"id_number_hash": Patient.hash_id_number(row["id_number"])}
        else:
            key = {"id_type": IdType.NONE, "name": row["name"], "birth_date": row["birth_date"]}
        Patient.objects.update_or_create(**key, defaults=row)

    User = get_user_model()
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"is_staff": True, "is_superuser": True, "first_name": "系统管理员"},
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    for username, display, key, department_name, role in ACCOUNTS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": display}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        StaffProfile.objects.update_or_create(
            user=user,
            defaults={
                "institution": institutions[key],
                "department": departments.get((key, department_name)),
                "role": role,
                "is_institution_admin": username in INSTITUTION_ADMINS,
            },
        )
    return {
        "institutions": Institution.objects.count(),
        "departments": Department.objects.count(),
        "patients": Patient.objects.count(),
        "users": User.objects.count(),
    }
