"""The domain's rules for what people type: text limits, and the one reading of amounts."""

from __future__ import annotations

import pytest

from workflow.domain.errors import InvalidInput
from workflow.domain.money import parse_krw
from workflow.domain.text import (
    TEXT_MAX,
    TITLE_MAX,
    check_line,
    check_text,
    recorded,
    shown,
    storable,
)


def test_a_line_at_its_limit_is_kept_as_given_and_one_more_is_refused() -> None:
    assert check_line(" 제목 " + "x" * (TITLE_MAX - 4), "title", TITLE_MAX).startswith(" 제목")
    with pytest.raises(InvalidInput, match="title is 301 characters long; at most 300 are kept"):
        check_line("x" * (TITLE_MAX + 1), "title", TITLE_MAX)


@pytest.mark.parametrize("value", ["a\nb", "a\tb", "a\rb", "a\x1bb", "a\x85b", "a\u2028b"])
def test_a_line_holds_no_control_characters(value: str) -> None:
    with pytest.raises(InvalidInput, match="title must not hold line breaks"):
        check_line(value, "title", TITLE_MAX)


def test_text_written_at_length_may_hold_line_breaks_and_tabs_but_no_other_control() -> None:
    assert check_text("one\r\ntwo\tthree", "comment") == "one\r\ntwo\tthree"
    with pytest.raises(InvalidInput, match="comment must not hold control characters"):
        check_text("bell\x07", "comment")
    with pytest.raises(InvalidInput, match="at most 10,000"):
        check_text("x" * (TEXT_MAX + 1), "comment")


@pytest.mark.parametrize("value", ["a\x00b", "\udcff", "x\ud800y"])
def test_text_no_database_can_keep_is_refused(value: str) -> None:
    assert not storable(value)
    with pytest.raises(InvalidInput, match="holds characters that are not valid text"):
        check_text(value, "memo")


def test_blank_is_refused_only_where_text_is_required() -> None:
    assert check_text("  ", "memo") == "  "
    with pytest.raises(InvalidInput, match="name must not be empty"):
        check_line(" \u3000 ", "name", 200)


def test_a_refusal_repeats_only_the_start_of_a_long_value() -> None:
    assert shown("x" * 1000) == repr("x" * 40) + "... (1,000 characters)"
    assert shown("short") == "'short'"


def test_the_audit_log_keeps_unchecked_text_escaped_and_cut_to_fit() -> None:
    assert recorded("coord@munsan-high.kr", 254) == "coord@munsan-high.kr"
    assert recorded("a\x00b\udcff", 254) == "a\\x00b\\udcff"
    assert recorded("x" * 300, 254) == "x" * 253 + "…"


@pytest.mark.parametrize("text", ["1_0_", "1_0", "_10", "1,0000", "1_000,000", "1__000", "1,,000"])
def test_thousands_separators_only_between_groups_of_three(text: str) -> None:
    with pytest.raises(InvalidInput, match="whole number of KRW"):
        parse_krw(text)


def test_a_number_of_thousands_of_digits_is_refused_not_read() -> None:
    with pytest.raises(InvalidInput, match="whole number of KRW"):
        parse_krw("9" * 5000)
