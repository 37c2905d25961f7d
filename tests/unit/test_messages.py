"""What people read (issue 14): amounts and days as people write them, the rules as data,
preferences, and the templates in both languages with their links."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.adapters.templates import TEMPLATES_DIR, TemplateRenderer
from workflow.domain import messaging as m
from workflow.domain.directory import LOCALES
from workflow.domain.errors import InvalidInput
from workflow.domain.money import spell_krw
from workflow.domain.notices import HOLDS_EXPIRED, WAITLISTED

BASE = "https://jointflow.paju.go.kr"
renderer = TemplateRenderer(BASE + "/")


@pytest.mark.parametrize(
    ("amount", "ko", "en"),
    [
        (80_000_000, "8,000만 원", "₩80,000,000"),
        (1_850_000_000, "18억 5,000만 원", "₩1,850,000,000"),
        (2_460_000_000, "24억 6,000만 원", "₩2,460,000,000"),
        (1_930_000_000, "19억 3,000만 원", "₩1,930,000,000"),
        (100_000_000, "1억 원", "₩100,000,000"),
        (12_500, "1만 2,500원", "₩12,500"),
        (500, "500원", "₩500"),
        (10_000, "1만 원", "₩10,000"),
        (100_000_001, "1억 1원", "₩100,000,001"),
        (1_234_500_006_789, "1조 2,345억 6,789원", "₩1,234,500,006,789"),
        (9_999_999_999_999, "9조 9,999억 9,999만 9,999원", "₩9,999,999,999,999"),
        (0, "0원", "₩0"),
        (-30_000_000, "-3,000만 원", "-₩30,000,000"),
    ],
)
def test_amounts_are_spelled_as_people_write_them(amount: int, ko: str, en: str) -> None:
    assert spell_krw(amount, "ko") == ko
    assert spell_krw(amount, "en") == en


def test_days_are_spelled_without_the_year() -> None:
    assert m.spell_day(date(2026, 12, 15), "ko") == "12월 15일"
    assert m.spell_day(date(2026, 3, 1), "en") == "1 March"


def test_every_rule_names_a_known_kind_recipient_and_template_in_both_languages() -> None:
    for rule in m.RULES:
        assert rule.kind in m.KINDS and rule.recipients in m.RECIPIENTS, rule
        for locale in LOCALES:
            assert (TEMPLATES_DIR / locale / f"{rule.template}.j2").is_file(), (rule, locale)
    assert {r.kind for r in m.RULES} == set(m.KINDS)  # no kind nobody is ever sent


def test_a_decision_tells_the_coordinator_and_an_approval_the_budget_officers_too() -> None:
    assert [(r.recipients, r.kind) for r in m.rules_for("ProgramApproved")] == [
        (m.COORDINATOR, m.DECISION),
        (m.FUNDER_OFFICERS, m.COMMIT_DUE),
    ]
    assert {r.recipients for r in m.rules_for(WAITLISTED)} == {m.COORDINATOR, m.NOTICE_OFFICERS}
    assert m.rules_for("ProgramUpdated") == ()


def test_preferences_choose_channels_and_required_kinds_cannot_be_switched_off() -> None:
    assert m.check_preference(m.REVIEW_REQUEST, m.parse_channels("inapp, email")) == (
        "email",
        "inapp",
    )
    assert m.check_preference(m.REVIEW_REQUEST, m.parse_channels("none")) == ()
    assert m.check_preference(m.DECISION, m.parse_channels("inapp")) == ("inapp",)
    with pytest.raises(InvalidInput, match="decision messages are required"):
        m.check_preference(m.DECISION, m.parse_channels("off"))
    with pytest.raises(InvalidInput, match="unknown kind of message 'gossip'"):
        m.check_preference("gossip", ("email",))
    with pytest.raises(InvalidInput, match="unknown channel.*sms"):
        m.parse_channels("email,sms")
    assert m.channels_for(m.DECISION, None) == ("email", "inapp")


PROGRAM = {"id": 7, "title": "진로 멘토링", "org": "Munsan High School"}


def test_a_review_request_reads_as_the_issue_writes_it_in_korean_and_english() -> None:
    context = {
        "to": {"name": "이수진", "email": "lee@paju.go.kr"},
        "program": PROGRAM,
        "party": "Paju City",
        "amount": 80_000_000,
        "due": date(2026, 12, 15),
        "path": m.program_path(7),
    }
    ko = renderer.render("review_request", "ko", context)
    assert ko.subject == "[jointflow] 검토 요청: 진로 멘토링 — 8,000만 원, 마감 12월 15일"
    assert f"검토하기: {BASE}/programs/7" in ko.text
    assert f'<a href="{BASE}/programs/7">검토하기</a>' in ko.html
    en = renderer.render("review_request", "en", context)
    assert en.subject == "[jointflow] Review requested: 진로 멘토링 — ₩80,000,000, due 15 December"
    assert f"Review it: {BASE}/programs/7" in en.text
    assert "jointflow inbox" not in ko.text + en.text


def test_html_is_escaped_and_plain_text_is_not() -> None:
    context = {
        "to": {"name": "Kim", "email": "kim@munsan.hs.kr"},
        "program": {**PROGRAM, "title": "Robots <script>"},
        "party": "Paju City",
        "actor": "Lee Sujin",
        "acting_for": "Kang Hyewon",
        "comment": "Add the <budget> table",
        "path": m.program_path(7),
    }
    sent = renderer.render("changes_requested", "en", context)
    assert sent.subject == "[jointflow] Changes requested: Robots <script>"
    assert "Add the <budget> table" in sent.text
    assert "By: Lee Sujin (for Kang Hyewon)" in sent.text
    assert "Robots &lt;script&gt;" in sent.html and "<script>" not in sent.html
    assert "Add the &lt;budget&gt; table" in sent.html


def test_an_unknown_locale_reads_korean_and_a_missing_value_is_an_error() -> None:
    context = {"to": {"name": "Kim"}, "program": PROGRAM, "path": m.program_path(7), "amount": 1}
    assert renderer.render("program_funded", "fr", context).subject.startswith(
        "[jointflow] 예산 확정 완료"
    )
    del context["amount"]
    with pytest.raises(Exception, match="'amount' is undefined"):
        renderer.render("program_funded", "ko", context)


def test_budget_notices_say_what_happened_in_both_languages() -> None:
    items = [
        {
            "program": 25,
            "title": "Mentoring",
            "what": WAITLISTED,
            "year": 2026,
            "details": ["education_office has no envelope for the year"],
        },
        {
            "program": 21,
            "title": "Career fair",
            "what": HOLDS_EXPIRED,
            "year": 2026,
            "details": ["2026-06-05"],
        },
    ]
    context = {"to": {"name": "Kim"}, "items": items, "path": m.program_path(25)}
    en = renderer.render("budget_notice", "en", context)
    assert en.subject == "[jointflow] 2 budget notices"
    assert (
        "- #25 Mentoring: waitlisted: no room in the 2026 envelope (education_office has "
        "no envelope for the year)" in en.text
    )
    assert "- #21 Career fair: its holds lapsed on 2026-06-05 and were released" in en.text
    ko = renderer.render("budget_notice", "ko", {**context, "items": items[:1]})
    assert ko.subject == (
        "[jointflow] 예산 알림: Mentoring — 2026년 예산 부족으로 대기 중 "
        "(education_office has no envelope for the year)"
    )
    assert f"자세히: {BASE}/programs/25" in ko.text
