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

from .choices import AllianceMode, Closeness, Gender, IdType, InstitutionKind, Role, Specialty
from .models import (
    Alliance,
    Department,
    District,
    Institution,
    Membership,
    Patient,
    SpecialtyNetwork,
    StaffProfile,
)

DEMO_PASSWORD = "alliance-demo"  # noqa: S105 - documented demo password, demo data only

DISTRICTS = [
    ("310115", "浦东新区", 5681512),
    ("310120", "奉贤区", 1140872),
    ("330922", "嵊泗县", 69000),
    ("330921", "岱山县", 178000),
]


def synthetic_uscc(region: str, serial: int) -> str:
    """A public-institution (事业单位, prefix 12) credit code with a valid check digit."""
    body = f"12{region}{serial:08d}0"
    return body + uscc.calc_check_digit(body)


# code, name, short name, kind, parent code, district, beds, staff, population, lat, lon, phone
LEAD = "lead"
INSTITUTIONS = [
    (
        LEAD,
        "上海某三级医院临港院区",
        "临港院区",
        InstitutionKind.BRANCH_CAMPUS,
        None,
        "310115",
        600,
        1050,
        None,
        "30.8995",
        "121.9265",
        "021-38290000",
    ),
    (
        "wanxiang",
        "浦东新区万祥社区卫生服务中心",
        "万祥",
        InstitutionKind.COMMUNITY_CENTER,
        None,
        "310115",
        80,
        95,
        50000,
        "30.9836",
        "121.8131",
        "021-58050001",
    ),
    (
        "nicheng",
        "浦东新区泥城社区卫生服务中心",
        "泥城",
        InstitutionKind.COMMUNITY_CENTER,
        None,
        "310115",
        100,
        150,
        90000,
        "30.9080",
        "121.8236",
        "021-58070002",
    ),
    (
        "luchaogang",
        "浦东新区芦潮港社区卫生服务中心",
        "芦潮港",
        InstitutionKind.COMMUNITY_CENTER,
        None,
        "310115",
        60,
        85,
        60000,
        "30.8552",
        "121.8574",
        "021-58280003",
    ),
    (
        "shuyuan",
        "浦东新区书院社区卫生服务中心",
        "书院",
        InstitutionKind.COMMUNITY_CENTER,
        None,
        "310115",
        0,
        100,
        70000,
        "30.9581",
        "121.8686",
        "021-58170004",
    ),
    (
        "situan",
        "奉贤区四团镇平安社区卫生服务中心",
        "四团平安",
        InstitutionKind.COMMUNITY_CENTER,
        None,
        "310120",
        50,
        120,
        80000,
        "30.9275",
        "121.7083",
        "021-57570005",
    ),
    (
        "shengsi",
        "嵊泗县中心医院",
        "嵊泗",
        InstitutionKind.SECONDARY_HOSPITAL,
        None,
        "330922",
        200,
        260,
        None,
        "30.7250",
        "122.4510",
        "0580-5080000",
    ),
    (
        "daishan",
        "岱山县中心医院",
        "岱山",
        InstitutionKind.SECONDARY_HOSPITAL,
        None,
        "330921",
        300,
        380,
        None,
        "30.2440",
        "122.2040",
        "0580-4470000",
    ),
    (
        "bureau",
        "浦东新区卫生健康委员会",
        "浦东卫健委",
        InstitutionKind.OTHER,
        None,
        "310115",
        0,
        0,
        None,
        None,
        None,
        "021-68540000",
    ),
]

# Sub-centers (分中心): the paper's area has 9 centers and sub-centers in all. Internal codes.
# code, name, parent, latitude, longitude, phone
SUB_CENTERS = [
    ("NC-S1", "泥城镇彭镇社区卫生服务分中心", "nicheng", "30.9292", "121.7985", "021-58071000"),
    ("SY-S1", "书院镇洋溢社区卫生服务分中心", "shuyuan", "30.9421", "121.8873", "021-58171000"),
    (
        "LCG-S1",
        "芦潮港镇南汇新城社区卫生服务分中心",
        "luchaogang",
        "30.9006",
        "121.9302",
        "021-58281000",
    ),
    (
        "ST-S1",
        "奉贤区四团镇邵厂社区卫生服务分中心",
        "situan",
        "30.9512",
        "121.7276",
        "021-57571000",
    ),
]

