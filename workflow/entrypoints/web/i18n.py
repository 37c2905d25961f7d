"""The pages' words in Korean (the default) and English, and how people read numbers and
times: amounts as ``8,000만 원`` / ``₩80,000,000``, instants in Seoul time.

A key missing from the catalogue shows the key itself, which a test would catch.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from workflow.domain.calendar import SEOUL
from workflow.domain.directory import DEFAULT_LOCALE, LOCALES
from workflow.domain.messaging import spell_day
from workflow.domain.money import spell_krw
from workflow.entrypoints.web.people_words import WORDS as PEOPLE_WORDS

WORDS: dict[str, tuple[str, str]] = {  # key: (ko, en)
    **PEOPLE_WORDS,
    "app": ("파주 교육협력 사업 관리", "Paju joint programs"),
    "my_work": ("내 업무", "My work"),
    "programs": ("사업 목록", "Programs"),
    "new_program": ("새 사업 제안", "New proposal"),
    "budget": ("예산", "Budget"),
    "waiting": ("처리 대기 현황", "Waiting on whom"),
    "sign_in": ("로그인", "Sign in"),
    "sign_out": ("로그아웃", "Sign out"),
    "email": ("이메일", "Email"),
    "password": ("비밀번호", "Password"),
    "wrong_password": ("이메일 또는 비밀번호가 맞지 않습니다.", "Wrong email or password."),
    "locked": (
        "비밀번호를 5회 잘못 입력해 {until}까지 로그인할 수 없습니다.",
        "Five wrong passwords: sign-in is locked until {until}.",
    ),
    "link_ask": ("메일로 로그인 링크 받기", "Email me a sign-in link"),
    "link_send": ("링크 보내기", "Send the link"),
    "link_sent": (
        "{email}에 계정이 있으면 로그인 링크를 보냈습니다. {minutes}분 안에 메일의 링크를 여세요.",
        "If {email} has an account, a sign-in link is on its way. Open it within {minutes} "
        "minutes.",
    ),
    "link_title": ("로그인 링크", "Sign-in link"),
    "link_press": ("아래 단추를 누르면 로그인됩니다.", "Press the button to sign in."),
    "link_refused": (
        "이 링크는 만료되었거나 이미 사용되었습니다.",
        "This link has expired or has been used already.",
    ),
    "link_missing": (
        "링크가 온전하지 않습니다. 메일에 있는 링크를 그대로 여세요.",
        "The link is incomplete: open the one in the mail as it is.",
    ),
    "with_password": ("비밀번호로 로그인", "Sign in with a password"),
    "signed_in_as": ("{name} 님", "Signed in as {name}"),
    "language": ("English", "한국어"),
    "skip": ("본문으로 건너뛰기", "Skip to content"),
    # my work
    "no_tasks": ("처리할 업무가 없습니다.", "Nothing waits for you."),
    "task": ("업무", "Task"),
    "program": ("사업", "Program"),
    "party": ("기관", "Party"),
    "due": ("기한", "Due"),
    "overdue": ("{days}일 지남", "{days} days overdue"),
    "headroom": ("승인 시 잔액 {amount}", "Left if approved: {amount}"),
    "claimed_by": ("담당: {who}", "Claimed by {who}"),
    "assignee": ("담당", "Claimed"),
    "acting_for": ("{who} 님 대결", "For {who} (stand-in)"),
    "claim": ("맡기", "Claim"),
    "release": ("놓기", "Release"),
    "select": ("선택", "Select"),
    "bulk_approve": ("선택 항목 승인", "Approve selected"),
    "bulk_reject": ("선택 항목 반려", "Reject selected"),
    "bulk_result": ("처리 결과", "Result"),
    "done": ("완료", "Done"),
    "more": ("다음 쪽", "Next page"),
    # task kinds
    "kind_submit": ("제출", "Submit"),
    "kind_review": ("검토", "Review"),
    "kind_revise": ("보완", "Revise"),
    "kind_commit_funds": ("예산 확정", "Commit funds"),
    "kind_submit_evaluation": ("평가 보고", "Evaluation report"),
    "kind_evaluate": ("평가", "Evaluate"),
    # program
    "state": ("상태", "State"),
    "org": ("수행 기관", "Organization"),
    "category": ("분야", "Category"),
    "year": ("회계연도", "Fiscal year"),
    "period": ("운영 기간", "Period"),
    "start_day": ("운영 시작일", "Start date"),
    "end_day": ("운영 종료일", "End date"),
    "title": ("사업명", "Title"),
    "description": ("사업 내용", "Description"),
    "requests": ("요청 금액", "Requested"),
    "request_for": ("{party} 요청 금액", "Request to {party}"),
    "money": ("기관별 예산", "Money per funder"),
    "requested": ("요청", "Requested"),
    "held": ("가확보", "Held"),
    "committed": ("확정", "Committed"),
    "disbursed": ("집행", "Disbursed"),
    "available": ("잔액", "Available"),
    "envelope": ("예산액", "Envelope"),
    "share": ("확정·가확보 비율", "Committed and held share"),
    "decisions": ("기관별 결정", "Decisions"),
    "pending": ("대기", "Pending"),
    "timeline": ("처리 이력", "Timeline"),
    "diagram": ("처리 흐름", "Workflow"),
    "actions": ("할 수 있는 일", "What you can do"),
    "no_actions": ("지금 할 수 있는 일이 없습니다.", "Nothing for you to do now."),
    "comment": ("의견", "Comment"),
    "reason": ("사유", "Reason"),
    "amount": ("금액", "Amount"),
    "memo": ("메모", "Memo"),
    "summary": ("결과 요약", "Summary"),
    "spent": ("{party} 집행액", "Spent of {party}"),
    "score": ("점수 (1-5)", "Score (1-5)"),
    "changes": ("마지막 결정 이후 바뀐 내용", "Changed since your last decision"),
    "field": ("항목", "Field"),
    "before": ("이전", "Before"),
    "after": ("이후", "After"),
    "waiting_on": ("처리 대기", "Waiting on"),
    "waitlisted_for": ("예산 대기 사유", "Why it waits for money"),
    "retry_pending": ("예산이 생겨 곧 다시 시도합니다.", "Money came free: it is retried shortly."),
    "reasons_given": ("결정 사유", "Reasons given"),
    "seoul_time": ("서울 시각", "Seoul time"),
    "kind_budget": ("예산 부족", "Short of money"),
    "export_audit": ("감사 기록 내려받기", "Download the audit trail"),
    "ledger": ("원장", "Ledger"),
    # documents
    "files": ("첨부 파일", "Files"),
    "no_files": ("첨부된 파일이 없습니다.", "No files attached."),
    "file_name": ("파일명", "File"),
    "file_kind": ("구분", "Kind"),
    "kind_file_proposal": ("사업계획서", "Proposal"),
    "kind_file_report": ("결과보고서", "Report"),
    "file_round": ("{n}차", "round {n}"),
    "file_sealed": ("제출됨", "submitted"),
    "file_size": ("크기", "Size"),
    "bytes": ("바이트", "bytes"),
    "file_by": ("첨부", "Attached"),
    "file_attach": ("파일 첨부", "Attach a file"),
    "file_choose": ("파일 선택", "Choose a file"),
    "file_hint": (
        "PDF, HWP/HWPX, DOCX, XLSX, PNG, JPEG · 파일당 {limit}까지",
        "PDF, HWP/HWPX, DOCX, XLSX, PNG, JPEG · up to {limit} each",
    ),
    "file_remove": ("삭제", "Remove"),
    # actions
    "act_edit": ("수정", "Edit"),
    "act_submit": ("제출", "Submit"),
    "act_withdraw": ("철회", "Withdraw"),
    "act_approve": ("승인", "Approve"),
    "act_reject": ("반려", "Reject"),
    "act_request_changes": ("보완 요청", "Request changes"),
    "act_commit": ("예산 확정", "Commit funds"),
    "act_disburse": ("집행", "Disburse"),
    "act_report": ("평가 보고 제출", "Submit the report"),
    "act_accept": ("평가 승인", "Accept the report"),
    "act_return_report": ("평가 반려", "Return the report"),
    "act_cancel": ("사업 취소", "Cancel the program"),
    "act_refund": ("반납 기록", "Record refund"),
    "refund_due": ("반납 예정액", "Refund due"),
    "act_amend": ("예산 변경 (추경)", "Amend envelope"),
    "amend_by": ("증감액 (+ 증액, - 감액)", "Change (+ raises, - lowers)"),
    "drop_request": ("{party} 요청 삭제", "Drop the request to {party}"),
    "save": ("저장", "Save"),
    "create": ("제안 저장", "Save the proposal"),
    # budget & waiting
    "waitlist": ("예산 대기 목록", "Waitlist"),
    "no_waitlist": ("예산을 기다리는 사업이 없습니다.", "No program waits for money."),
    "step": ("단계", "Step"),
    "days_waiting": ("대기 일수", "Days waiting"),
    "sla": ("처리 기한(일)", "SLA (days)"),
    "last_reminder": ("마지막 알림", "Last reminder"),
    "only_overdue": ("기한 지난 것만", "Overdue only"),
    "late": ("기한 지남", "overdue"),
    "filter": ("보기", "Show"),
    "all_parties": ("모든 기관", "Every party"),
    "exports": ("내려받기", "Downloads"),
    # the downloads' columns and file names
    "number": ("번호", "No."),
    "audit_seq": ("순번", "Seq"),
    "audit_at": ("일시 (서울)", "At (Seoul)"),
    "audit_type": ("사건", "Event"),
    "audit_actor": ("처리자", "Actor"),
    "audit_data": ("내용 (JSON)", "Data (JSON)"),
    "audit_stream": ("스트림", "Stream"),
    "audit_prev_hash": ("이전 해시", "Previous hash"),
    "audit_hash": ("해시", "Hash"),
    "file_programs": ("사업목록", "programs"),
    "file_budget": ("예산현황", "budget"),
    "file_audit": ("사업{id}_감사기록", "program-{id}-audit"),
    "none": ("없음", "none"),
    "messages": ("알림", "Messages"),
    "no_messages": ("받은 알림이 없습니다.", "No messages."),
    "unread": ("읽지 않음", "unread"),
    "mark_read": ("읽음으로 표시", "Mark read"),
    "read_all": ("모두 읽음으로 표시", "Mark all read"),
    "preferences": ("알림 받는 방법", "How I am told"),
    "message_kind": ("알림 종류", "Kind of message"),
    "required": ("끌 수 없음", "required"),
    "channel_email": ("이메일", "Email"),
    "channel_inapp": ("화면 알림", "In the app"),
    "msg_review_request": ("검토 요청", "Review requests"),
    "msg_decision": ("내 사업에 대한 결정", "Decisions on my programs"),
    "msg_commit_due": ("예산 확정 요청", "Commitments due"),
    "msg_program_update": ("사업 진행 소식", "Program updates"),
    "msg_budget_notice": ("예산 알림", "Budget notices"),
    "msg_reminder_digest": ("매일 업무 알림", "Daily reminder digest"),
    "msg_escalation": ("기한 초과 보고", "Escalations"),
    "amount_hint": (
        "금액은 80,000,000 또는 8000만처럼 원 단위로 입력해 주세요.",
        "Type an amount in won, such as 80,000,000 or 8000만.",
    ),
    "error": ("요청을 처리할 수 없습니다", "The request could not be done"),
    "back": ("돌아가기", "Back"),
    "not_found": ("찾을 수 없습니다", "Not found"),
}

STATES: dict[str, tuple[str, str]] = {
    "draft": ("작성 중", "draft"),
    "submitted": ("제출됨", "submitted"),
    "waitlisted": ("예산 대기", "waitlisted"),
    "in_review": ("검토 중", "in review"),
    "revision_requested": ("보완 요청", "changes requested"),
    "approved": ("승인", "approved"),
    "funded": ("예산 확정", "funded"),
    "active": ("운영 중", "running"),
    "evaluation_due": ("평가 보고 대기", "evaluation due"),
    "under_evaluation": ("평가 중", "under evaluation"),
    "closed": ("종료", "closed"),
    "cancelled": ("취소", "cancelled"),
    "expired": ("만료", "expired"),
    "rejected": ("반려", "rejected"),
    "withdrawn": ("철회", "withdrawn"),
    "pending": ("대기", "pending"),
    "approve": ("승인", "approved"),
    "reject": ("반려", "rejected"),
    "request-changes": ("보완 요청", "changes requested"),
    "accept": ("승인", "accepted"),
    "return": ("반려", "returned"),
}


EVENTS: dict[str, tuple[str, str]] = {  # the timeline's words for a program's events
    "ProgramCreated": ("제안 작성", "proposal drafted"),
    "ProgramUpdated": ("제안 수정", "proposal edited"),
    "ProgramSubmitted": ("제출", "submitted"),
    "ProgramResubmitted": ("재제출", "resubmitted"),
    "BudgetHeld": ("예산 가확보", "money held"),
    "BudgetUnavailable": ("예산 부족", "no room in the budget"),
    "ProgramWaitlisted": ("예산 대기 등록", "waitlisted"),
    "ReviewStarted": ("검토 시작", "review started"),
    "PartyApproved": ("기관 승인", "approved by a party"),
    "PartyRejected": ("기관 반려", "rejected by a party"),
    "ChangesRequested": ("보완 요청", "changes requested"),
    "RevisionRequested": ("보완 단계로", "sent back for revision"),
    "ProgramApproved": ("최종 승인", "approved by both"),
    "ProgramRejected": ("반려", "rejected"),
    "ProgramWithdrawn": ("철회", "withdrawn"),
    "HoldReleased": ("가확보 해제", "hold released"),
    "FundsCommitted": ("예산 확정", "funds committed"),
    "ProgramFunded": ("예산 확정 완료", "funded"),
    "ProgramActivated": ("운영 시작", "run started"),
    "FundsDisbursed": ("집행", "tranche paid"),
    "EvaluationDue": ("평가 보고 요청", "evaluation due"),
    "EvaluationReportSubmitted": ("평가 보고 제출", "report submitted"),
    "EvaluationAccepted": ("평가 승인", "evaluation accepted"),
    "EvaluationReturned": ("평가 반려", "evaluation returned"),
    "EvaluationReportReturned": ("보고서 반려", "report returned"),
    "CommitmentReleased": ("미집행액 반납", "unspent money released"),
    "ProgramClosed": ("종료", "closed"),
    "ProgramCancelled": ("취소", "cancelled"),
    "HoldsExpired": ("가확보 만료", "holds lapsed"),
    "ProgramExpired": ("만료", "expired"),
    "TaskClaimed": ("업무 맡음", "task claimed"),
    "TaskReleased": ("업무 놓음", "task released"),
    "TaskReassigned": ("업무 재배정", "task reassigned"),
    "TaskEscalated": ("상급자 보고", "escalated"),
    "ActionRefused": ("거부된 시도", "refused attempt"),
    "DocumentAttached": ("파일 첨부", "file attached"),
    "DocumentRemoved": ("첨부 파일 삭제", "file removed"),
}


def pick_locale(asked: str | None, user_locale: str | None) -> str:
    for choice in (asked, user_locale):
        if choice in LOCALES:
            return choice
    return DEFAULT_LOCALE


class Words:
    """The words of one locale, for the templates (``_('key', name=...)``)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._en = locale == "en"

    def __call__(self, key: str, **values: Any) -> str:
        pair = WORDS.get(key)
        text = key if pair is None else pair[self._en]
        return text.format(**values) if values else text

    def state(self, name: str | None) -> str:
        pair = STATES.get(name or "")
        return (name or "") if pair is None else pair[self._en]

    def event(self, kind: str) -> str:
        pair = EVENTS.get(kind)
        return kind if pair is None else pair[self._en]

    def krw(self, amount: int | None) -> str:
        return "" if amount is None else spell_krw(int(amount), self.locale)

    def day(self, value: date | str | None) -> str:
        if not value:
            return ""
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
        return spell_day(day, self.locale)

    def when(self, value: datetime | str | None) -> str:
        """An instant in Seoul time: ``2026년 2월 2일 09:00`` / ``2 February 2026, 09:00``."""
        if not value:
            return ""
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        local = moment.astimezone(SEOUL)
        day = spell_day(local.date(), self.locale)
        if self._en:
            return f"{day} {local.year}, {local:%H:%M}"
        return f"{local.year}년 {day} {local:%H:%M}"
