"""Workflow definitions are validated with errors that name the offending state or field.

Also the other pure rules every definition's programs rely on: KRW amounts
(``domain.money``) and the audit log's hash chain (``domain.audit``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from workflow.domain import events as ev
from workflow.domain.audit import (
    GENESIS,
    ChainBreak,
    EventRecord,
    canonical_json,
    event_hash,
    verify_stream,
)
from workflow.domain.definition import WorkflowDefinition, parse_definition
from workflow.domain.errors import DefinitionError, InvalidInput
from workflow.domain.machine import GUARDS, WorkflowMachine
from workflow.domain.money import MAX_AMOUNT, check_amount, format_krw, parse_krw
from workflow.domain.program import Program, ProgramContent

RAW = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))


def raw() -> dict[str, Any]:
    """A fresh, mutable copy of the default definition's data."""
    return copy.deepcopy(RAW)


def problems_of(data: Any) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data, "test.yaml", GUARDS)
    assert str(refused.value).startswith("test.yaml: ")
    return refused.value.problems


def transition(data: dict[str, Any], trigger: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in data["transitions"] if t["trigger"] == trigger)
    return found


# -- the default definition --


def test_the_default_definition_is_valid_with_the_city_and_the_office_of_education() -> None:
    definition = parse_definition(raw(), "joint-program.yaml", GUARDS)
    assert definition.key == "joint-program"
    assert definition.version == 4
    assert definition.hold_expiry_days == 120
    assert definition.states["in_review"].task == "review"
    assert definition.states["approved"].task == "commit_funds"
    assert definition.party_keys == ("city", "education_office")
    assert definition.initial == "draft"
    assert "linkage" in definition.categories
    assert definition.states["in_review"].role == "approver"
    assert definition.states["in_review"].sla_days == 10
    assert definition.actor_of("hold") == "system"


# -- states --


def test_an_unknown_source_state_is_named() -> None:
    data = raw()
    transition(data, "submit")["source"] = "limbo"
    assert "transitions[0] (submit): unknown source state 'limbo'" in problems_of(data)


def test_an_unknown_destination_state_is_named() -> None:
    data = raw()
    transition(data, "reject")["dest"] = "shredded"
    assert "transitions[5] (reject): unknown destination state 'shredded'" in problems_of(data)


def test_an_unknown_initial_state_is_named() -> None:
    data = raw()
    data["initial"] = "idea"
    assert "initial: unknown state 'idea'" in problems_of(data)


def test_an_unreachable_state_is_named() -> None:
    data = raw()
    data["states"]["archived"] = {"type": "final"}
    assert problems_of(data) == ["state 'archived': unreachable from the initial state 'draft'"]


def test_a_non_final_state_with_no_way_out_is_a_dead_end() -> None:
    data = raw()
    data["states"]["parked"] = {"type": "system"}
    data["transitions"].append(
        {
            "trigger": "park",
            "source": "waitlisted",
            "dest": "parked",
            "actor": "system",
            "records": "ProgramParked",
        }
    )
    assert problems_of(data) == ["state 'parked': dead end (not final and no transition leaves it)"]


def test_a_cycle_with_no_way_to_a_final_state_is_a_dead_end() -> None:
    data = raw()
    data["states"]["limbo_a"] = {"type": "system"}
    data["states"]["limbo_b"] = {"type": "system"}
    data["transitions"] += [
        {
            "trigger": "drift",
            "source": "approved",
            "dest": "limbo_a",
            "actor": "system",
            "records": "ProgramDrifted",
        },
        {
            "trigger": "drift",
            "source": "limbo_a",
            "dest": "limbo_b",
            "actor": "system",
            "records": "ProgramDrifted",
        },
        {
            "trigger": "drift_back",
            "source": "limbo_b",
            "dest": "limbo_a",
            "actor": "system",
            "records": "ProgramDrifted",
        },
    ]
    assert sorted(problems_of(data)) == [
        "state 'limbo_a': dead end (no final state can be reached from it)",
        "state 'limbo_b': dead end (no final state can be reached from it)",
    ]


