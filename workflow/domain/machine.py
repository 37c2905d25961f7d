"""One ``transitions`` machine per workflow definition version, shared by all programs.

The machine holds no model (``model=None``): a program is passed to a trigger for
the length of one action only, so 100,000 programs cost nothing here. There are no
``to_<state>`` back doors (``auto_transitions=False``) and the only callback records
the transition's event on the program: side effects happen elsewhere, after commit.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from transitions import EventData, Machine, MachineError

from workflow.domain.definition import TransitionSpec, WorkflowDefinition
from workflow.domain.errors import TransitionNotAllowed
from workflow.domain.events import Event

# Guards a definition may name in `when` / `unless`; each is a method of the model.
GUARDS = frozenset(
    {"all_parties_approved", "holds_cover_request", "all_funders_committed", "all_parties_accepted"}
)


class MachineModel(Protocol):
    id: int | None
    state: str
    events: list[Event]


def _record(spec: TransitionSpec, event_data: EventData) -> None:
    model: MachineModel = event_data.model  # type: ignore[assignment]
    source = event_data.transition.source if event_data.transition else None
    data = {"trigger": spec.trigger, "from": source, "to": spec.dest}
    model.events.append(Event(spec.records, {**data, **event_data.kwargs}))


class WorkflowMachine:
    """The state machine of one definition version."""

    def __init__(self, definition: WorkflowDefinition) -> None:
        self.definition = definition
        transitions: list[dict[str, Any]] = []
        for spec in definition.transitions:
            item: dict[str, Any] = {
                "trigger": spec.trigger,
                "source": list(spec.sources),
                "dest": spec.dest,
                "after": [partial(_record, spec)],
            }
            if spec.when:
                item["conditions"] = [spec.when]
            if spec.unless:
                item["unless"] = [spec.unless]
            transitions.append(item)
        self._machine = Machine(
            model=None,
            states=list(definition.states),
            transitions=transitions,
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
        )

    def triggers_from(self, state: str) -> list[str]:
        return sorted(set(self._machine.get_triggers(state)))

    def can(self, model: MachineModel, trigger: str) -> bool:
        return trigger in self._machine.get_triggers(model.state)

    def fire(self, model: MachineModel, trigger: str, **data: object) -> bool:
        """Fire ``trigger``; True if the state changed, False if a guard held it back.

        ``data`` (JSON-safe) is added to the event the transition records.
        """
        if not self.can(model, trigger):
            allowed = sorted(
                {s for t in self.definition.transitions if t.trigger == trigger for s in t.sources}
            )
            raise TransitionNotAllowed(
                f"cannot {trigger.replace('_', ' ')} program {model.id}: it is {model.state}"
                + (f" ({trigger} is allowed from: {', '.join(allowed)})" if allowed else ""),
                reason="wrong_state",
                program=model.id,
                state=model.state,
                trigger=trigger,
                allowed=allowed,
            )
        before = model.state
        try:
            self._machine.events[trigger].trigger(model, **data)
        except MachineError as err:  # pragma: no cover - guarded by can() above
            raise TransitionNotAllowed(str(err), program=model.id) from err
        return model.state != before
