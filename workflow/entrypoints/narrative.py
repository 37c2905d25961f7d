"""A program's history as sentences people read, in Korean (the default) or English:
``2026-03-04 14:00 김민지(파주시) 보완 요청: 예산 내역 보완 바람``.

One sentence per event type -- every type of ``domain.events`` and every event a
workflow definition records (a test fails when one has none). The date and time are
Seoul's (``SEOUL_MARK`` says so where they are shown), people are named with their
organization (and whom a delegate acted for), amounts are spelled as people write
them (``8,000만 원``). ``--json`` and the API keep the raw events; this module is
for the CLI's text, the program page's timeline and the API's ``text`` beside each
event. It imports nothing of the web pages (the CLI must not load FastAPI to talk).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from workflow.domain import events as ev
from workflow.domain.calendar import SEOUL
from workflow.domain.directory import DEFAULT_LOCALE, LOCALES
from workflow.domain.money import spell_krw
from workflow.domain.visibility import Viewer

SEOUL_MARK = {"ko": "서울 시각", "en": "Seoul time"}

# Reasons the engine itself records (hold and commitment releases), in people's words.
ENGINE_REASONS: dict[str, tuple[str, str]] = {
    "revised request": ("요청 금액 변경", "the request changed"),
    "rejected": ("반려", "rejected"),
    "withdrawn": ("철회", "withdrawn"),
    "hold expired": ("가확보 기한 만료", "the hold lapsed"),
    "cancelled": ("사업 취소", "cancelled"),
    "unspent at closing": ("정산 후 미집행액", "unspent at closing"),
}
TASK_KINDS: dict[str, tuple[str, str]] = {
    "submit": ("제출", "submission"),
    "review": ("검토", "review"),
    "revise": ("보완", "revision"),
    "commit_funds": ("예산 확정", "commitment"),
    "submit_evaluation": ("평가 보고", "evaluation report"),
    "evaluate": ("평가", "evaluation"),
}

# type: (Korean, English) verb phrase after the person; {fields} from ``_fields``.
PHRASES: dict[str, tuple[str, str]] = {
    ev.PROGRAM_CREATED: (
        "제안 작성: {title} — 요청 {requests}",
        "drafted “{title}”, asking {requests}",
    ),
    ev.PROGRAM_UPDATED: ("제안 수정 — 요청 {requests}", "edited the proposal, asking {requests}"),
    ev.PROGRAM_SUBMITTED: ("제출", "submitted the proposal"),
    ev.PROGRAM_RESUBMITTED: ("보완 후 재제출", "resubmitted it after changes"),
    ev.BUDGET_HELD: ("{side}예산 {amount} 가확보", "held {amount}{for_side}"),
    ev.BUDGET_UNAVAILABLE: ("가확보 실패 — {short}", "found no room: {short}"),
    ev.PROGRAM_WAITLISTED: ("예산 대기 등록", "put it on the waitlist"),
    ev.REVIEW_STARTED: ("공동 검토 시작", "started the joint review"),
    ev.PARTY_APPROVED: ("{side}승인{note}", "approved{for_side}{note}"),
    ev.PARTY_REJECTED: ("{side}반려{note}", "rejected it{for_side}{note}"),
    ev.CHANGES_REQUESTED: ("{side}보완 요청{note}", "asked for changes{for_side}{note}"),
    "RevisionRequested": ("보완 요청으로 돌려보냄", "sent it back for changes"),
    ev.PROGRAM_APPROVED: ("모든 기관 승인", "saw it approved by every party"),
    ev.PROGRAM_REJECTED: ("반려로 종결", "closed it as rejected"),
    ev.PROGRAM_WITHDRAWN: ("철회{note}", "withdrew it{note}"),
    ev.HOLD_RELEASED: (
        "{party} 가확보 {amount} 해제 ({reason})",
        "released {party}'s hold of {amount} ({reason})",
    ),
    ev.FUNDS_COMMITTED: ("{side}예산 {amount} 확정", "committed {amount}{for_side}"),
    ev.PROGRAM_FUNDED: ("모든 기관 예산 확정", "saw it funded by every funder"),
    "ProgramActivated": ("운영 시작", "started the run"),
    ev.FUNDS_DISBURSED: (
        "{side}{tranche}차 집행 {amount}{note}",
        "paid tranche {tranche} of {amount}{for_side}{note}",
    ),
    ev.EVALUATION_DUE: ("운영 종료, 평가 보고 요청", "ended the run: the evaluation is due"),
    "EvaluationReportSubmitted": (
        "평가 보고 제출{spent}",
        "submitted the evaluation report{spent}",
    ),
    ev.EVALUATION_ACCEPTED: (
        "{side}평가 승인{score}{note}",
        "accepted the report{for_side}{score}{note}",
    ),
    ev.EVALUATION_RETURNED: ("{side}평가 반려{note}", "returned the report{for_side}{note}"),
    "EvaluationReportReturned": ("평가 보고 다시 요청", "asked for the report again"),
    ev.COMMITMENT_RELEASED: (
        "{party} 확정액 {amount} 반환 ({reason})",
        "gave back {amount} of {party}'s commitment ({reason})",
    ),
    ev.PROGRAM_CLOSED: ("사업 종료", "closed the program"),
    ev.PROGRAM_CANCELLED: ("사업 취소{note}", "cancelled the program{note}"),
    ev.HOLDS_EXPIRED: ("가확보 기한 만료 ({expired})", "let the holds lapse ({expired})"),
    "ProgramExpired": ("기한 만료로 종결", "closed it as expired"),
    ev.ENVELOPE_ADDED: (
        "{party} {year}년 예산 {amount} 편성",
        "opened {party}'s {year} budget of {amount}",
    ),
    ev.ORGANIZATION_ADDED: ("기관 등록: {name}", "added the organization {name}"),
    ev.USER_ADDED: ("사용자 등록: {email}", "added the user {email}"),
    ev.TOKEN_ISSUED: ("API 토큰 발급: {email}", "issued an API token to {email}"),
    ev.TOKENS_REVOKED: ("API 토큰 폐기: {email}", "revoked the API tokens of {email}"),
    ev.PASSWORD_SET: ("비밀번호 설정: {email}", "set the password of {email}"),
    ev.SIGNED_IN: ("로그인", "signed in"),
    ev.SIGN_IN_REFUSED: ("로그인 거부", "was refused sign-in"),
    ev.ACCOUNT_LOCKED: ("로그인 잠금", "locked the account"),
    ev.SIGNED_OUT: ("로그아웃", "signed out"),
    ev.SIGN_IN_LINK_SENT: ("로그인 링크 발송", "was sent a sign-in link"),
    ev.SIGN_IN_LINK_REFUSED: ("로그인 링크 거부{note}", "was refused a sign-in link{note}"),
    ev.USER_DEACTIVATED: ("사용자 비활성화: {email}", "deactivated {email}"),
    ev.USER_ACTIVATED: ("사용자 재활성화: {email}", "reactivated {email}"),
    ev.USER_ROLES_CHANGED: (
        "역할 변경: {email} — {before} → {after}",
        "changed the roles of {email}: {before} → {after}",
    ),
    ev.USER_LOCALE_CHANGED: (
        "언어 변경: {email} — {before} → {after}",
        "changed the language of {email}: {before} → {after}",
    ),
    ev.ORGANIZATION_RENAMED: (
        "기관 이름 변경: {before} → {after}",
        "renamed the organization {before} to {after}",
    ),
    ev.DOCUMENT_ATTACHED: ("파일 첨부: {name}", "attached the file {name}"),
    ev.DOCUMENT_REMOVED: ("파일 삭제: {name}", "removed the file {name}"),
    ev.REFUND_RECORDED: (
        "{side}반납 {amount} 수령{note}",
        "recorded a refund of {amount}{for_side}{note}",
    ),
    ev.ENVELOPE_AMENDED: (
        "{party} {year}년 예산 {change} 변경, {amount}{note}",
        "amended {party}'s {year} budget by {change} to {amount}{note}",
    ),
    ev.ACTION_REFUSED: ("거부된 시도{note}", "was refused{note}"),
    ev.TASK_CLAIMED: ("{kind} 업무 맡음", "claimed the {kind} task"),
    ev.TASK_RELEASED: ("{kind} 업무 놓음", "released the {kind} task"),
    ev.TASK_REASSIGNED: ("{kind} 업무를 {to}에게 재배정", "reassigned the {kind} task to {to}"),
    ev.REMINDER_DIGEST_SENT: ("업무 알림 발송", "sent the reminder digest"),
    ev.TASK_ESCALATED: ("기한 초과를 상급자에게 보고", "escalated overdue work to a supervisor"),
    ev.BUDGET_NOTICE_SENT: ("예산 알림 발송", "sent a budget notice"),
    ev.DELEGATION_SET: (
        "대결 지정: {delegate} ({period})",
        "named {delegate} as stand-in ({period})",
    ),
    ev.DELEGATION_CLEARED: ("대결 해제", "ended the stand-in"),
    ev.PREFERENCE_SET: ("알림 받는 방법 변경", "changed how they are told"),
    ev.WEBHOOK_ADDED: ("웹훅 등록: {url}", "added the webhook {url}"),
    ev.WEBHOOK_REMOVED: ("웹훅 삭제", "removed a webhook"),
    ev.DELIVERY_DEAD: ("알림 전달 실패 ({recipient})", "gave up delivering to {recipient}"),
    ev.DELIVERY_RETRIED: ("알림 재전송", "retried failed deliveries"),
}
SHORTFALL = (
    "{party} 예산 부족: 요청 {requested}, 가용 {available} — {missing} 부족",
    "{party} budget short: requested {requested}, available {available} — {missing} missing",
)
NO_ENVELOPE = (
    "{party} 해당 연도 예산 미편성: 요청 {requested}",
    "{party} has no budget for the year: requested {requested}",
)
ACTORS = {ev.SYSTEM: ("시스템", "The system"), ev.OPERATOR: ("운영자", "The operator")}


def locale_of(viewer: Viewer | None) -> str:
    """The reader's language: their own locale, Korean for the operator and by default."""
    if viewer is not None and viewer.user is not None and viewer.user.locale in LOCALES:
        return viewer.user.locale
    return DEFAULT_LOCALE


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class Narrator:
    """Sentences of one language; ``names``: ``{"people": {email: {name, org}}, "orgs":
    {key: name}}`` as ``record_views.names`` reads them (unknown ones show as given)."""

    def __init__(self, locale: str = DEFAULT_LOCALE, names: Mapping[str, Any] | None = None):
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._en = self.locale == "en"
        self._people: Mapping[str, Mapping[str, str]] = (names or {}).get("people", {})
        self._orgs: Mapping[str, str] = (names or {}).get("orgs", {})

    def speaking(self, locale: str) -> Narrator:
        """The same names in another language (the CLI's ``--lang``)."""
        return Narrator(locale, {"people": self._people, "orgs": self._orgs})

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[self._en]

    # -- the parts of a sentence --
    def when(self, at: str | datetime | None) -> str:
        """``2026-03-04 14:00``: the Seoul wall clock (see ``SEOUL_MARK``)."""
        if not at:
            return "-"
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        return moment.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M")

    def seoul_mark(self) -> str:
        return SEOUL_MARK[self.locale]

    def org(self, key: str | None) -> str:
        return self._orgs.get(key or "", key or "-")

    def person(self, email: str | None) -> str:
        """``김민지(파주시)`` / ``김민지 (Paju City)``; the engine and the operator by role."""
        if not email:
            return "-"
        if email in ACTORS:
            return self.pick(ACTORS[email])
        known = self._people.get(email)
        if known is None:
            return email
        org = self.org(known.get("org"))
        return f"{known['name']} ({org})" if self._en else f"{known['name']}({org})"

    def who(self, email: str | None, acting_for: str | None = None) -> str:
        """The person, and whom they acted for when a delegate acted (대결):
        ``오태양(파주교육지원청, 강혜원 대결)`` / ``Oh Taeyang (Office of Education, for
        Kang Hyewon)``."""
        if not acting_for:
            return self.person(email)
        other = self._people.get(acting_for, {}).get("name", acting_for)
        known = self._people.get(email or "")
        name = known["name"] if known else (email or "-")
        org = self.org(known.get("org")) if known else None
        if self._en:
            return f"{name} ({org}, for {other})" if org else f"{name} (for {other})"
        return f"{name}({org}, {other} 대결)" if org else f"{name}({other} 대결)"

    def krw(self, amount: int | None) -> str:
        return "-" if amount is None else spell_krw(int(amount), self.locale)

    def splits(self, amounts: Mapping[str, int] | None) -> str:
        return ", ".join(f"{self.org(p)} {self.krw(a)}" for p, a in (amounts or {}).items()) or "-"

    def shortfall(self, short: Mapping[str, Any]) -> str:
        """``교육지원청 예산 부족: 요청 1억 원, 가용 4,000만 원 — 6,000만 원 부족``."""
        values = {
            "party": self.org(short["party"]),
            "requested": self.krw(short["requested"]),
            "available": self.krw(short["available"]),
            "missing": self.krw(short["missing"]),
        }
        template = SHORTFALL if short.get("has_envelope", True) else NO_ENVELOPE
        return self.pick(template).format(**values)

    def shortfalls(self, shorts: list[Mapping[str, Any]]) -> str:
        return "; ".join(self.shortfall(s) for s in shorts)

    # -- sentences --
    def sentence(self, event: Mapping[str, Any]) -> str:
        """The event as a sentence without its time: who did what, with the figures."""
        data: Mapping[str, Any] = event.get("data") or {}
        pair = PHRASES.get(event["type"])
        fields = self._fields(data)
        if data.get("party") and data["party"] != self._org_of(event.get("actor")):
            # "for the city" only when the person is not of the party they decided for
            fields["side"], fields["for_side"] = f"{fields['party']} ", f" for {fields['party']}"
        phrase = self.pick(pair).format_map(_Blank(fields)) if pair else event["type"]
        return f"{self.who(event.get('actor'), data.get('acting_for'))} {phrase}".rstrip()

    def _org_of(self, email: str | None) -> str | None:
        return self._people.get(email or "", {}).get("org")

    def line(self, event: Mapping[str, Any]) -> str:
        """``2026-03-04 14:00 김민지(파주시) 보완 요청: 예산 내역 보완 바람``."""
        return f"{self.when(event.get('at'))} {self.sentence(event)}"

    def _fields(self, d: Mapping[str, Any]) -> dict[str, str]:
        note = d.get("comment") or d.get("reason") or d.get("memo") or ""
        values = {
            "party": self.org(d.get("party")),
            "amount": self.krw(d.get("amount")),
            "note": f": {note}" if note else "",
            "title": str(d.get("title", "")),
            "requests": self.splits(d.get("requests")),
            "year": str(d.get("year", "")),
            "tranche": str(d.get("tranche", "")),
            "name": str(d.get("name", "")),
            "email": self.person(d.get("email")),
            "url": str(d.get("url", "")),
            "recipient": str(d.get("recipient", "")),
            "delegate": self.person(d.get("delegate")),
            "period": f"{d.get('from', '')} ~ {d.get('until', '')}",
            "kind": self.pick(TASK_KINDS.get(str(d.get("kind")), (str(d.get("kind")),) * 2)),
            "to": self.person(d.get("to")),
            "expired": self.when(d.get("expired_at")),
            "score": self._score(d.get("score")),
            "spent": self._spent(d.get("spent")),
            "short": self._short(d),
            "change": self._change(d.get("by")),
            "before": _plain(d.get("before")),
            "after": _plain(d.get("after")),
            "side": "",  # the party, when the person is not of it (see ``sentence``)
            "for_side": "",
            "reason": "",
        }
        reason = d.get("reason")
        if isinstance(reason, str):
            values["reason"] = self.pick(ENGINE_REASONS.get(reason, (reason, reason)))
        return values

    def _change(self, by: object) -> str:
        """An amendment's signed amount: ``+5억 원`` / ``-1,000만 원``."""
        if not isinstance(by, int):
            return ""
        return ("+" if by >= 0 else "-") + self.krw(abs(by))

    def _score(self, score: object) -> str:
        if not isinstance(score, int):
            return ""
        return f" ({score}/5)" if self._en else f" (점수 {score}/5)"

    def _spent(self, spent: object) -> str:
        if not isinstance(spent, Mapping):
            return ""
        return (" — spent " if self._en else " — 집행 ") + self.splits(spent)

    def _short(self, d: Mapping[str, Any]) -> str:
        if d.get("short"):
            return self.shortfalls(list(d["short"]))
        return "; ".join(map(str, d.get("shortfalls", []))) or self.pick(
            ("예산 부족", "no room in the budget")
        )


def _plain(value: object) -> str:
    """A before/after of the directory's audit: roles listed, a name or locale as is."""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or "-"
    return "" if value is None or isinstance(value, Mapping) else str(value)


def covered(event_type: str) -> bool:
    """Whether ``event_type`` has a sentence of its own."""
    return event_type in PHRASES


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
