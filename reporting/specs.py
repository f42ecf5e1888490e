"""What each kind of fact file holds (`Spec`): its columns in template order, each with its cell
parser, the model fields the row fills, how the preview sums a month; and the names hospital
exports give the columns (`ALIASES`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import models

from .choices import FactKind, VisitType
from .models import BedCapacity, InpatientStay, OutpatientVisit, ReferralCount


@dataclass(frozen=True)
class Column:
    name: str
    parse: str  # name of the cell parser: text, code, date, visit_type, count, beds, cost
    required: bool = True
    default: object = None


@dataclass(frozen=True)
class Spec:
    """One kind of file: its columns (in template order) and the model fields they fill.

    Rows become tuples in column order, the institution's id first and the rest of the
    natural key second; `span` names the columns whose years a row touches (end: None is today).
    The preview sums `amount` (None: counts rows) per institution and month of `month`.
    """

    kind: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    fields: tuple[str, ...]
    span: tuple[int, int | None]
    month: str = ""
    amount: str | None = None
    keys: int = 2  # the natural key: the institution and the next `keys - 1` fields

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def model_fields(self) -> dict[str, models.Field]:
        """The model's fields by column name (institution_id ...), in the spec's order."""
        by_column = {field.column: field for field in self.model._meta.concrete_fields}
        return {name: by_column[name] for name in self.fields}

    @property
    def key_fields(self) -> tuple[str, ...]:
        return self.fields[: self.keys]


def _specs() -> dict[str, Spec]:
    code = Column("institution_code", "code")
    return {
        FactKind.VISITS: Spec(
            FactKind.VISITS,
            OutpatientVisit,
            (
                code,
                Column("record_id", "text"),
                Column("visit_date", "date"),
                Column("visit_type", "visit_type", False, VisitType.OUTPATIENT.value),
                Column("department", "text", False, ""),
                Column("visit_count", "count", False, 1),
                Column("total_cost", "cost"),
            ),
            (
                "institution_id",
                "record_id",
                "visit_date",
                "visit_type",
                "department",
                "visit_count",
                "total_cost",
            ),
            span=(2, 2),
            month="visit_date",
            amount="visit_count",
        ),
        FactKind.STAYS: Spec(
            FactKind.STAYS,
            InpatientStay,
            (
                code,
                Column("stay_id", "text"),
                Column("admit_date", "date"),
                Column("discharge_date", "date", False),
                Column("department", "text", False, ""),
                Column("total_cost", "cost"),
            ),
            (
                "institution_id",
                "stay_id",
                "admit_date",
                "discharge_date",
                "department",
                "total_cost",
            ),
            span=(2, 3),
            month="discharge_date",
        ),
        FactKind.BEDS: Spec(
            FactKind.BEDS,
            BedCapacity,
            (code, Column("effective_from", "date"), Column("open_beds", "beds")),
            ("institution_id", "effective_from", "open_beds"),
            span=(1, None),
            month="effective_from",
            amount="open_beds",
        ),
        # Monthly counts from the hospital's own records, for the months before the platform.
        FactKind.REFERRALS: Spec(
            FactKind.REFERRALS,
            ReferralCount,
            (
                code,
                Column("month", "month"),
                Column("direction", "direction"),
                Column("to_institution_code", "text", False, ""),
                Column("count", "beds"),
            ),
            ("institution_id", "month", "direction", "to_institution_code", "count"),
            span=(1, 1),
            month="month",
            amount="count",
            keys=4,
        ),
    }


SPECS = _specs()

# The names hospital systems (HIS, 病案, 统计报表) give the columns, best first: a file naming
# two of them keeps the better one and ignores the other (with a warning). Compared after
# normalize_name: full-width folded, spaces and a unit in brackets dropped, lower case.
ALIASES: dict[str, tuple[str, ...]] = {
    "institution_code": (
        "机构编码",
        "机构代码",
        "医疗机构编码",
        "医疗机构代码",
        "机构编号",
        "组织机构代码",
        "单位编码",
        "医院编码",
        "code",
    ),
    "record_id": (
        "就诊流水号",
        "门诊号",
        "门诊流水号",
        "就诊号",
        "就诊编号",
        "挂号流水号",
        "流水号",
        "就诊id",
    ),
    "visit_date": ("就诊日期", "就诊时间", "门诊日期", "挂号日期", "看诊日期", "日期"),
    "visit_type": ("就诊类型", "门急诊类型", "门诊类型", "门急诊", "类型"),
    "department": ("科室", "就诊科室", "科室名称", "门诊科室", "出院科室", "住院科室"),
    "visit_count": ("人次", "就诊人次", "门急诊人次", "门诊人次", "次数"),
    "total_cost": ("总费用", "医疗总费用", "费用合计", "总金额", "费用", "金额"),
    "stay_id": ("住院号", "住院流水号", "住院编号", "住院就诊号", "病案号"),
    "admit_date": ("入院日期", "入院时间"),
    "discharge_date": ("出院日期", "出院时间"),
    "effective_from": ("生效日期", "启用日期", "起始日期", "开始日期", "日期"),
    "open_beds": ("开放床位数", "实际开放床位数", "实际开放床位", "开放床位", "床位数"),
    "month": ("月份", "统计月份", "年月", "转诊月份"),
    "direction": ("转诊方向", "方向", "转诊类型"),
    "to_institution_code": ("接收机构编码", "转入机构编码", "接诊机构编码", "目标机构编码"),
    "count": ("转诊人次", "人次", "例数", "数量"),
}


UNIT_SUFFIX = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]$")


def normalize_name(name: str) -> str:
    """A header cell as compared with the column names: 'Visit_Date ', '总费用（元）' → ..."""
    name = unicodedata.normalize("NFKC", name).replace("\ufeff", "")
    name = UNIT_SUFFIX.sub("", "".join(name.split())).strip().lower()
    return name


def alias_table(spec: Spec) -> dict[str, tuple[str, int]]:
    """Normalized name → (column, rank); the column's own name ranks first."""
    table: dict[str, tuple[str, int]] = {}
    for column in spec.columns:
        for rank, alias in enumerate((column.name, *ALIASES.get(column.name, ()))):
            table.setdefault(normalize_name(alias), (column.name, rank))
    return table


ALIAS_TABLES = {kind: alias_table(spec) for kind, spec in SPECS.items()}
