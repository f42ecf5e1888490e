"""Units and label separators follow the reader's language (issue 15: `18.1 小时`, `状态：`)."""

from django.template import Context, Template
from django.utils import translation

TEMPLATE = Template(
    "{% load units %}{{ h|hours }}|{{ m|minutes }}|状态{% colon %}x|{{ none|hours }}"
)


def render(language: str) -> str:
    with translation.override(language):
        return TEMPLATE.render(Context({"h": "18.1", "m": "23.6", "none": None}))


def test_chinese_reads_hours_minutes_and_a_full_width_colon():
    assert render("zh-hans") == "18.1 小时|23.6 分钟|状态：x|—"


def test_english_keeps_the_short_units_and_a_colon_with_a_space():
    assert render("en") == "18.1 h|23.6 min|状态: x|—"
