"""Notifications from the command line, in-process on the embedded default with a real
SMTP server (aiosmtpd) and a real webhook receiver: a review request arrives by mail in
Korean after ``program submit``; ``notifications prefs``; ``webhook add|list|test|remove``;
``deliveries list --failed`` and ``deliveries retry``; refusals are one line, exit 1,
usage errors exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.test_cli import Jointflow
from tests.mail_sink import Sink, smtp_server, text_of
from tests.webhook_receiver import webhook_receiver
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap

NOW = "2026-03-03T10:00"  # a Tuesday in Seoul


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def jf(tmp_path: Path, sink: tuple[Sink, int]) -> Jointflow:
    url = f"sqlite:///{tmp_path / 'jointflow.db'}"
    upgrade(engine_for(url))
    s.seed(bootstrap(make_settings(url)))
    engine_for(url).dispose()
    return Jointflow(
        {
            "JOINTFLOW_DATABASE_URL": url,
            "JOINTFLOW_NOW": NOW,
            "JOINTFLOW_SMTP_HOST": "127.0.0.1",
            "JOINTFLOW_SMTP_PORT": str(sink[1]),
            "JOINTFLOW_SMTP_FROM": "jointflow <noreply@paju.go.kr>",
            "JOINTFLOW_BASE_URL": "https://jointflow.paju.go.kr",
            "XDG_DATA_HOME": str(tmp_path / "xdg"),
        }
    )


def create(jf: Jointflow) -> int:
    created = jf(
        "program",
        "create",
        "--title",
        "진로 멘토링",
        "--org",
        "munsan-high",
        "--category",
        "career-guidance",
        "--request",
        "city=80000000",
        "--request",
        "education_office=20000000",
        "--year",
        "2026",
        "--json",
        as_=s.COORDINATOR,
    )
    found: int = created.json["id"]
    return found


def test_a_review_request_arrives_by_mail_in_korean_after_program_submit(
    jf: Jointflow, sink: tuple[Sink, int]
) -> None:
    mails, _ = sink
    program_id = create(jf)
    jf("program", "submit", str(program_id), as_=s.COORDINATOR)

    [mail] = mails.to(s.CITY_APPROVER)
    assert mail["Subject"] == "[jointflow] 검토 요청: 진로 멘토링 — 8,000만 원, 마감 3월 17일"
    assert f"https://jointflow.paju.go.kr/programs/{program_id}" in text_of(mail)
    listed = jf("notifications", "list", "--json", as_=s.CITY_APPROVER).json
    assert [m["subject"] for m in listed] == [mail["Subject"]]  # and in-app too


def test_preferences_from_the_command_line(jf: Jointflow, sink: tuple[Sink, int]) -> None:
    shown = jf("notifications", "prefs", "--json", as_=s.CITY_APPROVER).json
    assert {r["kind"]: (r["channels"], r["required"]) for r in shown}["decision"] == (
        ["email", "inapp"],
        True,
    )
    jf("notifications", "prefs", "--set", "review_request=inapp", as_=s.CITY_APPROVER)
    refused = jf("notifications", "prefs", "--set", "decision=none", as_=s.COORDINATOR, code=1)
    assert refused.error_line == (
        "jointflow: decision messages are required and can't be turned off: "
        "choose email, inapp or both"
    )
    unknown = jf("notifications", "prefs", "--set", "gossip=email", as_=s.COORDINATOR, code=1)
    assert "unknown kind of message 'gossip'" in unknown.error_line
    assert (
        "--set takes KIND=CHANNELS"
        in jf("notifications", "prefs", "--set", "decision", as_=s.COORDINATOR, code=2).usage_error
    )
    table = jf("notifications", "prefs", as_=s.CITY_APPROVER).out
    assert "review_request" in table and "inapp" in table

    program_id = create(jf)
    jf("program", "submit", str(program_id), as_=s.COORDINATOR)
    assert sink[0].to(s.CITY_APPROVER) == [] and len(sink[0].to(s.OE_APPROVER)) == 1


def test_webhooks_from_the_command_line(jf: Jointflow) -> None:
    with webhook_receiver("x" * 32) as receiver:
        added = jf(
            "webhook",
            "add",
            "--org",
            "city",
            "--url",
            receiver.url,
            "--events",
            "ProgramSubmitted,ProgramApproved",
            "--secret",
            "x" * 32,
            "--json",
        ).json
        listed = jf("webhook", "list", "--json").json
        assert listed == [
            {
                "id": added["id"],
                "org": "city",
                "url": receiver.url,
                "events": ["ProgramApproved", "ProgramSubmitted"],
                "created_at": listed[0]["created_at"],
            }
        ]
        tested = jf("webhook", "test", str(added["id"]))
        assert tested.out.strip().endswith(": delivered")
        jf("webhook", "test", str(added["id"]))  # again, at the same JOINTFLOW_NOW
        assert [r.event for r in receiver.received] == ["WebhookTest", "WebhookTest"]
        assert receiver.received[0].signed
        made = jf(
            "webhook", "add", "--org", "city", "--url", receiver.url, "--events", "ProgramSubmitted"
        )
        assert made.out.startswith("webhook ") and "secret: whsec_" in made.out

    assert (
        "http:// or https://"
        in jf(
            "webhook",
            "add",
            "--org",
            "city",
            "--url",
            "gopher://x",
            "--events",
            "ProgramSubmitted",
            code=1,
        ).error_line
    )
    assert (
        "unknown event type(s) Nope"
        in jf(
            "webhook",
            "add",
            "--org",
            "city",
            "--url",
            "https://x.example",
            "--events",
            "Nope",
            code=1,
        ).error_line
    )
    assert len(jf("webhook", "list", "--json").json) == 2  # the refused stored nothing
    jf("webhook", "remove", str(added["id"]))
    assert (
        f"no webhook {added['id']}" in jf("webhook", "remove", str(added["id"]), code=1).error_line
    )


def test_failed_deliveries_are_listed_and_retried(jf: Jointflow, sink: tuple[Sink, int]) -> None:
    mails, _ = sink
    mails.refuse[s.OE_APPROVER] = "550 5.1.1 mailbox unavailable"
    program_id = create(jf)
    jf("program", "submit", str(program_id), as_=s.COORDINATOR)

    [dead] = jf("deliveries", "list", "--failed", "--json").json
    assert (dead["recipient"], dead["channel"], dead["status"], dead["attempts"]) == (
        s.OE_APPROVER,
        "email",
        "dead",
        1,
    )
    assert "550 5.1.1 mailbox unavailable" in dead["last_error"]
    table = jf("deliveries", "list", "--failed").out
    assert s.OE_APPROVER in table and "dead" in table
    assert (
        "only the operator or an admin"
        in jf("deliveries", "list", as_=s.CITY_APPROVER, code=1).error_line
    )
    assert "give delivery IDs or --all-failed" in jf("deliveries", "retry", code=2).usage_error

    del mails.refuse[s.OE_APPROVER]
    retried = jf("deliveries", "retry", "--all-failed")
    assert retried.out.strip() == f"delivery {dead['id']} (email to {s.OE_APPROVER}): sent"
    assert len(mails.to(s.OE_APPROVER)) == 1
    assert jf("deliveries", "list", "--failed").out.strip() == "no failed deliveries"
    assert (
        f"no failed delivery {dead['id']}"
        in jf("deliveries", "retry", str(dead["id"]), code=1).error_line
    )
