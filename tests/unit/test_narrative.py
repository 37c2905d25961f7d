"""The history as sentences, no database: every event type has one, in Korean and
English, with Seoul times, names with organizations, delegates, and amounts as people
write them; and the record's rules (decisions, reasons, why waitlisted)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from workflow.domain import events as ev
from workflow.domain.budget import Envelope
from workflow.domain.record import decisions_of, reasons_of, why_waitlisted
from workflow.entrypoints.narrative import PHRASES, Narrator, covered, fields_of

NAMES = {
    "people": {
        "kim@paju.go.kr": {"name": "김민지", "org": "city"},
        "park@paju.go.kr": {"name": "박준호", "org": "city"},
        "coord@munsan.hs.kr": {"name": "이수진", "org": "munsan-high"},
    },
    "orgs": {"city": "파주시", "education_office": "교육지원청", "munsan-high": "문산고"},
}
KO, EN = Narrator("ko", NAMES), Narrator("en", NAMES)
AT = "2026-03-04T05:00:00.000000+00:00"  # 14:00 in Seoul


def event(type_: str, actor: str = "kim@paju.go.kr", **data: object) -> dict[str, object]:
    return {"seq": 1, "type": type_, "actor": actor, "at": AT, "data": data}


def well_known_types() -> set[str]:
    return {v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str) and k not in
            ("SYSTEM", "OPERATOR")} - {ev.program_stream.__name__}  # fmt: skip


def recorded_by_definitions() -> set[str]:
    found = set()
    for path in WORKFLOWS_DIR.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        found |= {t["records"] for t in raw["transitions"]}
    return found


@pytest.mark.parametrize("type_", sorted(well_known_types() | recorded_by_definitions()))
def test_every_event_type_has_a_sentence_in_both_languages(type_: str) -> None:
    assert covered(type_), f"no sentence for {type_}: add it to narrative.PHRASES"
    for tell in (KO, EN):
        sentence = tell.sentence(event(type_))
        assert type_ not in sentence and "{" not in sentence and "=" not in sentence


def test_the_phrases_use_only_the_fields_the_narrator_fills() -> None:
    known = set(KO._fields({}))
    for type_, pair in PHRASES.items():
        for template in pair:
            assert fields_of(template) <= known, (type_, template)


def test_a_sentence_is_seoul_time_then_the_person_and_organization_then_the_verb() -> None:
    changes = event(ev.CHANGES_REQUESTED, party="city", comment="예산 내역 보완 바람", round=1)

    assert KO.line(changes) == "2026-03-04 14:00 김민지(파주시) 보완 요청: 예산 내역 보완 바람"
    assert EN.line(changes) == (
        "2026-03-04 14:00 김민지 (파주시) asked for changes: 예산 내역 보완 바람"
    )


def test_a_delegate_is_named_with_whom_they_acted_for() -> None:
    approved = event(ev.PARTY_APPROVED, "park@paju.go.kr", party="city",
                     acting_for="kim@paju.go.kr")  # fmt: skip

    assert KO.sentence(approved) == "박준호(파주시, 김민지 대결) 승인"
    assert EN.sentence(approved) == "박준호 (파주시, for 김민지) approved"


def test_the_party_is_named_when_the_person_is_not_of_it() -> None:
    held = event(ev.BUDGET_HELD, ev.SYSTEM, party="city", amount=80_000_000, year=2026)

    assert KO.sentence(held) == "시스템 파주시 예산 8,000만 원 가확보"
    assert EN.sentence(held) == "The system held ₩80,000,000 for 파주시"


def test_amounts_are_written_as_people_write_them() -> None:
    created = event(ev.PROGRAM_CREATED, "coord@munsan.hs.kr", title="연계 프로그램",
                    requests={"city": 80_000_000, "education_office": 1_930_000_000})  # fmt: skip
    disbursed = event(ev.FUNDS_DISBURSED, party="city", amount=12_345_678, tranche=2, memo="")

    assert KO.sentence(created) == (
        "이수진(문산고) 제안 작성: 연계 프로그램 — "
        "요청 파주시 8,000만 원, 교육지원청 19억 3,000만 원"
    )
    assert KO.sentence(disbursed) == "김민지(파주시) 2차 집행 1,234만 5,678원"


def test_the_waitlisting_sentence_says_which_funder_and_how_much_is_missing() -> None:
    short = {"party": "education_office", "requested": 100_000_000, "available": 40_000_000,
             "missing": 60_000_000, "has_envelope": True}  # fmt: skip
    unavailable = event(ev.BUDGET_UNAVAILABLE, ev.SYSTEM, year=2026, short=[short])

    assert KO.shortfall(short) == (
        "교육지원청 예산 부족: 요청 1억 원, 가용 4,000만 원 — 6,000만 원 부족"
    )
    assert "교육지원청 예산 부족: 요청 1억 원" in KO.sentence(unavailable)
    assert EN.shortfall({**short, "has_envelope": False, "available": 0}) == (
        "교육지원청 has no budget for the year: requested ₩100,000,000"
    )


def test_events_from_before_the_numbers_were_recorded_still_read() -> None:
    old = event(ev.BUDGET_UNAVAILABLE, ev.SYSTEM, shortfalls=["education_office: requested 1"])

    assert KO.sentence(old) == "시스템 가확보 실패 — education_office: requested 1"


def test_times_are_seoul_wall_clock_whatever_the_offset_given() -> None:
    assert KO.when(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == "2027-01-01 00:00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", KO.when(AT))


def test_unknown_people_and_organizations_show_as_given() -> None:
    tell = Narrator("ko")

    assert tell.sentence(event(ev.PROGRAM_SUBMITTED, "x@y.kr")) == "x@y.kr 제출"
    assert tell.org("nowhere") == "nowhere"


# -- the record's rules --------------------------------------------------------------


def test_decisions_are_those_of_the_current_round_with_who_when_and_for_whom() -> None:
    history = [
        event(ev.CHANGES_REQUESTED, party="city", comment="보완", round=1),
        event(
            ev.PARTY_APPROVED,
            "park@paju.go.kr",
            party="city",
            comment="",
            round=2,
            acting_for="kim@paju.go.kr",
        ),  # fmt: skip
    ]

    assert decisions_of(history, 2) == {
        "city": {
            "decision": "approved",
            "by": "park@paju.go.kr",
            "at": AT,
            "comment": "",
            "acting_for": "kim@paju.go.kr",
        }  # fmt: skip
    }
    assert decisions_of(history, 1)["city"]["decision"] == "changes_requested"


def test_reasons_are_every_setback_that_came_with_words() -> None:
    history = [
        event(ev.CHANGES_REQUESTED, party="city", comment="예산 보완", round=1),
        event(ev.PARTY_APPROVED, party="city", comment="좋음", round=2),
        event(ev.PARTY_REJECTED, party="education_office", comment="", round=2),
        event(ev.PROGRAM_CANCELLED, "admin@x.kr", reason="학생 모집 불가"),
    ]

    assert [(r["kind"], r["text"]) for r in reasons_of(history)] == [
        ("changes_requested", "예산 보완"),
        ("cancelled", "학생 모집 불가"),
    ]


def test_why_waitlisted_is_the_holding_rule_asked_of_the_ledger_now() -> None:
    requests = {"city": 80_000_000, "education_office": 100_000_000}
    envelopes = {
        "city": Envelope("city", 2026, 1_930_000_000),
        "education_office": Envelope("education_office", 2026, 530_000_000, held=490_000_000),
    }

    short = why_waitlisted("waitlisted", requests, envelopes)

    assert [(x.party, x.requested, x.available, x.missing) for x in short] == [
        ("education_office", 100_000_000, 40_000_000, 60_000_000)
    ]
    assert why_waitlisted("in_review", requests, envelopes) == []
    assert why_waitlisted("waitlisted", requests, {})[0].has_envelope is False
