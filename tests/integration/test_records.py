"""Records people can read, on both databases: ``program show`` tells an approver why a
program waits for money (which funder, how much is missing) and who decided what,
when and for whom; ``waiting`` lists waitlisted programs with that reason; ``program
history`` reads as sentences in Seoul time, ``--json`` keeping the raw events.

The programs are made through the bus at a fixed Seoul clock; the reads go through the
command line (in-process), as a person or a script would read them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import Result, run_in_process
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus

NOW = "2026-03-04T14:00"  # Seoul
KIM = "kim.minji@paju.go.kr"  # the city's approver, Korean by default
DEPUTY = "park.junho@paju.go.kr"  # stands in for her (대결)
READER = "reader@goepj.kr"  # reads in English
WAITLISTED_FOR = {
    "party": "education_office",
    "requested": 100_000_000,
    "available": 40_000_000,
    "missing": 60_000_000,
    "has_envelope": True,
}
SHORT_KO = "Paju Office of Education 예산 부족: 요청 1억 원, 가용 4,000만 원 — 6,000만 원 부족"


class Year:
    """The programs of the story, and a ``jointflow`` on the same database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bus: MessageBus = bootstrap(make_settings(url, now=NOW))

    def __call__(self, *args: str, as_: str | None = None) -> Result:
        argv = [*(["--as", as_] if as_ else []), *args]
        env = {"JOINTFLOW_DATABASE_URL": self.url, "JOINTFLOW_NOW": NOW}
        result = run_in_process(argv, env, lang=None)  # the reader's language, Korean by default
        assert result.code == 0, result
        return result

    def json(self, *args: str, as_: str | None = None) -> Any:
        return self(*args, "--json", as_=as_).json


@pytest.fixture
def year(database_url: str) -> Year:
    y = Year(database_url)
    s.seed(y.bus, education_office=40_000_000)
    for email, name, roles, locale in [
        (KIM, "김민지", ("approver",), "ko"),
        (DEPUTY, "박준호", ("supervisor",), "ko"),
    ]:
        y.bus.handle(c.AddUser(actor=None, email=email, name=name, org="city", roles=roles,
                               locale=locale))  # fmt: skip
    y.bus.handle(c.AddUser(actor=None, email=READER, name="Reader", org="education_office",
                           roles=("approver",), locale="en"))  # fmt: skip
    return y


def waitlisted(y: Year) -> int:
    return s.submitted(y.bus, city=80_000_000, education_office=100_000_000)


def sent_back(y: Year) -> int:
    pid = s.submitted(y.bus, city=80_000_000, education_office=0)
    y.bus.handle(c.DecideReview(actor=KIM, program_id=pid, decision="request-changes",
                                comment="예산 내역 보완 바람"))  # fmt: skip
    return pid


def test_show_says_which_funder_is_short_and_by_how_much(year: Year) -> None:
    pid = waitlisted(year)

    shown = year.json("program", "show", str(pid))
    text = year("program", "show", str(pid)).out

    assert shown["state"] == "waitlisted"
    assert shown["waitlisted_for"] == [WAITLISTED_FOR]
    assert SHORT_KO in text
    assert "서울 시각" in text


def test_the_reason_follows_the_ledger_as_it_stands(year: Year) -> None:
    pid = waitlisted(year)
    s.submitted(year.bus, city=10_000_000, education_office=10_000_000)  # takes 10 m more

    shown = year.json("program", "show", str(pid))

    assert shown["waitlisted_for"] == [{**WAITLISTED_FOR, "available": 30_000_000,
                                        "missing": 70_000_000}]  # fmt: skip
    assert [e["type"] for e in year.json("program", "history", str(pid))][-2:] == [
        "BudgetUnavailable",
        "ProgramWaitlisted",
    ]


def test_the_waiting_board_lists_waitlisted_programs_with_the_reason(year: Year) -> None:
    pid = waitlisted(year)
    other = sent_back(year)

    board = {r["program"]: r for r in year.json("waiting")}
    text = year("waiting").out

    assert board[pid]["state"] == "waitlisted"
    assert board[pid]["waiting_on"] == ["education_office"]
    assert board[pid]["waiting_for"] == [{"org": "education_office", "step": "budget"}]
    assert board[pid]["waitlisted_for"] == [WAITLISTED_FOR]
    assert board[other]["waitlisted_for"] == []
    assert SHORT_KO in text


def test_show_names_who_decided_when_and_why(year: Year) -> None:
    pid = sent_back(year)

    shown = year.json("program", "show", str(pid))
    text = year("program", "show", str(pid)).out

    assert shown["decisions"] == {
        "city": {
            "decision": "changes_requested",
            "by": KIM,
            "at": "2026-03-04T05:00:00.000000+00:00",
            "comment": "예산 내역 보완 바람",
            "acting_for": None,
        }
    }
    assert [(r["kind"], r["party"], r["text"]) for r in shown["reasons"]] == [
        ("changes_requested", "city", "예산 내역 보완 바람")
    ]
    assert "보완 요청 — 김민지(Paju City) 2026-03-04 14:00: 예산 내역 보완 바람" in text


def test_history_reads_as_sentences_in_seoul_time_and_json_keeps_the_events(
    year: Year,
) -> None:
    pid = sent_back(year)

    text = year("program", "history", str(pid)).out
    raw = year.json("program", "history", str(pid))

    assert "2026-03-04 14:00 김민지(Paju City) 보완 요청: 예산 내역 보완 바람" in text
    assert "가확보" in text and "8,000만 원" in text
    assert "=" not in text  # no key=value dumps
    changes = next(e for e in raw if e["type"] == "ChangesRequested")
    assert changes["data"] == {"party": "city", "comment": "예산 내역 보완 바람", "round": 1}
    assert datetime.fromisoformat(changes["at"]).utcoffset() is not None


def test_a_delegate_is_named_with_whom_they_acted_for(year: Year) -> None:
    year.bus.handle(c.SetDelegation(actor=KIM, to=DEPUTY, starts_on=date(2026, 3, 1),
                                    ends_on=date(2026, 3, 10)))  # fmt: skip
    pid = s.submitted(year.bus, city=80_000_000, education_office=0)
    year.bus.handle(c.DecideReview(actor=DEPUTY, program_id=pid, decision="approve"))

    text = year("program", "history", str(pid)).out
    shown = year.json("program", "show", str(pid))

    assert "박준호(Paju City, 김민지 대결) 승인" in text
    assert shown["decisions"]["city"]["acting_for"] == KIM


def test_a_reader_with_the_english_locale_reads_english(year: Year) -> None:
    pid = sent_back(year)
    other = waitlisted(year)

    text = year("program", "history", str(pid), as_=READER).out
    shown = year("program", "show", str(other), as_=READER).out

    assert "2026-03-04 14:00 김민지 (Paju City) asked for changes: 예산 내역 보완 바람" in text
    assert "(Seoul time)" in text
    assert (
        "Paju Office of Education budget short: requested ₩100,000,000, "
        "available ₩40,000,000 — ₩60,000,000 missing"
    ) in shown