def test_a_final_state_may_not_have_a_way_out() -> None:
    data = raw()
    data["transitions"].append(
        {
            "trigger": "reopen",
            "source": "rejected",
            "dest": "draft",
            "actor": "admin",
            "records": "ProgramReopened",
        }
    )
    assert problems_of(data) == ["state 'rejected': a final state cannot have outgoing transitions"]


def test_a_definition_without_any_final_state_is_refused() -> None:
    data = raw()
    for name, spec in data["states"].items():
        if spec.get("type") == "final":
            data["states"][name] = {"type": "system"}
    problems = problems_of(data)
    assert "states: at least one state must have type 'final'" in problems


def test_an_unknown_state_type_is_named() -> None:
    data = raw()
    data["states"]["submitted"] = {"type": "automatic"}
    assert any(
        p.startswith("state 'submitted': unknown type 'automatic'") for p in problems_of(data)
    )


# -- human steps: a role and an SLA --


def test_a_human_step_without_a_role_is_named() -> None:
    data = raw()
    del data["states"]["draft"]["role"]
    assert problems_of(data) == ["state 'draft': a human step needs a role, got None"]


def test_a_human_step_with_an_unknown_role_is_named() -> None:
    data = raw()
    data["states"]["in_review"]["role"] = "mayor"
    assert problems_of(data) == ["state 'in_review': a human step needs a role, got 'mayor'"]


@pytest.mark.parametrize("sla", [None, 0, -3, True, "10", 2.5])
def test_a_human_step_without_a_whole_positive_sla_is_named(sla: object) -> None:
    data = raw()
    if sla is None:
        del data["states"]["revision_requested"]["sla_days"]
    else:
        data["states"]["revision_requested"]["sla_days"] = sla
    assert problems_of(data) == [
        f"state 'revision_requested': a human step needs sla_days >= 1, got {sla!r}"
    ]


# -- transitions: guards, events, actors --


def test_an_unknown_guard_is_named_with_its_transition() -> None:
    data = raw()
    transition(data, "approve")["when"] = "moon_is_full"
    assert problems_of(data) == ["transitions[3] (approve): unknown guard 'moon_is_full' in 'when'"]


def test_an_unknown_unless_guard_is_named_too() -> None:
    data = raw()
    data["transitions"][7]["unless"] = "holds_are_nice"
    assert problems_of(data) == [
        "transitions[7] (resubmit): unknown guard 'holds_are_nice' in 'unless'"
    ]


def test_a_transition_that_records_no_event_is_named() -> None:
    data = raw()
    del transition(data, "withdraw")["records"]
    assert problems_of(data) == [
        "transitions[16] (withdraw): 'records' must name the event it records, got None"
    ]


def test_an_event_name_must_be_a_past_tense_type_name() -> None:
    data = raw()
    transition(data, "submit")["records"] = "program submitted"
    assert problems_of(data) == [
        "transitions[0] (submit): 'records' must name the event it records, got 'program submitted'"
    ]


def test_an_unknown_actor_is_named() -> None:
    data = raw()
    transition(data, "reject")["actor"] = "janitor"
    assert problems_of(data) == [
        "transitions[5] (reject): actor must be a role or 'system', got 'janitor'"
    ]


def test_a_transition_without_a_trigger_is_named() -> None:
    data = raw()
    del data["transitions"][1]["trigger"]
    assert "transitions[1]: needs a 'trigger'" in problems_of(data)


# -- parties --


def test_a_party_listed_twice_is_named() -> None:
    data = raw()
    data["parties"].append({"key": "city", "name": "Paju City again", "role": "approver"})
    assert problems_of(data) == ["parties[2]: party 'city' is listed twice"]


@pytest.mark.parametrize("parties", [[], None, "city"])
def test_a_definition_without_parties_is_refused(parties: object) -> None:
    data = raw()
    data["parties"] = parties
    assert problems_of(data) == ["parties: at least one approving party is required"]


def test_a_party_without_a_key_or_with_an_unknown_role_is_named() -> None:
    data = raw()
    data["parties"] += [{"name": "Nameless"}, {"key": "university", "role": "rector"}]
    assert problems_of(data) == [
        "parties[2]: needs a 'key'",
        "parties[3] (university): unknown role 'rector'",
    ]


