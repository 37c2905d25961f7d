"""Drafting: a program is created from its content and edited while it is editable."""

from __future__ import annotations

from typing import Self

from workflow.domain import events as ev
from workflow.domain.definition import WorkflowDefinition
from workflow.domain.errors import TransitionNotAllowed
from workflow.domain.events import Event
from workflow.domain.program.content import (
    EDITABLE_STATES,
    ProgramContent,
    check_content,
    content_data,
)
from workflow.domain.program.money import MoneyMoves
from workflow.domain.program.state import Decision


class DraftingSteps(MoneyMoves):
    @classmethod
    def create(
        cls, definition: WorkflowDefinition, org: str, content: ProgramContent, created_by: str
    ) -> Self:
        check_content(definition, content)
        program = cls(
            None,
            org,
            definition.key,
            definition.version,
            content,
            created_by,
            state=definition.initial,
            parties=definition.party_keys,
        )
        program.decisions = {p: Decision() for p in program.parties}
        program.events.append(
            Event(
                ev.PROGRAM_CREATED,
                {
                    "org": org,
                    "workflow": f"{definition.key}@{definition.version}",
                    **content_data(content),
                },
            )
        )
        return program

    def update(self, definition: WorkflowDefinition, content: ProgramContent) -> None:
        if self.state not in EDITABLE_STATES:
            raise TransitionNotAllowed(
                f"cannot update program {self.id}: it is {self.state} "
                f"(editable in: {', '.join(EDITABLE_STATES)})",
                reason="not_editable",
                program=self.id,
                state=self.state,
                allowed=list(EDITABLE_STATES),
            )
        check_content(definition, content)
        self._release_stale_holds(content)
        self.content = content
        self.events.append(Event(ev.PROGRAM_UPDATED, content_data(content)))

    def _release_stale_holds(self, new: ProgramContent) -> None:
        """Give back at once the holds the new content no longer asks for where they sit.

        A hold lives in one year's envelope under one party: once the fiscal year
        changes or a party is dropped, nothing later could release it.
        """
        if new.fiscal_year != self.content.fiscal_year:
            self._release_holds("revised request")
        else:
            self._release_holds("revised request", [p for p in self.holds if p not in new.requests])
