"""The command line's Korean: each English template ``say`` is given, and its Korean.

Keep the ``{names}`` of a template in its Korean line; word order is the Korean's own.
"""

from __future__ import annotations

KO: dict[str, str] = {
    # confirmations
    "database at revision {revision}": "데이터베이스 스키마 버전 {revision}",
    "{url}: revision {revision} (newest {head})": "{url}: 스키마 버전 {revision} (최신 {head})",
    "organization {key} added": "기관 {key} 추가됨",
    "user {email} added (id {id})": "사용자 {email} 추가됨 (번호 {id})",
    "(for {email}, until {until}; it is not shown again)": (
        "({email} 용, {until}까지 유효; 다시 보여 주지 않습니다)"
    ),
    "password": "비밀번호",
    "password of {email} set": "{email}의 비밀번호를 설정했습니다",
    "{count} token(s) of {email} revoked": "{email}의 토큰 {count}개를 폐기했습니다",
    "envelope {party} {year}: {amount}": "{party} {year}년 예산: {amount}",
    "nothing due": "처리할 예정 작업이 없습니다",
    "audit chain verified: {count} events": "감사 기록 검증 완료: 사건 {count}건",
    "{file}: {key} version {version} is valid ({states} states, {transitions} "
    "transitions, parties: {parties})": (
        "{file}: {key} 버전 {version} 유효 (상태 {states}개, 전이 {transitions}개, 기관: {parties})"
    ),
    "jointflow pages at {url}  (API: /api/v1, docs: /api/docs)": (
        "jointflow 화면: {url}  (API: /api/v1, 문서: /api/docs)"
    ),
    "aborted": "중단했습니다",
    "the database (JOINTFLOW_DATABASE_URL) failed: {reason}": (
        "데이터베이스(JOINTFLOW_DATABASE_URL)에 연결하지 못했습니다: {reason}"
    ),
    "the database {name} (JOINTFLOW_DATABASE_URL) does not exist: create it first "
    "(createdb {name})": (
        "데이터베이스 {name}(JOINTFLOW_DATABASE_URL)이(가) 없습니다: 먼저 만들어 주세요 "
        "(createdb {name})"
    ),
    "give the acting user: {hint}": "처리하는 사용자를 지정해 주세요: {hint}",
    "--as EMAIL or JOINTFLOW_USER": "--as EMAIL 또는 JOINTFLOW_USER",
    "--year or --start": "--year 또는 --start",
    "program {id} created": "사업 {id} 작성됨",
    "program {id} updated; requested: {split}": "사업 {id} 수정됨 — 요청 금액: {split}",
    "program {id} {done}: now {state}": "사업 {id} {done}: 현재 상태 {state}",
    "submitted": "제출",
    "{decision} recorded": "{decision} 기록",
    "withdrawn": "철회",
    "{amount} committed": "{amount} 확정",
    "tranche {n} of {amount} disbursed": "{n}차 {amount} 집행",
    "report submitted": "평가 보고 제출",
    "cancelled": "취소",
    "task {task} claimed": "업무 {task}을(를) 맡았습니다",
    "task {task} released": "업무 {task}을(를) 대기열에 돌려놓았습니다",
    "task {task} reassigned to {to}": "업무 {task}을(를) {to}에게 재배정했습니다",
    "task {task}: ": "업무 {task}: ",
    "{action} done": "{action} 완료",
    " (program {program})": " (사업 {program})",
    "refused: {error}": "거부됨: {error}",
    "claim": "맡기",
    "approve": "승인",
    "reject": "반려",
    "request-changes": "보완 요청",
    "{to} acts for you from {start} until {end}": "{start}부터 {end}까지 {to} 님이 대결합니다",
    "delegation cleared": "대결 지정을 해제했습니다",
    "nothing waiting": "처리할 업무가 없습니다",
    "nothing waiting after task {task}": "업무 {task} 다음으로는 처리할 업무가 없습니다",
    "more tasks wait after these {count}; the next page: {command}": (
        "이 {count}건 뒤에 업무가 더 있습니다. 다음 쪽: {command}"
    ),
    "webhook {id} for {org}: POST {url}": "{org}의 웹훅 {id}: POST {url}",
    "secret: {secret}": "서명 비밀값: {secret}",
    "(the secret is not shown again: sign checks use it)": (
        "(비밀값은 다시 보여 주지 않습니다: 서명 확인에 쓰입니다)"
    ),
    "no webhooks": "웹훅이 없습니다",
    "webhook {id} removed": "웹훅 {id}을(를) 삭제했습니다",
    "test delivery {id}: {status}": "시험 발송 {id}: {status}",
    "delivered": "전달됨",
    "not delivered yet": "아직 전달되지 않음",
    "under way": "전달 중",
    "no deliveries": "발송 내역이 없습니다",
    "no failed deliveries": "실패한 발송이 없습니다",
    "give delivery IDs or --all-failed": "발송 번호나 --all-failed를 지정해 주세요",
    "delivery {id} ({channel} to {recipient}): {status}": (
        "발송 {id} ({recipient}에게 {channel}): {status}"
    ),
    "quiet hours (22:00-08:00 Seoul): nothing is sent before {at}": (
        "알림 제한 시간(서울 22:00-08:00): {at} 전에는 보내지 않습니다"
    ),
    "no reminder due": "보낼 알림이 없습니다",
    "{count} due reminder(s) have nobody to go to (empty queue or no supervisor)": (
        "받을 사람이 없는 알림 {count}건 (빈 대기열이거나 관리자가 없음)"
    ),
    "no messages": "받은 알림이 없습니다",
    "give a message ID or --all": "알림 번호나 --all을 지정해 주세요",
    "message {id} marked read": "알림 {id}을(를) 읽음으로 표시했습니다",
    "{count} message(s) marked read": "알림 {count}건을 읽음으로 표시했습니다",
    "--set takes KIND=CHANNELS, got {value}": "--set은 KIND=CHANNELS 형식입니다 (입력: {value})",
    "required": "끌 수 없음",
    "(default)": "(기본값)",
    "none": "없음",
    "yes": "예",
    # column headers
    "id": "번호",
    "key": "키",
    "name": "이름",
    "funder": "지원 기관",
    "email": "이메일",
    "org": "기관",
    "roles": "역할",
    "party": "기관",
    "year": "연도",
    "amount": "금액",
    "held": "가확보",
    "committed": "확정",
    "disbursed": "집행",
    "available": "잔액",
    "at": "일시",
    "program": "사업",
    "kind": "종류",
    "actor": "처리자",
    "state": "상태",
    "category": "분야",
    "requested": "요청 금액",
    "waiting on": "처리 대기",
    "title": "사업명",
    "task": "업무",
    "due": "기한",
    "overdue": "지난 일수",
    "claimed by": "담당자",
    "remaining if approved": "승인 시 잔액",
    "url": "주소",
    "events": "사건",
    "channel": "경로",
    "recipient": "받는 사람",
    "what": "내용",
    "status": "상태",
    "attempts": "시도",
    "next": "다음 시도",
    "last error": "마지막 오류",
    "to": "받는 사람",
    "tasks": "업무 수",
    "task (rungs)": "업무 (단계)",
    "channels": "경로",
    # ledger entries and their sources
    "hold": "가확보",
    "commit": "확정",
    "disburse": "집행",
    "release": "해제",
    # task kinds
    "review": "검토",
    "revise": "보완",
    "commit_funds": "예산 확정",
    "submit_evaluation": "평가 보고",
    "evaluate": "평가",
    # delivery statuses
    "pending": "대기",
    "sending": "보내는 중",
    "sent": "전달됨",
    "fallback": "대체 전달",
    "dead": "실패",
    # reminder kinds
    "reminder_digest": "매일 업무 알림",
    "escalation": "기한 초과 보고",
    # what a tick did
    "refused": "거부됨",
    "digests": "업무 알림",
    "escalation messages": "기한 초과 보고",
    "reminder already sent": "이미 보낸 알림",
    "reminder without recipient": "받을 사람이 없는 알림",
    # money (issue 16)
    "refund due": "반납 예정",
    "program {id}: refund of {amount} to {party} recorded; {due} still due; now {state}": (
        "사업 {id}: {party} 반납 {amount} 기록 — 남은 반납액 {due}, 현재 상태 {state}"
    ),
    "envelope {party} {year}: {amount} ({change}), {available} available": (
        "{party} {year}년 예산: {amount} ({change}), 가용 {available}"
    ),
    # documents
    "program {id}: attached {name} ({kind}, round {round}, {size}, sha256 {digest})": (
        "사업 {id}: {name} 첨부 ({kind}, {round}차, {size}, sha256 {digest})"
    ),
    "program {id} has no files": "사업 {id}에 첨부 파일이 없습니다",
    "wrote {name} ({size}, sha256 {digest}) to {out}": "{name} ({size}, sha256 {digest}) → {out}",
    "proposal": "사업계획서",
    "report": "평가 보고서",
    "open": "수정 가능",
    "round": "차수",
    "size": "크기",
    "sha256": "sha256",
    "by": "첨부자",
    # people
    "user {email} deactivated": "사용자 {email} 사용 중지",
    "user {email} reactivated": "사용자 {email} 다시 사용",
    "user {email} has roles {roles}": "사용자 {email} 역할: {roles}",
    "user {email} reads {locale}": "사용자 {email} 언어: {locale}",
    "task(s) back in their queues: {tasks}": "대기열로 돌아간 업무: {tasks}",
    "delegation(s) ended: {n}": "끝난 대결 지정: {n}건",
    "token(s) and session(s) revoked: {n}": "폐기된 토큰·세션: {n}개",
    "organization {key} is now named {name}": "기관 {key}의 이름을 {name}(으)로 바꿈",
}
