"""The demo alliance's tables: districts, institutions, sub-centers, stations, departments, demo
accounts and where synthetic residents live and had their identity numbers issued."""

from __future__ import annotations

from ..choices import InstitutionKind, Role, Specialty

DEMO_PASSWORD = "alliance-demo"  # noqa: S105 - documented demo password, demo data only

DISTRICTS = [
    ("310115", "浦东新区", 5681512),
    ("310120", "奉贤区", 1140872),
    ("330922", "嵊泗县", 69000),
    ("330921", "岱山县", 178000),
]


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
