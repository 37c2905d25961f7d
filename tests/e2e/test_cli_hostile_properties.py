"""Generated input to every command of the ``jointflow`` command line (issue 18).

Hypothesis fills each command's arguments and options with what a careless or hostile
person might type: any text (controls, NUL, unpaired surrogates, 10,000 characters of
one letter), ids of any size and sign, amounts in any spelling, keys and emails that
are nearly right. Each call runs in-process (``tests.e2e.runner``), on SQLite and on
PostgreSQL, against a database with programs in several states, and must

- never end in a traceback: exit 0, 1 (one ``jointflow: ...`` line on stderr; a bulk
  action prints its per-task refusals instead) or 2 (click's usage error);
- change nothing when it is refused (exit 1 or 2): every table as it was, but the audit
  log's records of the refusals.

A call that happens to be valid may succeed and change what it should; the next one
starts from there. ``demo`` is left out: it plays a whole year, and takes no input
but ``--reset``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import Result, run_in_process
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain.text import EMAIL_MAX, KEY_MAX, NAME_MAX, TEXT_MAX, TITLE_MAX
from workflow.service_layer.messagebus import MessageBus

NOW = "2026-02-02T09:00"  # the review and funding season, a Monday in Seoul
PEOPLE = [s.COORDINATOR, s.CITY_APPROVER, s.OE_APPROVER, s.CITY_OFFICER, s.OE_OFFICER, s.ADMIN]
KEYS = ["city", "education_office", "munsan-high", "paju-youth", "linkage", "joint-program"]
EDGE_IDS = [0, -1, 1, 2, 3, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]

Strategy = st.SearchStrategy[str]


def repeated(limit: int) -> Strategy:
    """One character many times around a limit: long text, cheap to make."""
    return st.builds(
        lambda ch, extra: ch * (limit + extra), st.characters(), st.integers(-2, 2)
    ).filter(bool)


TEXT: Strategy = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "Zl"]), max_size=5),
    st.sampled_from(["", " ", "-", "--help", "a\x00b", "\udcff"]),
    *(repeated(n) for n in (KEY_MAX, NAME_MAX, EMAIL_MAX, TITLE_MAX, TEXT_MAX)),
)
ID: Strategy = st.one_of(
    st.sampled_from(EDGE_IDS), st.integers(-5, 40), st.integers(), st.integers(10**18, 10**40)
).map(str) | st.text(max_size=8)
KEY: Strategy = st.sampled_from(KEYS) | TEXT
EMAIL: Strategy = st.sampled_from(PEOPLE) | st.builds(lambda a, b: f"{a}@{b}", TEXT, TEXT) | TEXT
AMOUNT: Strategy = st.one_of(
    st.integers(-(10**14), 10**14).map(str),
    st.integers(0, 10**14).map(lambda n: f"{n:,}"),
    st.text(alphabet="0123456789,_-원KRW .e", max_size=16),
    st.sampled_from(["1_0_", "1_000_000", "²", "9" * 5000]),
)
SPLIT: Strategy = st.builds(lambda k, a: f"{k}={a}", KEY, AMOUNT) | TEXT
DATE: Strategy = st.dates().map(lambda d: d.isoformat()) | TEXT
YEAR: Strategy = st.sampled_from(["2026", "1999", "2101"]) | ID


def one_of(*choices: str) -> Strategy:
    return st.sampled_from(choices) | TEXT


def options(**named: Strategy) -> st.SearchStrategy[list[str]]:
    """Each option given or not, in any order."""
    pairs = [
        st.one_of(st.just([]), value.map(lambda v, n=name: [f"--{n}", v]))
        for name, value in named.items()
    ]
    return st.tuples(*pairs).map(lambda chosen: [arg for pair in chosen for arg in pair])


def command(*words: str, args: tuple[Strategy, ...] = (), **named: Strategy) -> Any:
    return st.tuples(st.tuples(*args), options(**named)).map(
        lambda parts: [*words, *parts[0], *parts[1]]
    )


CONTENT = {
    "title": TEXT,
    "category": KEY,
    "request": SPLIT,
    "start": DATE,
    "end": DATE,
    "year": YEAR,
    "description": TEXT,
}
COMMANDS = st.one_of(
    command("db", "status"),
    command("org", "add", args=(KEY,), name=TEXT),
    command("org", "list"),
    command("user", "add", args=(EMAIL,), name=TEXT, org=KEY, role=one_of("approver"), locale=TEXT),
    command("user", "list", org=KEY),
    command("user", "token", args=(EMAIL,), **{"expires-days": ID}),
    command("user", "revoke-tokens", args=(EMAIL,)),
    command("user", "deactivate", args=(EMAIL,)),
    command("user", "activate", args=(EMAIL,)),
    command("user", "set-roles", args=(EMAIL,), roles=one_of("approver,supervisor", "admin")),
    command("user", "set-locale", args=(EMAIL, one_of("ko", "en"))),
    command("org", "rename", args=(KEY,), name=TEXT),
    command("budget", "envelope", "add", party=KEY, year=YEAR, amount=AMOUNT),
    command("budget", "report", year=YEAR),
    command("budget", "ledger", party=KEY, program=ID),
    command("program", "create", org=KEY, workflow=KEY, **CONTENT),
    command("program", "update", args=(ID,), **CONTENT),
    command("program", "submit", args=(ID,)),
    command("program", "decide", args=(ID, one_of("approve", "reject")), comment=TEXT),
    command("program", "withdraw", args=(ID,), reason=TEXT),
    command("program", "commit", args=(ID,)),
    command("program", "disburse", args=(ID,), amount=AMOUNT, memo=TEXT),
    command("program", "report", args=(ID,), spent=SPLIT, summary=TEXT),
    command("program", "evaluate", args=(ID, one_of("accept", "return")), score=ID, comment=TEXT),
    command("program", "cancel", args=(ID,), reason=TEXT),
    command("program", "show", args=(ID,)),
    command("program", "list", state=TEXT, org=KEY, **{"waiting-on": KEY}),
    command("program", "history", args=(ID,)),
    command("tick"),
    command("audit", "verify"),
    command("workflow", "validate", args=(TEXT,)),
    command("workflow", "show", args=(KEY,), format=one_of("mermaid")),
    command("inbox", limit=ID, after=ID),
    command("task", "claim", args=(ID,)),
    command("task", "release", args=(ID,)),
    command("task", "reassign", args=(ID,), to=EMAIL),
    command("task", "bulk", args=(one_of("claim", "approve"), ID, ID), comment=TEXT),
    command("waiting"),
    command("delegate", "set", to=EMAIL, **{"from": DATE, "until": DATE}),
    command("delegate", "clear"),
    command("reminders", "preview"),
    command("notifications", "list"),
    command("notifications", "read", args=(ID,)),
)
ACTOR = st.one_of(
    st.sampled_from(PEOPLE).map(lambda e: ["--as", e]), st.just([]), TEXT.map(lambda t: ["--as", t])
)


def seeded(bus: MessageBus) -> None:
    """Programs in several states: a draft, one in review, one approved, one waitlisted
    (so a budget notice: a message to read), one funded."""
    s.seed(bus)
    s.create(bus)
    s.submitted(bus)
    approved = s.submitted(bus)
    s.decide(bus, approved, s.CITY_APPROVER)
    s.decide(bus, approved, s.OE_APPROVER)
    s.submitted(bus, city=1_930_000_001)
    funded = s.submitted(bus)
    s.decide(bus, funded, s.CITY_APPROVER)
    s.decide(bus, funded, s.OE_APPROVER)
    for officer in (s.CITY_OFFICER, s.OE_OFFICER):
        bus.handle(c.CommitFunds(actor=officer, program_id=funded))


@pytest.fixture
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    bus = bootstrap(make_settings(database_url))
    seeded(bus)
    env = {
        "JOINTFLOW_DATABASE_URL": database_url,
        "JOINTFLOW_NOW": NOW,
        "XDG_DATA_HOME": str(tmp_path_factory.mktemp("xdg")),
    }
    yield bus, env


def well_behaved(result: Result) -> None:
    assert "Traceback" not in result.err, result
    assert result.code in (0, 1, 2), result
    if result.code == 1 and (result.err.strip() or "bulk" not in result.args):
        assert result.error_line  # exactly one "jointflow: ..." line
    if result.code == 2:
        assert result.usage_error  # click's usage, then "Error: ..."


# Generation only: shrinking a failing call is cheap, but tracing its coverage is not.
@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
@given(actor=ACTOR, argv=COMMANDS)
def test_no_generated_input_ends_in_a_traceback_or_changes_anything_when_refused(
    world: Any, actor: list[str], argv: list[str]
) -> None:
    bus, env = world
    before = s.stored(bus)
    result = run_in_process([*actor, *argv], env)
    event(f"exit {result.code}")
    well_behaved(result)
    if result.code != 0:
        assert s.stored(bus) == before, result


def test_the_generated_commands_cover_every_command_but_the_demo() -> None:
    """Each top-level command is the first word of a branch of ``COMMANDS`` (one example
    of each branch: 400 drawn from the whole mix once missed ``inbox``)."""
    from tests.e2e.test_cli_process import COMMANDS as TOP_LEVEL

    generated = {_examples(branch, 1)[0][0] for branch in COMMANDS.original_strategies}
    assert generated == set(TOP_LEVEL) - {"demo"}


def _examples(strategy: Any, n: int) -> list[list[str]]:
    found: list[list[str]] = []

    @settings(max_examples=n, database=None, phases=[Phase.generate])
    @given(strategy)
    def collect(argv: list[str]) -> None:
        found.append(argv)

    collect()
    return found