def test_a_request_from_a_party_the_definition_does_not_have_is_refused() -> None:
    definition = parse_definition(raw(), "joint-program.yaml", GUARDS)
    content = ProgramContent(
        title="Linkage",
        category="linkage",
        fiscal_year=2026,
        requests={"city": 1_000_000, "university": 5_000_000},
    )
    with pytest.raises(
        InvalidInput,
        match=r"'university' is not a party of workflow "
        r"joint-program \(parties: city, education_office\)",
    ):
        Program.create(definition, "munsan-high", content, "coord@munsan-high.kr")


def test_an_unknown_category_is_refused_with_the_known_ones() -> None:
    definition = parse_definition(raw(), "joint-program.yaml", GUARDS)
    content = ProgramContent(
        title="Robots", category="robotics", fiscal_year=2026, requests={"city": 1_000_000}
    )
    with pytest.raises(
        InvalidInput,
        match=r"unknown category 'robotics' \(known: linkage, "
        r"career-guidance, creative-experience",
    ):
        Program.create(definition, "munsan-high", content, "coord@munsan-high.kr")


# -- the file as a whole --


def test_every_problem_is_reported_in_one_pass() -> None:
    data = raw()
    data["version"] = 0
    del data["states"]["draft"]["sla_days"]
    transition(data, "reject")["actor"] = "janitor"
    data["parties"].append({"key": "city"})
    assert len(problems_of(data)) == 4


@pytest.mark.parametrize("version", [0, -1, "1", True, None])
def test_the_version_must_be_a_whole_number_from_one(version: object) -> None:
    data = raw()
    data["version"] = version
    assert problems_of(data) == [f"version must be a whole number >= 1, got {version!r}"]


def test_a_key_must_be_lower_case() -> None:
    data = raw()
    data["key"] = "Joint Program"
    assert problems_of(data) == [
        "key 'Joint Program' must be lower-case letters, digits, '-' or '_'"
    ]


@pytest.mark.parametrize("data", [None, [], "joint-program"])
def test_a_file_without_a_mapping_is_refused(data: object) -> None:
    assert problems_of(data) == ["the file must hold a mapping at its top level"]


# -- a third approving party is data only --


def three_party_definition() -> WorkflowDefinition:
    data = raw()
    data["key"] = "linkage-program"
    data["parties"].append({"key": "university", "name": "Partner university", "role": "approver"})
    return parse_definition(data, "linkage-program.yaml", GUARDS)


def test_a_definition_with_a_third_party_validates() -> None:
    definition = three_party_definition()
    assert definition.party_keys == ("city", "education_office", "university")


def test_the_and_join_of_a_three_party_definition_needs_all_three_approvals() -> None:
    definition = three_party_definition()
    machine = WorkflowMachine(definition)
    content = ProgramContent(
        title="Linkage",
        category="linkage",
        fiscal_year=2026,
        requests={"city": 60_000_000, "education_office": 15_000_000},
    )
    program = Program.create(definition, "munsan-high", content, "coord@munsan-high.kr")
    program.id = 3
    program.state = "in_review"
    program.holds = dict(content.requests)

    program.decide(machine, "city", "approve", "approver@paju.go.kr")
    program.decide(machine, "education_office", "approve", "approver@goepj.kr")
    assert program.state == "in_review"
    assert program.pending_parties() == ["university"]

    program.decide(machine, "university", "approve", "dean@univ.ac.kr")
    assert program.state == "approved"
    assert [e.type for e in program.events].count(ev.PROGRAM_APPROVED) == 1


def test_in_a_three_party_definition_the_third_party_may_reject_alone() -> None:
    definition = three_party_definition()
    machine = WorkflowMachine(definition)
    content = ProgramContent(
        title="Linkage", category="linkage", fiscal_year=2026, requests={"city": 60_000_000}
    )
    program = Program.create(definition, "munsan-high", content, "coord@munsan-high.kr")
    program.id, program.state, program.holds = 3, "in_review", {"city": 60_000_000}

    program.decide(machine, "university", "reject", "dean@univ.ac.kr")

    assert program.state == "rejected"
    assert [(m.kind, m.party) for m in program.ledger_moves] == [("release", "city")]


# -- KRW amounts --


