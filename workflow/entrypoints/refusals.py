"""Refusals in the reader's language: one Korean sentence per domain ``reason`` code.

The domain raises ``NotPermitted("<English sentence>", reason="role_missing", user=...,
role=..., action=...)``; every door calls :func:`refusal_text` with the reader's locale.
English is the domain's own sentence; Korean is ``KO[reason]`` filled from the error's
context, each value in Korean (states, roles, steps, fields, actions, amounts spelled as
people write them). A reason without a Korean sentence, or one whose values cannot be
read, falls back to the English sentence (``tests/unit/test_refusals.py`` lists the codes
raised without a Korean sentence, so none is forgotten).

To add a refusal: give the ``raise`` a ``reason=`` and the values its sentence names as
keyword context, and a line here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflow.domain.errors import WorkflowError
from workflow.domain.money import spell_krw
from workflow.entrypoints.vocabulary import ROLES, STATES, pick

KO: dict[str, str] = {
    # permissions
    "no_actor": "이 작업에는 처리하는 사용자가 필요합니다",
    "role_missing": "{user} 님에게는 {action} 권한이 없습니다: {role} 역할이 필요합니다 "
    "(보유 역할: {has})",
    "other_organization": "{user} 님에게는 {action} 권한이 없습니다: 사업 {program}은(는) "
    "{owner} 소속이고 {user} 님은 {org} 소속입니다",
    "create_for_other_organization": "{user} 님은 {owner}의 사업을 작성할 수 없습니다: "
    "소속이 {org}입니다",
    "engine_only": "{user} 님에게는 {action} 권한이 없습니다: 시스템이 스스로 처리합니다",
    "own_program": "{user} 님에게는 {action} 권한이 없습니다: 본인이 작성하거나 제출한 "
    "사업입니다 (직무 분리)",
    "not_a_party": "{user} 님에게는 {action} 권한이 없습니다: {org}은(는) 이 사업의 {step} "
    "기관({parties})이 아닙니다",
    "other_party_budget": "{user} 님은 {party}의 예산을 관리할 수 없습니다: 소속이 {org}입니다",
    "not_in_queue": "{user} 님은 업무 {task}을(를) 맡을 수 없습니다: {owner}의 {role} "
    "대기열 업무입니다",
    "other_organization_task": "{user} 님에게는 {action} 권한이 없습니다: {owner}의 "
    "업무이고 {user} 님은 {org} 소속입니다",
    "claimed_by_other": "{user} 님은 사업 {program}을(를) 처리할 수 없습니다: {org}의 업무를 "
    "{claimant} 님이 맡고 있습니다",
    "other_queue": "업무 {task}은(는) {owner}의 대기열에 있습니다 ({org}의 대기열이 아님)",
    "operators_only": "발송과 웹훅은 운영자나 시스템 관리자만 볼 수 있습니다",
    "audit_broken": "감사 기록의 해시 사슬이 {at}에서 끊어졌습니다",
    "party_not_in_round": "{party}은(는) 사업 {program}의 {step} 기관이 아닙니다",
    # states and turns
    "wrong_state": "사업 {program}은(는) 지금 '{state}' 상태라 {trigger}할 수 없습니다 "
    "(가능한 상태: {allowed})",
    "no_such_step": "{action}할 수 없습니다: {workflow} 절차에는 이 단계가 없습니다",
    "round_not_open": "사업 {program}은(는) 지금 '{state}' 상태라 {step}할 수 없습니다 "
    "('{expected}' 상태에서 가능)",
    "already_acted": "{party}은(는) 이번 차수에 사업 {program}의 {step}을(를) 이미 "
    "마쳤습니다 ({taken})",
    "not_editable": "사업 {program}은(는) 지금 '{state}' 상태라 수정할 수 없습니다 "
    "(수정 가능한 상태: {allowed})",
    "not_disbursing": "사업 {program}은(는) 지금 '{state}' 상태라 집행할 수 없습니다 "
    "(집행 가능한 상태: {allowed})",
    "no_funding_step": "사업 {program}은(는) {workflow} 절차를 따르며, 이 절차에는 예산 "
    "확정 단계가 없습니다",
    "stale_version": "사업 {program}이(가) 버전 {expected_version} 이후 바뀌었습니다 "
    "(지금 버전 {version})",
    "changed_meanwhile": "사업 {program}을(를) 다른 사람이 먼저 바꾸었습니다. 다시 시도해 주세요",
    "task_taken": "업무 {task}은(는) 이미 {claimant} 님이 맡았습니다",
    "task_closed": "업무 {task}은(는) 이미 '{state}' 상태입니다",
    "not_your_claim": "업무 {task}은(는) {user} 님이 맡은 업무가 아닙니다",
    "not_a_review_task": "업무 {task}은(는) {kind} 업무입니다: 검토 업무만 결정할 수 있습니다",
    # budget
    "no_room": "{party}의 {year}년 예산에 {amount}을(를) 확보할 여유가 없습니다",
    "no_envelope": "{party}의 {year}년 예산이 없습니다",
    "envelope_exists": "{party}의 {year}년 예산이 이미 있습니다",
    "nothing_held": "사업 {program}에 확정할 {party}의 가확보 예산이 없습니다",
    "disburse_too_much": "사업 {program}의 {party} 몫에서 {amount}을(를) 집행할 수 "
    "없습니다: 남은 금액은 {remaining}입니다",
    "spend_over_commitment": "{party}의 집행 보고액({spent})이 확정액({committed})보다 많습니다",
    "spend_below_paid": "{party}의 집행 보고액({spent})이 이미 지급한 금액({paid})보다 "
    "적습니다: 먼저 {party}에 반납을 정산해 주세요",
    # not found
    "no_program": "사업 {program}이(가) 없습니다",
    "no_task": "업무 {task}이(가) 없습니다",
    "no_user": "{email} 사용자가 없습니다",
    "no_workflow": "'{workflow}' 절차가 없습니다 (있는 절차: {known})",
    "user_exists": "{email} 사용자가 이미 있습니다",
    "organization_exists": "기관 '{org}'이(가) 이미 있습니다",
    # input
    "amount_not_whole": "{field}은(는) 원 단위의 정수여야 합니다 (입력: {value})",
    "amount_misspelled": "{field}은(는) 원 단위의 정수여야 합니다 (입력: {value})",
    "amount_not_positive": "{field}은(는) 0원보다 커야 합니다 (입력: {value})",
    "amount_too_large": "{field}은(는) 10조 원보다 작아야 합니다 (입력: {value})",
    "not_text": "{field}은(는) 글이어야 합니다",
    "text_too_long": "{field}이(가) {length:,}자입니다: 최대 {max_length:,}자까지 쓸 수 있습니다",
    "text_invalid": "{field}에 글로 쓸 수 없는 문자가 있습니다",
    "text_control": "{field}에 제어 문자를 쓸 수 없습니다",
    "line_breaks": "{field}에 줄바꿈이나 제어 문자를 쓸 수 없습니다",
    "text_empty": "{field}을(를) 입력해 주세요",
    "no_reason": "취소 사유를 입력해 주세요",
    "unknown_verdict": "알 수 없는 평가 결정 '{value}'입니다 (가능: {known})",
    "unknown_decision": "알 수 없는 결정 '{value}'입니다 (가능: {known})",
    "bad_score": "점수는 {low}부터 {high}까지입니다 (입력: {value})",
    "no_summary": "평가 보고에는 결과 요약이 필요합니다",
    "spend_per_funder": "사업 {program}의 모든 지원 기관({parties})의 집행액을 보고해 주세요 "
    "(입력: {given})",
    "year_out_of_range": "회계연도 {year}은(는) 범위({low}-{high})를 벗어납니다",
    "unknown_category": "알 수 없는 분야 '{category}'입니다 (있는 분야: {known})",
    "no_request": "사업은 적어도 한 지원 기관에 금액을 요청해야 합니다",
    "not_a_workflow_party": "'{party}'은(는) {workflow} 절차의 기관이 아닙니다 (기관: {parties})",
    "ends_before_start": "종료일 {end}이(가) 시작일 {start}보다 앞섭니다",
    "key_too_long": "기관 키 '{org}'이(가) {max_length}자보다 깁니다",
    "bad_key": "기관 키 '{org}'에는 영문 소문자, 숫자, '-', '_'만 쓸 수 있습니다",
    "email_too_long": "이메일 주소가 {max_length}자보다 깁니다",
    "bad_email": "'{email}'은(는) 이메일 주소가 아닙니다",
    "unknown_role": "알 수 없는 역할 {value}입니다 (역할: {known})",
    "not_a_funder": "{party}은(는) 지원 기관이 아닙니다",
    "no_year": "사업에는 회계연도나 시작일이 필요합니다",
    "delegate_other_organization": "{user} 님은 {org}의 동료에게만 대결을 맡길 수 있습니다: "
    "{delegate} 님은 {owner} 소속입니다",
    "delegate_to_self": "자기 자신에게 대결을 맡길 수 없습니다",
    "delegation_backwards": "대결 기간의 끝({end})이 시작({start})보다 앞섭니다",
    "delegation_loop": "대결이 돌고 돕니다: {loop}. 그중 하나를 먼저 해제해 주세요",
    "unknown_kind": "알 수 없는 알림 종류 '{value}'입니다 (종류: {known})",
    "unknown_channel": "알 수 없는 경로 {value}입니다 (경로: email, inapp, none)",
    "required_kind": "{kind} 알림은 끌 수 없습니다: email, inapp 또는 둘 다를 고르세요",
    "unknown_locale": "언어는 {known} 중 하나입니다 (입력: {value})",
}

# What a refusal's values read as in Korean; a value not listed stays as it is.
STEPS_KO = {
    "review": "검토",
    "reviewing": "검토",
    "commitment": "예산 확정",
    "funding": "예산 확정",
    "evaluation": "평가",
    "evaluating": "평가",
}
VERBS_KO = {
    "submit": "제출",
    "resubmit": "재제출",
    "withdraw": "철회",
    "cancel": "취소",
    "report on": "평가 보고",
    "decide on": "검토 결정",
    "commit funds to": "예산 확정",
    "evaluate": "평가",
    "update": "수정",
    "approve": "승인",
    "reject": "반려",
    "request changes": "보완 요청",
    "return report": "평가 반려",
    "accept": "평가 승인",
    "fund": "예산 확정",
    "activate": "운영 시작",
    "finish": "운영 종료",
}
FIELDS_KO = {
    "title": "사업명",
    "description": "사업 내용",
    "category": "분야",
    "comment": "의견",
    "reason": "사유",
    "memo": "메모",
    "summary": "결과 요약",
    "name": "이름",
    "password": "비밀번호",
    "amount": "금액",
    "disbursement": "집행액",
    "tranche": "집행액",
    "envelope amount": "예산액",
    "file name": "파일 이름",
    "requests": "요청 금액",
    "score": "점수",
    "year": "회계연도",
}
_ACTIONS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"take task (\d+) of program (\S+)"), lambda m: f"업무 {m[1]} 맡기"),
    (re.compile(r"(.+) program (\S+)"), lambda m: f"사업 {m[2]} {VERBS_KO[m[1]]}"),
    (re.compile(r"create programs"), lambda m: "사업 작성"),
    (re.compile(r"manage (.+)'s budget"), lambda m: f"{m[1]} 예산 관리"),
    (re.compile(r"reassign task (\d+)"), lambda m: f"업무 {m[1]} 재배정"),
    (re.compile(r"verify the audit chain"), lambda m: "감사 기록 검증"),
]
_MONEY = {"amount", "remaining", "spent", "committed", "paid", "available", "missing"}


def refusal_text(err: WorkflowError, locale: str) -> str:
    """The refusal's sentence for a reader of ``locale`` (``ko`` unless ``en``)."""
    template = KO.get(err.reason or "") if locale != "en" else None
    if template is None:
        return err.message
    try:
        values = {key: _korean(key, value) for key, value in err.context.items()}
        if "what" in err.context:  # a form names its field for itself; the sentence, this
            values["field"] = _field(str(err.context["what"]))
        return template.format(**values)
    except (KeyError, IndexError, ValueError, TypeError):  # a value it cannot read
        return err.message


