"""Workflow definitions: parsed from plain data (YAML) and validated before use.

A definition names its approving parties, its states (human steps carry a role and
an SLA in business days) and its transitions (trigger, sources, destination, the
role allowed to fire it, an optional guard, and the event it records). Validation
collects every problem, each naming the offending state or field, so an author
fixes a file in one pass. Parties are data: a third party needs no code.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from workflow.domain.errors import DefinitionError
from workflow.domain.events import SYSTEM
from workflow.domain.reminders import ReminderLadder, parse_ladder
from workflow.domain.text import KEY_MAX

DEFAULT_WORKFLOW = "joint-program"  # the district's default definition key (PRODUCT §3)
ROLES = frozenset({"coordinator", "approver", "budget_officer", "evaluator", "supervisor", "admin"})
SYSTEM_ACTOR = SYSTEM  # the actor of the triggers the engine fires by itself
STATE_TYPES = frozenset({"human", "review", "system", "final"})
HUMAN_TYPES = frozenset({"human", "review"})
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")
EVENT_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class Step:
    """Triggers and states the engine's code fires and reads by name: a definition has the
    review whole, and the funding and the evaluation whole or not at all."""

    name: str
    by_people: frozenset[str]  # fired by a person: the actor is a role
    by_system: frozenset[str]  # fired by the engine itself: the actor is 'system'
    states: frozenset[str]
    required: bool = False


STEPS = (
    Step(
        "review",
        frozenset({"submit", "resubmit", "approve", "reject", "request_changes", "withdraw"}),
        frozenset({"hold", "waitlist"}),
        frozenset(
            {"submitted", "waitlisted", "in_review", "revision_requested", "approved", "rejected"}
        ),
        required=True,
    ),
    Step(
        "funding",
        frozenset({"fund", "cancel"}),
        frozenset({"activate", "finish", "expire"}),
        frozenset({"funded", "active"}),
    ),
    Step(
        "evaluation",
        frozenset({"report", "accept", "return_report"}),
        frozenset(),
        frozenset({"evaluation_due", "under_evaluation", "closed"}),
    ),
)


@dataclass(frozen=True)
class Party:
    key: str
    name: str
    role: str


@dataclass(frozen=True)
class StateSpec:
    name: str
    type: str
    role: str | None = None
    sla_days: int | None = None
    task: str | None = None  # the kind of task a human step queues (default: its name)


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    actor: str
    records: str
    when: str | None = None
    unless: str | None = None


@dataclass(frozen=True)
class WorkflowDefinition:
    key: str
    version: int
    title: str
    parties: tuple[Party, ...]
    initial: str
    states: dict[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    categories: dict[str, str] = field(default_factory=dict)
    hold_expiry_days: int | None = None  # calendar days a hold lasts unless funded
    reminders: ReminderLadder | None = None  # the reminder and escalation ladder (tasks)

    @property
    def party_keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.parties)

    def party(self, key: str) -> Party | None:
        return next((p for p in self.parties if p.key == key), None)

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if state in t.sources]

    def actor_of(self, trigger: str) -> str | None:
        return next((t.actor for t in self.transitions if t.trigger == trigger), None)

    def party_role(self, party: str, role: str) -> str:
        """The role a party's staff act in for a step of ``role``: in the joint review a
        party's approvers have the party's own role; every other step keeps its role."""
        found = self.party(party)
        return found.role if found is not None and role == "approver" else role

    @property
    def drafter_role(self) -> str:
        """Who drafts and edits a program: the role of the initial step."""
        return self.states[self.initial].role or "coordinator"


def parse_definition(
    data: Any, source: str = "definition", guards: frozenset[str] = frozenset()
) -> WorkflowDefinition:
    """Build a definition from parsed YAML, or raise DefinitionError naming each problem."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DefinitionError(source, ["the file must hold a mapping at its top level"])
    key = _text(data, "key", problems)
    if key and not KEY_PATTERN.match(key):
        problems.append(f"key {key!r} must be lower-case letters, digits, '-' or '_'")
    if key and len(key) > KEY_MAX:
        problems.append(f"key must be at most {KEY_MAX} characters")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"version must be a whole number >= 1, got {version!r}")
        version = 0
    elif version >= 2**31:  # what the definitions table's INTEGER column holds
        problems.append(f"version must be below 2^31, got {version}")
        version = 0
    parties = _parse_parties(data.get("parties"), problems)
    states = _parse_states(data.get("states"), problems)
    initial = _text(data, "initial", problems)
    if initial and states and initial not in states:
        problems.append(f"initial: unknown state {initial!r}")
    transitions = _parse_transitions(data.get("transitions"), states, guards, problems)
    categories = _parse_categories(data.get("categories", {}), problems)
    expiry = data.get("hold_expiry_days")
    if expiry is not None and (
        isinstance(expiry, bool) or not isinstance(expiry, int) or expiry < 1
    ):
        problems.append(f"hold_expiry_days must be a whole number >= 1, got {expiry!r}")
    reminders = parse_ladder(data.get("reminders"), problems)
    if not problems:
        _check_steps(states, transitions, problems)
        _check_graph(initial, states, transitions, problems)
    if problems:
        raise DefinitionError(source, problems)
    return WorkflowDefinition(
        key=key,
        version=version,
        title=str(data.get("title") or key),
        parties=parties,
        initial=initial,
        states=states,
        transitions=transitions,
        categories=categories,
        hold_expiry_days=expiry,
        reminders=reminders,
    )