@pytest.mark.parametrize("amount", [1, 80_000_000, MAX_AMOUNT - 1])
def test_a_whole_positive_amount_below_ten_trillion_is_accepted(amount: int) -> None:
    assert check_amount(amount) == amount


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (0, "must be greater than 0 KRW, got 0"),
        (-1, "must be greater than 0 KRW, got -1"),
        (-80_000_000, "must be greater than 0 KRW"),
        (10**13, "must be below 10^13 KRW, got 10000000000000"),
        (10**20, "must be below 10^13 KRW"),
        (True, "must be a whole number of KRW, got True"),
        (False, "must be a whole number of KRW, got False"),
        (1.0, "must be a whole number of KRW, got 1.0"),
        (80_000_000.5, "must be a whole number of KRW"),
        ("80000000", "must be a whole number of KRW, got '80000000'"),
        (None, "must be a whole number of KRW, got None"),
    ],
)
def test_an_amount_that_is_not_whole_positive_krw_below_ten_trillion_is_refused(
    amount: object, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=f"^request from city {re.escape(reason)}"):
        check_amount(amount, "request from city")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("80000000", 80_000_000),
        ("80,000,000", 80_000_000),
        ("80_000_000", 80_000_000),
        ("80,000,000원", 80_000_000),
        ("80000000 KRW", 80_000_000),
        ("  1  ", 1),
        ("9999999999999", MAX_AMOUNT - 1),
    ],
)
def test_krw_text_in_the_usual_spellings_is_parsed(text: str, amount: int) -> None:
    assert parse_krw(text) == amount


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "greater than 0"),
        ("-5", "greater than 0"),
        ("-80,000,000", "greater than 0"),
        ("10000000000000", "below 10^13"),
        ("1.5", "whole number"),
        ("1e9", "whole number"),
        ("0x10", "whole number"),
        ("", "whole number"),
        ("원", "whole number"),
        ("eighty", "whole number"),
        ("--5", "whole number"),
        ("5-", "whole number"),
        ("²", "whole number"),
        ("٣", "whole number"),
    ],
)
def test_malformed_or_out_of_range_krw_text_is_invalid_input(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        parse_krw(text)


def test_krw_is_formatted_for_people_with_separators_and_won() -> None:
    assert format_krw(1_930_000_000) == "1,930,000,000원"


# -- the audit hash chain --

STREAM = "program:7"
AT = "2026-03-02T09:00:00.000000+00:00"


def chain(length: int, stream: str = STREAM) -> list[EventRecord]:
    records, prev = [], GENESIS
    for seq in range(1, length + 1):
        data = canonical_json({"step": seq, "note": "검토"})
        digest = event_hash(prev, stream, seq, "PartyApproved", "approver@paju.go.kr", AT, data)
        records.append(
            EventRecord(
                seq * 10,
                stream,
                seq,
                "PartyApproved",
                "approver@paju.go.kr",
                AT,
                data,
                prev,
                digest,
            )
        )
        prev = digest
    return records


def head_of(records: list[EventRecord]) -> tuple[int, str]:
    return (records[-1].seq, records[-1].hash) if records else (0, GENESIS)


def rehashed(rec: EventRecord, **changes: Any) -> EventRecord:
    """An event edited by someone who also recomputed its own hash."""
    edited = replace(rec, **changes)
    return replace(
        edited,
        hash=event_hash(
            edited.prev_hash,
            edited.stream,
            edited.seq,
            edited.type,
            edited.actor,
            edited.at,
            edited.data,
        ),
    )


def test_an_untouched_chain_verifies_against_its_head() -> None:
    records = chain(4)
    assert verify_stream(STREAM, records, head_of(records)) is None
    assert verify_stream(STREAM, [], None) is None
    assert verify_stream(STREAM, [], (0, GENESIS)) is None


@pytest.mark.parametrize("field", ["data", "type", "actor", "at"])
def test_an_edited_event_no_longer_matches_its_hash(field: str) -> None:
    records = chain(4)
    edit: dict[str, Any] = {
        field: records[1].data.replace("2", "3") if field == "data" else "tampered"
    }
    records[1] = replace(records[1], **edit)

    broken = verify_stream(STREAM, records, head_of(chain(4)))

    assert broken == ChainBreak(STREAM, 2, 20, "content does not match its hash")
    assert broken is not None
    assert broken.describe() == (
        "event 20 (stream program:7, seq 2): content does not match its hash"
    )


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    records = chain(4)
    records[1] = rehashed(records[1], data=canonical_json({"step": 2, "note": "approved"}))

    broken = verify_stream(STREAM, records, head_of(chain(4)))

    assert broken == ChainBreak(STREAM, 3, 30, "previous-hash link does not match")


def test_rewriting_the_last_event_with_a_recomputed_hash_is_caught_by_the_stream_head() -> None:
    original = chain(3)
    records = [*original[:2], rehashed(original[2], actor="intruder@example.com")]

    broken = verify_stream(STREAM, records, head_of(original))

    assert broken is not None
    assert broken.event_id is None
    assert "stream head" in broken.reason


def test_reordered_events_break_the_sequence() -> None:
    records = chain(4)
    records[1], records[2] = records[2], records[1]

    broken = verify_stream(STREAM, records, head_of(chain(4)))

    assert broken == ChainBreak(STREAM, 2, 30, "sequence jumps to 3")


def test_a_wrong_previous_hash_is_caught_even_when_the_event_hash_is_recomputed() -> None:
    records = chain(3)
    records[1] = rehashed(records[1], prev_hash="f" * 64)

    broken = verify_stream(STREAM, records, head_of(chain(3)))

    assert broken == ChainBreak(STREAM, 2, 20, "previous-hash link does not match")


def test_a_truncated_tail_is_caught_by_the_stream_head() -> None:
    records = chain(3)

    broken = verify_stream(STREAM, records[:2], head_of(records))

    assert broken == ChainBreak(STREAM, 3, None, "stream head says seq 3, events end at 2")
    assert broken.describe() == "(stream program:7, seq 3): stream head says seq 3, events end at 2"


def test_a_truncated_head_of_the_stream_breaks_the_sequence_at_once() -> None:
    records = chain(3)

    broken = verify_stream(STREAM, records[1:], head_of(records))

    assert broken == ChainBreak(STREAM, 1, 20, "sequence jumps to 2")


def test_a_whole_stream_deleted_is_caught_by_its_head() -> None:
    records = chain(2)
    broken = verify_stream(STREAM, [], head_of(records))
    assert broken is not None and broken.reason == "stream head says seq 2, events end at 0"


def test_an_event_moved_to_another_stream_no_longer_matches_its_hash() -> None:
    moved = [replace(rec, stream="program:8") for rec in chain(1)]
    broken = verify_stream("program:8", moved, None)
    assert broken is not None and broken.reason == "content does not match its hash"


def test_canonical_json_has_one_spelling_per_value() -> None:
    assert canonical_json({"b": 1, "a": "검토", "c": [1, {"y": 2, "x": 1}]}) == (
        '{"a":"검토","b":1,"c":[1,{"x":1,"y":2}]}'
    )
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})


