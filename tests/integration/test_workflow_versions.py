"""Workflow definitions as versioned data, on SQLite and PostgreSQL.

A third approving party is one YAML file and one organization, no code: the
``linkage-program`` workflow waits for the university too. A program stays on the
definition version it started with when a newer file replaces it, and a file edited
without bumping its version is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from config.settings import WORKFLOWS_DIR
from tests import support as s
from tests.conftest import make_settings
from workflow.adapters import views
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.errors import DefinitionError, NotFound
from workflow.domain.events import program_stream
from workflow.service_layer.messagebus import MessageBus

UNIVERSITY_APPROVER = "dean@gyeongin.ac.kr"
UNIVERSITY_OFFICER = "budget@gyeongin.ac.kr"


def add_university(bus: MessageBus, funder: bool) -> None:
    bus.handle(
        c.AddOrganization(actor=None, key="university", name="Gyeongin University", funder=funder)
    )
    bus.handle(
        c.AddUser(
            actor=None,
            email=UNIVERSITY_APPROVER,
            name="Dean",
            org="university",
            roles=("approver",),
        )
    )
    if funder:
        bus.handle(
            c.AddUser(
                actor=None,
                email=UNIVERSITY_OFFICER,
                name="Budget",
                org="university",
                roles=("budget_officer",),
            )
        )
        bus.handle(
            c.AddEnvelope(
                actor=UNIVERSITY_OFFICER, party="university", year=s.YEAR, amount=50_000_000
            )
        )


detail = s.detail


def event_types(bus: MessageBus, program_id: int) -> list[str]:
    return [e.type for e in bus.query(lambda uow: uow.events.history(program_stream(program_id)))]


# -- three approving parties ---------------------------------------------------------


@pytest.mark.parametrize(
    "university_funds", [False, True], ids=["university-reviews-only", "university-also-funds"]
)
def test_a_linkage_program_needs_the_approval_of_all_three_parties(
    bus: MessageBus, university_funds: bool
) -> None:
    s.seed(bus)
    add_university(bus, funder=university_funds)
    requests = {"city": 60_000_000, "education_office": 30_000_000}
    if university_funds:
        requests["university"] = 10_000_000
    program_id = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Munsan High × Gyeongin University AI lab",
            org="munsan-high",
            category="linkage",
            requests=requests,
            year=s.YEAR,
            workflow="linkage-program",
        )
    )
    with pytest.raises(NotFound):  # a draft is its school's alone
        s.detail(bus, program_id, UNIVERSITY_APPROVER)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))
    assert detail(bus, program_id)["workflow"] == "linkage-program@4"
    assert detail(bus, program_id)["holds"] == requests
    # Funding or not, the university reviews it, so its staff see it once submitted.
    assert s.detail(bus, program_id, UNIVERSITY_APPROVER)["id"] == program_id
    seen = bus.view(lambda uow, who: views.program_list(uow, who), UNIVERSITY_APPROVER)
    assert [p["id"] for p in seen] == [program_id]
    history = bus.view(lambda uow, who: views.program_history(uow, who, program_id),
                       UNIVERSITY_APPROVER)  # fmt: skip
    assert history[0]["type"] == ev.PROGRAM_CREATED

    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)

    after_two = detail(bus, program_id)
    assert after_two["state"] == "in_review"
    assert after_two["waiting_on"] == ["university"]
    assert after_two["parties"] == {
        "city": "approved",
        "education_office": "approved",
        "university": "pending",
    }

    s.decide(bus, program_id, UNIVERSITY_APPROVER)

    assert detail(bus, program_id)["state"] == "approved"
    happened = event_types(bus, program_id)
    assert happened.count(ev.PARTY_APPROVED) == 3
    assert happened.count(ev.PROGRAM_APPROVED) == 1


def test_the_university_alone_can_reject_a_linkage_program(bus: MessageBus) -> None:
    s.seed(bus)
    add_university(bus, funder=False)
    program_id = bus.handle(
        c.CreateProgram(
            actor=s.COORDINATOR,
            title="Campus week",
            org="munsan-high",
            category="linkage",
            requests={"city": 60_000_000},
            year=s.YEAR,
            workflow="linkage-program",
        )
    )
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))
    s.decide(bus, program_id, s.CITY_APPROVER)

    s.decide(bus, program_id, UNIVERSITY_APPROVER, "reject")

    assert detail(bus, program_id)["state"] == "rejected"
    assert detail(bus, program_id)["holds"] == {}


def test_the_default_workflow_still_needs_only_the_two_funders(bus: MessageBus) -> None:
    s.seed(bus)
    add_university(bus, funder=False)
    program_id = s.submitted(bus)
    s.decide(bus, program_id, s.CITY_APPROVER)
    s.decide(bus, program_id, s.OE_APPROVER)
    assert detail(bus, program_id)["state"] == "approved"


# -- versions ------------------------------------------------------------------------


def joint_program_source(version: int, **changes: object) -> str:
    """The shipped joint-program definition at ``version``, with top-level changes."""
    data = yaml.safe_load((WORKFLOWS_DIR / "joint-program.yaml").read_text(encoding="utf-8"))
    data.update(version=version, **changes)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture
def workflows_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "joint-program.yaml").write_text(joint_program_source(1), encoding="utf-8")
    return folder


def bus_reading(database_url: str, folder: Path) -> MessageBus:
    """A fresh process's view of the workflows folder (definitions are read once)."""
    return bootstrap(make_settings(database_url, workflows_dir=folder))


