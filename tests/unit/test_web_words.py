"""The pages' words and numbers without a server: every key a template asks for exists in
both languages, and an amount as people write it reads back as the same won."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain.errors import InvalidInput
from workflow.domain.messaging import KINDS, PERSON_CHANNELS
from workflow.domain.money import MAX_AMOUNT, parse_krw, spell_krw
from workflow.entrypoints.web.i18n import WORDS, Words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workflow" / "entrypoints" / "web" / "templates"
WORKFLOWS = ROOT / "config" / "workflows"


def test_every_word_a_template_asks_for_is_in_the_catalogue() -> None:
    asked = set()
    for template in TEMPLATES.glob("*.html"):
        asked |= set(re.findall(r"_\('([a-z_]+)'[,)]", template.read_text()))
    # and the task kinds the definitions name, shown as ``kind_<task>``
    for definition in WORKFLOWS.glob("*.yaml"):
        asked |= {f"kind_{k}" for k in re.findall(r"task: ([a-z_]+)", definition.read_text())}
    asked |= {f"msg_{kind}" for kind in KINDS} | {f"channel_{ch}" for ch in PERSON_CHANNELS}
    assert asked and not asked - set(WORDS), asked - set(WORDS)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT - 1))
def test_an_amount_spelled_for_people_reads_back_the_same(amount: int) -> None:
    assert parse_krw(spell_krw(amount, "ko")) == amount
    assert parse_krw(spell_krw(amount, "en")) == amount
    assert parse_krw(f"{amount:,}") == amount


@pytest.mark.parametrize("typed", ["1_0_", "팔천만", "8000만 3억", "1,0000", "-5", "", "0"])
def test_an_amount_people_could_not_mean_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_krw(typed)


def test_times_are_seoul_times_in_each_language() -> None:
    moment = datetime(2026, 2, 2, 0, 30, tzinfo=UTC)
    assert Words("ko").when(moment) == "2026년 2월 2일 09:30"
    assert Words("en").when(moment) == "2 February 2026, 09:30"
    assert Words("ko").krw(1_850_000_000) == "18억 5,000만 원"
    assert Words("en").krw(80_000_000) == "₩80,000,000"


def test_the_pages_word_a_refusal_in_the_readers_language() -> None:
    from workflow.domain.errors import NotFound

    err = NotFound("program 4 does not exist", reason="no_program", program=4)
    assert Words("ko").refusal(err) == "사업 4이(가) 없습니다"
    assert Words("en").refusal(err) == "program 4 does not exist"
    assert Words("ko").refusal("a sentence already made") == "a sentence already made"
