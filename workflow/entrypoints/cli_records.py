"""What ``program show``, ``program history`` and ``waiting`` print for people: the
record an approver decides on, the history as sentences, the waitlist's reasons.

Korean by default, English by the acting user's locale; every time is Seoul's and
says so. ``--json`` prints the read models unchanged (ISO 8601 with offset).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workflow.entrypoints.cli_words import state as state_name
from workflow.entrypoints.narrative import Narrator

LABELS: dict[str, tuple[str, str]] = {  # key: (ko, en)
    "program": ("사업", "Program"),
    "state": ("상태", "state"),
    "workflow": ("워크플로", "workflow"),
    "round": ("검토 차수", "round"),
    "org": ("수행 기관", "org"),
    "category": ("분야", "category"),
    "year": ("회계연도", "fiscal year"),
    "period": ("운영 기간", "dates"),
    "through": ("종료일까지 운영", "runs through its end date"),
    "description": ("사업 내용", "description"),
    "requested": ("요청", "requested"),
    "held": ("가확보", "held"),
    "expires": ("만료", "expires"),
    "committed": ("확정", "committed"),
    "disbursed": ("집행", "disbursed"),
    "waitlisted_for": ("예산 대기 사유", "why waitlisted"),
    "retry": ("예산이 생겨 재시도 대기 중", "money came free: the retry is on its way"),
    "decisions": ("기관별 결정", "decisions"),
    "pending": ("대기", "pending"),
    "approved": ("승인", "approved"),
    "rejected": ("반려", "rejected"),
    "changes_requested": ("보완 요청", "changes requested"),
    "reasons": ("사유", "reasons"),
    "withdrawn": ("철회", "withdrawn"),
    "cancelled": ("취소", "cancelled"),
    "evaluation_returned": ("평가 반려", "report returned"),
    "report": ("평가 보고", "report"),
    "spent": ("집행", "spent"),
    "evaluation": ("평가", "evaluation"),
    "scheduled": ("예약", "scheduled"),
    "activate": ("운영 시작", "run starts"),
    "finish": ("운영 종료", "run ends"),
    "expire": ("가확보 만료", "holds lapse"),
    "waiting_on": ("처리 대기", "waiting on"),
    "budget": ("예산 부족", "budget"),
    "history": ("처리 이력", "history"),
    "nothing_waiting": ("기다리는 사업이 없습니다", "nothing waiting"),
    "business_days": ("대기 영업일", "business days"),
    "sla": ("기한(일)", "sla"),
    "last_reminder": ("마지막 알림", "last reminder"),
    "why": ("사유", "why"),
    "refund_due": ("반납 예정", "refund due"),
    "file": ("첨부 파일", "file"),
    "proposal": ("사업계획서", "proposal"),
}
TASK_STEPS = {
    "submit": ("제출", "submit"),
    "review": ("검토", "review"),
    "revise": ("보완", "revise"),
    "commit_funds": ("예산 확정", "commit_funds"),
    "submit_evaluation": ("평가 보고", "submit_evaluation"),
    "evaluate": ("평가", "evaluate"),
    "budget": ("예산 부족", "budget"),
}


class Text:
    """Labels and sentences in one language."""

    def __init__(self, tell: Narrator) -> None:
        self.tell = tell

    def __call__(self, key: str) -> str:
        return self.tell.pick(LABELS.get(key, (key, key)))

    def step(self, kind: str) -> str:
        return self.tell.pick(TASK_STEPS.get(kind, (kind, kind)))

    def waiting(self, steps: list[dict[str, str]]) -> str:
        return ", ".join(f"{self.tell.org(s['org'])} ({self.step(s['step'])})" for s in steps)


# -- the texts --


def show_text(p: dict[str, Any], tell: Narrator) -> str:
    t = Text(tell)
    money = [("requested", p["requested"]), ("held", p["holds"]),
             ("committed", p["committed"]), ("disbursed", p["disbursed"])]  # fmt: skip
    lines = [
        f"{t('program')} {p['id']}: {p['title']}",
        f"  {t('state')}: {state_name(p['state'])}   ({t('workflow')} {p['workflow']}, "
        f"{t('round')} {p['review_round']})",
        f"  {t('org')}: {tell.org(p['org'])}   {t('category')}: {p['category']}   "
        f"{t('year')}: {p['year']}",
        f"  {t('period')}: {p['start'] or '-'} ~ {p['end'] or '-'} ({t('through')})",
    ]
    if p["description"]:
        lines.append(f"  {t('description')}:")
        lines.extend(f"    {line}" for line in p["description"].splitlines())
    for key, amounts in money:
        if amounts or key == "requested":
            extra = ""
            if key == "held" and p["holds_expire_at"]:
                extra = f"   ({t('expires')} {tell.when(p['holds_expire_at'])})"
            lines.append(f"  {t(key)}: {tell.splits(amounts)}{extra}")
    if p["state"] == "waitlisted":
        lines.append(f"  {t('waitlisted_for')}:")
        lines.extend(f"    {tell.shortfall(s)}" for s in p["waitlisted_for"])
        if not p["waitlisted_for"]:
            lines.append(f"    {t('retry')}")
    lines.extend(_decisions(p, t))
    lines.extend(_reasons(p["reasons"], t))
    if p.get("refunds_due"):
        lines.append(f"  {t('refund_due')}: {tell.splits(p['refunds_due'])}")
    for f in p.get("files", []):
        lines.append(f"  {t('file')}: {f['name']} ({t(f['kind'])}, {f['size']:,} B, "
                     f"sha256 {f['sha256'][:12]})")  # fmt: skip
    lines.extend(_evaluation(p, t))
    for work in p["scheduled"]:
        lines.append(f"  {t('scheduled')}: {t(work['action'])} {tell.when(work['due_at'])}")
    if p["waiting_for"]:
        lines.append(f"  {t('waiting_on')}: {t.waiting(p['waiting_for'])}")
    lines.append(f"  ({tell.seoul_mark()})")
    return "\n".join(lines)


def _decisions(p: dict[str, Any], t: Text) -> list[str]:
    lines = [f"  {t('decisions')}:"]
    for party, state in p["parties"].items():
        d = p["decisions"].get(party)
        if d is None:
            lines.append(f"    {t.tell.org(party)}: {t(state)}")
            continue
        comment = f": {d['comment']}" if d["comment"] else ""
        lines.append(
            f"    {t.tell.org(party)}: {t(d['decision'])} — "
            f"{t.tell.who(d['by'], d['acting_for'])} {t.tell.when(d['at'])}{comment}"
        )
    return lines


def _reasons(reasons: list[dict[str, Any]], t: Text) -> list[str]:
    if not reasons:
        return []
    lines = [f"  {t('reasons')}:"]
    for r in reasons:
        party = f" ({t.tell.org(r['party'])})" if r["party"] else ""
        lines.append(
            f"    {t.tell.when(r['at'])} {t(r['kind'])}{party} — "
            f"{t.tell.who(r['by'], r['acting_for'])}: {r['text']}"
        )
    return lines


def _evaluation(p: dict[str, Any], t: Text) -> list[str]:
    lines = []
    if p["report"]:
        r = p["report"]
        lines.append(f"  {t('report')}: {t('spent')} {t.tell.splits(r['spent'])} — {r['summary']}")
    for party, e in p["evaluations"].items():
        score = f" ({e['score']}/5)" if e["score"] else ""
        verdict = {"accepted": "approved", "returned": "rejected"}.get(e["verdict"], e["verdict"])
        lines.append(f"  {t('evaluation')}: {t.tell.org(party)} {t(verdict)}{score}")
    return lines


def history_text(rows: Iterable[dict[str, Any]], tell: Narrator) -> str:
    """One sentence a line, oldest first, under a heading that says the times are Seoul's."""
    return "\n".join(
        [f"{Text(tell)('history')} ({tell.seoul_mark()})", *(tell.line(r) for r in rows)]
    )


def waiting_rows(
    rows: list[dict[str, Any]], tell: Narrator
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The board's table: a waitlisted program's reason in its own column."""
    t = Text(tell)
    table = [
        (
            r["program"],
            state_name(r["state"]),
            t.waiting(r["waiting_for"]),
            r["business_days_waiting"],
            r["sla_days"] if r["sla_days"] is not None else "-",
            tell.when(r["last_reminder"]) if r["last_reminder"] else "-",
            tell.shortfalls(r["waitlisted_for"]) or "-",
        )
        for r in rows
    ]
    headers = [t("program"), t("state"), t("waiting_on"), t("business_days"), t("sla"),
               f"{t('last_reminder')} ({tell.seoul_mark()})", t("why")]  # fmt: skip
    return table, headers
