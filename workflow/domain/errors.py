"""The domain's error hierarchy; entrypoints turn these into exit codes or HTTP statuses.

WorkflowError                 anything the engine refuses, with a clear message
├── InvalidInput              malformed or out-of-range data (amounts, dates, keys)
├── NotFound                  an id or key that names nothing
├── NotPermitted              the acting user may not do this (role, party, own program)
├── TransitionNotAllowed      the program's state does not allow the trigger
├── Conflict                  someone else acted first (same party decided, duplicate key)
│   └── PreconditionFailed    the caller acted on a version of the program that is gone
├── InsufficientBudget        an envelope has no room for a hold
└── DefinitionError           a workflow definition failed validation (lists every problem)

A refusal people meet carries a stable ``reason`` (``"role_missing"``) and, as its
context, the values its sentence names (``user=..., role=...``): the English ``message``
is the domain's own sentence (and the fallback), and each door renders the reason in its
reader's language from those values (``workflow.entrypoints.refusals``). The context is
data, never text for one door.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Base of every refusal; ``str(err)`` is the one line shown to a person."""

    code = "workflow-error"

    def __init__(self, message: str, /, *, reason: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # stable, for translations and clients; None: English only
        self.context = context


class InvalidInput(WorkflowError):
    code = "invalid-input"


class NotFound(WorkflowError):
    code = "not-found"


class NotPermitted(WorkflowError):
    code = "not-permitted"


class TransitionNotAllowed(WorkflowError):
    code = "transition-not-allowed"


class Conflict(WorkflowError):
    code = "conflict"


class PreconditionFailed(Conflict):
    """The caller's expected version (an HTTP ``If-Match``) is no longer the program's."""

    code = "precondition-failed"


class InsufficientBudget(WorkflowError):
    code = "insufficient-budget"


class DefinitionError(WorkflowError):
    """A workflow definition is invalid; ``problems`` names each offending state or field."""

    code = "invalid-definition"

    def __init__(self, source: str, problems: list[str]) -> None:
        lines = "; ".join(problems)
        super().__init__(f"{source}: {lines}", problems=problems)
        self.problems = problems