def _korean(key: str, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(str(_korean(key, v)) for v in value) or "없음"
    if key in _MONEY and isinstance(value, int):
        return spell_krw(value, "ko")
    if key in ("state", "expected", "allowed"):
        return pick(STATES.get(str(value)), "ko", str(value))
    if key in ("role", "has"):
        return pick(ROLES.get(str(value)), "ko", str(value))
    if key == "step":
        return STEPS_KO.get(str(value), value)
    if key == "trigger":
        return VERBS_KO.get(str(value).replace("_", " "), value)
    if key == "field":
        return _field(str(value))
    if key == "action":
        return _action(str(value))
    return value


_FIELD_PATTERNS = [
    (re.compile(r"(?:the )?request (?:from|to) (.+)"), "{} 요청 금액"),
    (re.compile(r"the spend of (.+)"), "{} 집행액"),
]


def _field(name: str) -> str:
    for pattern, korean in _FIELD_PATTERNS:
        found = pattern.fullmatch(name)
        if found:
            return korean.format(found[1])
    return FIELDS_KO.get(name.removeprefix("the "), name)


def _action(phrase: str) -> str:
    for pattern, korean in _ACTIONS:
        found = pattern.fullmatch(phrase)
        if found:
            return korean(found)
    raise KeyError(phrase)  # an action without Korean words: the English sentence