def _text(data: dict[str, Any], name: str, problems: list[str]) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name}: missing (a non-empty text is required)")
        return ""
    return value.strip()


def _parse_parties(raw: Any, problems: list[str]) -> tuple[Party, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("parties: at least one approving party is required")
        return ()
    parties: list[Party] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            problems.append(f"parties[{i}]: needs a 'key'")
            continue
        role = item.get("role", "approver")
        if role not in ROLES:
            problems.append(f"parties[{i}] ({item['key']}): unknown role {role!r}")
        if any(p.key == item["key"] for p in parties):
            problems.append(f"parties[{i}]: party {item['key']!r} is listed twice")
        parties.append(Party(item["key"], str(item.get("name", item["key"])), role))
    return tuple(parties)


def _parse_states(raw: Any, problems: list[str]) -> dict[str, StateSpec]:
    if not isinstance(raw, dict) or not raw:
        problems.append("states: at least one state is required")
        return {}
    states: dict[str, StateSpec] = {}
    for name, spec in raw.items():
        spec = spec or {}
        kind = spec.get("type", "system")
        if kind not in STATE_TYPES:
            known = ", ".join(sorted(STATE_TYPES))
            problems.append(f"state {name!r}: unknown type {kind!r} ({known})")
        role, sla = spec.get("role"), spec.get("sla_days")
        if kind in HUMAN_TYPES:
            if role not in ROLES:
                problems.append(f"state {name!r}: a human step needs a role, got {role!r}")
            if isinstance(sla, bool) or not isinstance(sla, int) or sla < 1:
                problems.append(f"state {name!r}: a human step needs sla_days >= 1, got {sla!r}")
        task = spec.get("task")
        if task is not None and (not isinstance(task, str) or not KEY_PATTERN.match(task)):
            problems.append(f"state {name!r}: task must be a lower-case name, got {task!r}")
        if kind in HUMAN_TYPES and task is None:
            task = str(name)
        states[str(name)] = StateSpec(str(name), kind, role, sla, task)
    return states


def _parse_transitions(
    raw: Any, states: dict[str, StateSpec], guards: frozenset[str], problems: list[str]
) -> tuple[TransitionSpec, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("transitions: at least one transition is required")
        return ()
    result: list[TransitionSpec] = []
    for i, item in enumerate(raw):
        where = f"transitions[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("trigger"), str):
            problems.append(f"{where}: needs a 'trigger'")
            continue
        where = f"{where} ({item['trigger']})"
        src = item.get("source")
        sources = tuple(src) if isinstance(src, list) else (src,)
        for s in sources:
            if s not in states:
                problems.append(f"{where}: unknown source state {s!r}")
        if item.get("dest") not in states:
            problems.append(f"{where}: unknown destination state {item.get('dest')!r}")
        actor = item.get("actor")
        if actor not in ROLES and actor != SYSTEM_ACTOR:
            problems.append(f"{where}: actor must be a role or 'system', got {actor!r}")
        records = item.get("records")
        if not isinstance(records, str) or not EVENT_PATTERN.match(records):
            problems.append(f"{where}: 'records' must name the event it records, got {records!r}")
        for kind in ("when", "unless"):
            if item.get(kind) is not None and item[kind] not in guards:
                problems.append(f"{where}: unknown guard {item[kind]!r} in '{kind}'")
        result.append(
            TransitionSpec(
                str(item["trigger"]),
                tuple(str(s) for s in sources),
                str(item.get("dest")),
                str(actor),
                str(records),
                item.get("when"),
                item.get("unless"),
            )
        )
    return tuple(result)


def _parse_categories(raw: Any, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append("categories: must map a category key to its description")
        return {}
    too_long = sorted(str(k) for k in raw if len(str(k)) > KEY_MAX)
    if too_long:
        problems.append(f"categories: keys must be at most {KEY_MAX} characters: {too_long}")
    return {str(k): str(v) for k, v in raw.items()}


def _check_steps(
    states: dict[str, StateSpec], transitions: tuple[TransitionSpec, ...], problems: list[str]
) -> None:
    """The states and triggers the engine relies on exist, with the right kind of actor."""
    actors: dict[str, set[str]] = {}
    for t in transitions:
        actors.setdefault(t.trigger, set()).add(t.actor)
    for name, named in sorted(actors.items()):
        if len(named) > 1:
            problems.append(
                f"trigger {name!r}: its transitions name different actors "
                f"({', '.join(sorted(named))})"
            )
    for step in STEPS:
        triggers = step.by_people | step.by_system
        if not step.required and not triggers & set(actors):
            continue
        for name in sorted(triggers - set(actors)):
            problems.append(
                f"{step.name}: trigger {name!r} is missing (the {step.name} needs "
                f"{', '.join(sorted(triggers))})"
            )
        for name in sorted(step.states - set(states)):
            problems.append(f"{step.name}: state {name!r} is missing")
        for name in sorted(step.by_system & set(actors)):
            if actors[name] != {SYSTEM_ACTOR}:
                problems.append(
                    f"trigger {name!r}: the engine fires it, so its actor must be '{SYSTEM_ACTOR}'"
                )
        for name in sorted(step.by_people & set(actors)):
            if SYSTEM_ACTOR in actors[name]:
                problems.append(f"trigger {name!r}: a person fires it, so its actor must be a role")


def _check_graph(
    initial: str,
    states: dict[str, StateSpec],
    transitions: tuple[TransitionSpec, ...],
    problems: list[str],
) -> None:
    """Every state reachable from the initial one, and every state able to reach an end."""
    forward: dict[str, set[str]] = {s: set() for s in states}
    for t in transitions:
        for s in t.sources:
            forward[s].add(t.dest)
    for name, spec in states.items():
        if spec.type == "final" and forward[name]:
            problems.append(f"state {name!r}: a final state cannot have outgoing transitions")
        if spec.type != "final" and not forward[name]:
            problems.append(f"state {name!r}: dead end (not final and no transition leaves it)")
    reachable = _closure(initial, forward)
    for name in states:
        if name not in reachable:
            problems.append(f"state {name!r}: unreachable from the initial state {initial!r}")
    finals = {n for n, s in states.items() if s.type == "final"}
    if not finals:
        problems.append("states: at least one state must have type 'final'")
    backward: dict[str, set[str]] = {s: set() for s in states}
    for src, dests in forward.items():
        for d in dests:
            backward[d].add(src)
    can_finish: set[str] = set()
    for f in finals:
        can_finish |= _closure(f, backward)
    for name in states:
        if name in reachable and name not in can_finish and forward[name]:
            problems.append(f"state {name!r}: dead end (no final state can be reached from it)")


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