# Stations and village clinics (39, as in the paper's area): internal codes, each under its
# center or sub-center; code, name, kind, parent, latitude, longitude.
_STATION = InstitutionKind.COMMUNITY_STATION
_CLINIC = InstitutionKind.VILLAGE_CLINIC
STATIONS = [
    ("WX-01", "万祥镇新振村卫生室", _CLINIC, "wanxiang", "30.9902", "121.8070"),
    ("WX-02", "万祥镇万宏社区卫生服务站", _STATION, "wanxiang", "30.9811", "121.8195"),
    ("WX-03", "万祥镇万隆村卫生室", _CLINIC, "wanxiang", "30.9757", "121.8042"),
    ("WX-04", "万祥镇新建村卫生室", _CLINIC, "wanxiang", "30.9946", "121.8213"),
    ("WX-05", "万祥镇东滧村卫生室", _CLINIC, "wanxiang", "30.9870", "121.8301"),
    ("NC-01", "泥城镇公平村卫生室", _CLINIC, "nicheng", "30.9133", "121.8172"),
    ("NC-02", "泥城镇新城社区卫生服务站", _STATION, "nicheng", "30.9051", "121.8290"),
    ("NC-03", "泥城镇彭庙村卫生室", _CLINIC, "nicheng", "30.9166", "121.8333"),
    ("NC-04", "泥城镇马厂村卫生室", _CLINIC, "nicheng", "30.8987", "121.8139"),
    ("NC-05", "泥城镇新泐村卫生室", _CLINIC, "nicheng", "30.9002", "121.8376"),
    ("NC-11", "泥城镇彭镇社区卫生服务站", _STATION, "NC-S1", "30.9310", "121.7960"),
    ("NC-12", "泥城镇海关村卫生室", _CLINIC, "NC-S1", "30.9377", "121.8031"),
    ("NC-13", "泥城镇横港村卫生室", _CLINIC, "NC-S1", "30.9244", "121.7902"),
    ("NC-14", "泥城镇果园村卫生室", _CLINIC, "NC-S1", "30.9218", "121.8067"),
    ("LCG-01", "芦潮港镇芦潮社区卫生服务站", _STATION, "luchaogang", "30.8570", "121.8601"),
    ("LCG-02", "芦潮港镇同治村卫生室", _CLINIC, "luchaogang", "30.8641", "121.8488"),
    ("LCG-03", "芦潮港镇塘下村卫生室", _CLINIC, "luchaogang", "30.8689", "121.8632"),
    ("LCG-04", "芦潮港镇新港村卫生室", _CLINIC, "luchaogang", "30.8506", "121.8456"),
    ("LCG-11", "芦潮港镇滴水湖社区卫生服务站", _STATION, "LCG-S1", "30.9050", "121.9340"),
    ("LCG-12", "芦潮港镇临港家园社区卫生服务站", _STATION, "LCG-S1", "30.8942", "121.9211"),
    ("LCG-13", "芦潮港镇海事社区卫生服务站", _STATION, "LCG-S1", "30.8875", "121.9177"),
    ("LCG-14", "芦潮港镇申港社区卫生服务站", _STATION, "LCG-S1", "30.9113", "121.9250"),
    ("SY-01", "书院镇余姚村卫生室", _CLINIC, "shuyuan", "30.9622", "121.8601"),
    ("SY-02", "书院镇新北社区卫生服务站", _STATION, "shuyuan", "30.9545", "121.8730"),
    ("SY-03", "书院镇东场村卫生室", _CLINIC, "shuyuan", "30.9680", "121.8771"),
    ("SY-04", "书院镇四灶村卫生室", _CLINIC, "shuyuan", "30.9503", "121.8617"),
    ("SY-05", "书院镇桃园村卫生室", _CLINIC, "shuyuan", "30.9651", "121.8688"),
    ("SY-11", "书院镇洋溢村卫生室", _CLINIC, "SY-S1", "30.9380", "121.8840"),
    ("SY-12", "书院镇李雪村卫生室", _CLINIC, "SY-S1", "30.9466", "121.8942"),
    ("SY-13", "书院镇黄华村卫生室", _CLINIC, "SY-S1", "30.9349", "121.8911"),
    ("ST-01", "四团镇平安社区卫生服务站", _STATION, "situan", "30.9290", "121.7120"),
    ("ST-02", "四团镇拾村村卫生室", _CLINIC, "situan", "30.9211", "121.7006"),
    ("ST-03", "四团镇渔墩村卫生室", _CLINIC, "situan", "30.9330", "121.6981"),
    ("ST-04", "四团镇三坎村卫生室", _CLINIC, "situan", "30.9187", "121.7154"),
    ("ST-11", "四团镇邵厂社区卫生服务站", _STATION, "ST-S1", "30.9530", "121.7301"),
    ("ST-12", "四团镇横桥村卫生室", _CLINIC, "ST-S1", "30.9588", "121.7232"),
    ("ST-13", "四团镇大桥村卫生室", _CLINIC, "ST-S1", "30.9466", "121.7355"),
    ("ST-14", "四团镇夏家村卫生室", _CLINIC, "ST-S1", "30.9601", "121.7388"),
    ("ST-15", "四团镇团南村卫生室", _CLINIC, "ST-S1", "30.9421", "121.7210"),
]