# -- what the engine relies on by name --


@pytest.mark.parametrize("trigger", ["submit", "hold", "approve", "withdraw"])
def test_a_definition_without_a_trigger_the_review_needs_is_refused(trigger: str) -> None:
    data = raw()
    data["transitions"] = [t for t in data["transitions"] if t["trigger"] != trigger]
    assert any(f"review: trigger {trigger!r} is missing" in p for p in problems_of(data))


def test_the_funding_comes_whole_or_not_at_all() -> None:
    data = raw()
    data["transitions"] = [t for t in data["transitions"] if t["trigger"] != "activate"]
    assert any("funding: trigger 'activate' is missing" in p for p in problems_of(data))


def test_a_trigger_the_engine_fires_must_name_the_system_as_its_actor() -> None:
    data = raw()
    transition(data, "hold")["actor"] = "budget_officer"
    assert "trigger 'hold': the engine fires it, so its actor must be 'system'" in problems_of(data)


def test_a_trigger_a_person_fires_must_name_a_role() -> None:
    data = raw()
    transition(data, "fund")["actor"] = "system"
    assert "trigger 'fund': a person fires it, so its actor must be a role" in problems_of(data)


def test_one_trigger_names_one_actor() -> None:
    data = raw()
    next(t for t in data["transitions"] if t["trigger"] == "resubmit")["actor"] = "admin"
    assert (
        "trigger 'resubmit': its transitions name different actors (admin, coordinator)"
        in problems_of(data)
    )