THREE_PARTIES = [
    {"key": "city", "name": "Paju City", "role": "approver"},
    {"key": "education_office", "name": "Paju Office of Education", "role": "approver"},
    {"key": "university", "name": "Gyeongin University", "role": "approver"},
]


def test_a_running_program_stays_on_its_version_when_a_new_version_replaces_the_file(
    database_url: str, workflows_dir: Path
) -> None:
    before = bus_reading(database_url, workflows_dir)
    s.seed(before)
    add_university(before, funder=False)
    on_v1 = s.submitted(before)
    # Version 2 adds the university as a third reviewer; the file replaces version 1.
    (workflows_dir / "joint-program.yaml").write_text(
        joint_program_source(2, parties=THREE_PARTIES), encoding="utf-8"
    )
    after = bus_reading(database_url, workflows_dir)

    on_v2 = s.submitted(after)

    assert detail(after, on_v1)["workflow"] == "joint-program@1"
    assert detail(after, on_v2)["workflow"] == "joint-program@2"
    for program_id in (on_v1, on_v2):
        s.decide(after, program_id, s.CITY_APPROVER)
        s.decide(after, program_id, s.OE_APPROVER)
    assert detail(after, on_v1)["state"] == "approved"
    assert detail(after, on_v2)["state"] == "in_review"
    assert detail(after, on_v2)["waiting_on"] == ["university"]
    s.decide(after, on_v2, UNIVERSITY_APPROVER)
    assert detail(after, on_v2)["state"] == "approved"


def test_a_new_version_in_a_second_file_beside_the_old_one_is_the_one_new_programs_use(
    database_url: str, workflows_dir: Path
) -> None:
    (workflows_dir / "joint-program-v2.yaml").write_text(
        joint_program_source(2, title="Joint program, 2027 rules"), encoding="utf-8"
    )
    bus = bus_reading(database_url, workflows_dir)
    s.seed(bus)
    assert detail(bus, s.create(bus))["workflow"] == "joint-program@2"


def test_editing_a_definition_without_bumping_its_version_is_refused(
    database_url: str, workflows_dir: Path
) -> None:
    before = bus_reading(database_url, workflows_dir)
    s.seed(before)
    started = s.submitted(before)
    (workflows_dir / "joint-program.yaml").write_text(
        joint_program_source(1, title="Quietly edited"), encoding="utf-8"
    )
    after = bus_reading(database_url, workflows_dir)

    with pytest.raises(DefinitionError, match="bump 'version'"):
        s.create(after)

    assert after.view(views.program_list, None) == before.view(views.program_list, None)
    # The program already running is untouched by the edited file.
    s.decide(after, started, s.CITY_APPROVER)
    s.decide(after, started, s.OE_APPROVER)
    assert detail(after, started)["state"] == "approved"


def test_programs_keep_working_from_the_stored_copy_of_their_version_when_the_file_is_gone(
    database_url: str, workflows_dir: Path
) -> None:
    v1 = (workflows_dir / "joint-program.yaml").read_text(encoding="utf-8")
    bus = bus_reading(database_url, workflows_dir)
    s.seed(bus)
    program_id = s.create(bus)
    shutil.rmtree(workflows_dir)
    later = bus_reading(database_url, workflows_dir)

    later.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=program_id))
    s.decide(later, program_id, s.CITY_APPROVER)
    s.decide(later, program_id, s.OE_APPROVER)

    assert detail(later, program_id)["state"] == "approved"
    stored = later.query(lambda uow: uow.registry.stored_source(uow.conn, "joint-program", 1))
    assert stored == v1
    with pytest.raises(NotFound, match="no workflow 'joint-program'"):
        s.create(later)