# name, specialty, phone, on-duty phone, accepts referrals, head
LEAD_DEPARTMENTS = [
    ("心内科（胸痛中心）", Specialty.CARDIOLOGY, "021-38297001", "13901700001", True, "陈立"),
    ("急诊科", Specialty.EMERGENCY, "021-38297120", "13901700120", True, "王海"),
    ("肿瘤科", Specialty.ONCOLOGY, "021-38297003", "13901700003", True, "刘敏"),
    ("新生儿科", Specialty.NEONATOLOGY, "021-38297004", "13901700004", True, "赵燕"),
    ("内分泌科", Specialty.ENDOCRINOLOGY, "021-38297005", "13901700005", True, "孙洁"),
    ("骨科", Specialty.ORTHOPEDICS, "021-38297006", "13901700006", True, "周强"),
    ("神经内科", Specialty.NEUROLOGY, "021-38297007", "13901700007", True, "吴涛"),
    ("医学影像科（影像中心）", Specialty.IMAGING, "021-38297008", "13901700008", False, "郑华"),
    ("检验科（临检中心）", Specialty.LABORATORY, "021-38297009", "13901700009", False, "冯蕾"),
    ("心电诊断中心", Specialty.ELECTROPHYSIOLOGY, "021-38297010", "", False, "许静"),
    ("消毒供应中心", Specialty.STERILIZATION, "021-38297011", "", False, "何平"),
    ("医联体办公室", Specialty.ADMINISTRATION, "021-38297012", "", False, "林晓"),
]
CENTER_DEPARTMENTS = [
    ("全科", Specialty.GENERAL_PRACTICE, True),
    ("内科", Specialty.INTERNAL_MEDICINE, True),
    ("康复科", Specialty.REHABILITATION, True),
    ("中医科", Specialty.TCM, False),
    ("预防保健科", Specialty.OTHER, False),
]
SECONDARY_DEPARTMENTS = [
    ("心内科", Specialty.CARDIOLOGY, True),
    ("急诊科", Specialty.EMERGENCY, True),
]

# Synthetic residents: (name, gender, birth date, home centre or station, signed)
SURNAMES = "张王李赵陈刘杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛"]
HOMES = ["wanxiang", "nicheng", "luchaogang", "shuyuan", "situan", "WX-01", "NC-02", "LCG-01"]

ACCOUNTS = [
    # username, display name, institution code, department name, role
    ("office", "医联体办公室 林晓", LEAD, "医联体办公室", Role.ALLIANCE_OFFICE),
    ("hospital", "临港院区 转诊协调员", LEAD, None, Role.HOSPITAL_STAFF),
    ("wanxiang", "万祥中心 全科医生", "wanxiang", "全科", Role.COMMUNITY_STAFF),
    ("nicheng", "泥城中心 全科医生", "nicheng", "全科", Role.COMMUNITY_STAFF),
    ("luchaogang", "芦潮港中心 全科医生", "luchaogang", "全科", Role.COMMUNITY_STAFF),
    ("shuyuan", "书院中心 全科医生", "shuyuan", "全科", Role.COMMUNITY_STAFF),
    ("situan", "四团平安中心 全科医生", "situan", "全科", Role.COMMUNITY_STAFF),
    ("bureau", "浦东新区卫健委 统计科", "bureau", None, Role.BUREAU_VIEWER),
    ("lab", "临检中心 检验技师", LEAD, "检验科（临检中心）", Role.CENTER_STAFF),
    ("imaging", "影像中心 放射科医生", LEAD, "医学影像科（影像中心）", Role.CENTER_STAFF),
    ("cssd", "消毒供应中心 护士", LEAD, "消毒供应中心", Role.CENTER_STAFF),
    ("auditor", "临港院区 信息科 安全审计员", LEAD, None, Role.SECURITY_AUDITOR),
    ("nicheng_admin", "泥城中心 信息管理员", "nicheng", None, Role.COMMUNITY_STAFF),
]
# Keep their institution's departments and contact cards (and those of its stations).
INSTITUTION_ADMINS = {"nicheng_admin"}


# An identity number keeps the region code of the office that issued it, for life: many elderly
# residents still carry codes that GB/T 2260 has since abolished (南汇县 310225 until 2001, 奉贤县
# 310226, 南汇区 310119 until 2009, 卢湾区 310103, 闸北区 310108).
ISSUING_REGIONS = {
    "310115": ["310115", "310225", "310119", "310103", "310108", "310115"],
    "310120": ["310120", "310226"],
}


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
