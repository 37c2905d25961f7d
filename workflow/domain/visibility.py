"""Who may see what (PRODUCT §2): one rule for the CLI, the API, the pages and the workers.

A coordinator sees their own organization's programs; a funding party's staff see every
program once it has been submitted, and their own party's budget; a party that reviews
without funding (the linkage workflow's university) sees the programs it is a party of,
once submitted; drafts (never
submitted) are seen only by their organization; admins see everything, and so does the
operator on the server (no acting user). A program someone may not see does not exist
for them: reads answer "not found", so its existence does not leak. The audit chain's
check is the admins' (and the operator's).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workflow.domain.errors import NotFound
from workflow.domain.permissions import User, require_role


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a person, and whether their organization funds programs; ``None``
    for the operator."""

    user: User | None
    funder: bool = False

    @property
    def sees_everything(self) -> bool:
        return self.user is None or self.user.has("admin")


OPERATOR_VIEW = Viewer(None)


@dataclass(frozen=True)
class ProgramScope:
    """The programs a viewer sees, as data a query can carry: every program, or those of
    ``org`` together with (``submitted``) every program submitted at least once."""

    everything: bool
    org: str | None = None
    submitted: bool = False


def program_scope(viewer: Viewer) -> ProgramScope:
    if viewer.sees_everything or viewer.user is None:
        return ProgramScope(everything=True)
    return ProgramScope(everything=False, org=viewer.user.org, submitted=viewer.funder)


def may_see_program(
    viewer: Viewer, org: str, ever_submitted: bool, parties: Iterable[str] = ()
) -> bool:
    """``parties``: the program's reviewing parties (their staff see it once submitted)."""
    return scope_sees(program_scope(viewer), org, ever_submitted, parties)


def organization_scope(org: str, funder: bool) -> ProgramScope:
    """What an organization's own systems see (its webhooks): what its staff see."""
    return ProgramScope(everything=False, org=org, submitted=funder)


def scope_sees(
    scope: ProgramScope, org: str, ever_submitted: bool, parties: Iterable[str] = ()
) -> bool:
    return (
        scope.everything
        or org == scope.org
        or (
            ever_submitted and (scope.submitted or (scope.org is not None and scope.org in parties))
        )
    )


def ensure_sees_program(
    viewer: Viewer, program_id: int, org: str, ever_submitted: bool, parties: Iterable[str] = ()
) -> None:
    """Refuse with the same words as for a program that does not exist."""
    if not may_see_program(viewer, org, ever_submitted, parties):
        raise NotFound(
            f"program {program_id} does not exist", reason="no_program", program=program_id
        )


def budget_parties(viewer: Viewer) -> frozenset[str] | None:
    """The parties whose budget the viewer sees (None: every party's)."""
    if viewer.sees_everything or viewer.user is None:
        return None
    return frozenset({viewer.user.org}) if viewer.funder else frozenset()


def ensure_may_verify_audit(viewer: Viewer) -> None:
    if viewer.user is not None:
        require_role(viewer.user, "admin", "verify the audit chain")


def ensure_may_act_on(user: User, program_id: int, org: str, ever_submitted: bool) -> None:
    """A draft exists only for its own organization (and admins), to act on as to read: a
    refused step on another school's draft says "not found", never whose draft it is.
    (Once submitted, the step's own permission check says who may take it.)"""
    if not ever_submitted and not user.has("admin") and user.org != org:
        raise NotFound(
            f"program {program_id} does not exist", reason="no_program", program=program_id
        )
