"""The people page's words (issue 16), Korean and English; ``i18n.WORDS`` takes them in."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {  # key: (ko, en)
    "people": ("사용자와 기관", "People and organizations"),
    "people_intro": (
        "기관별 사용자의 역할, 언어, 사용 상태를 관리합니다. 모든 변경은 감사 기록에 남습니다.",
        "Each organization's users: roles, language and whether active. Every change is audited.",
    ),
    "org_name": ("기관 이름", "Organization name"),
    "rename": ("이름 변경", "Rename"),
    "person_name": ("이름", "Name"),
    "roles": ("역할", "Roles"),
    "locale": ("언어", "Language"),
    "account": ("상태", "State"),
    "account_active": ("사용 중", "Active"),
    "account_inactive": ("사용 중지됨", "Deactivated"),
    "deactivate": ("사용 중지", "Deactivate"),
    "activate": ("다시 사용", "Reactivate"),
    "save_roles": ("역할 저장", "Save roles"),
    "save_locale": ("언어 저장", "Save language"),
    "no_users": ("사용자가 없습니다.", "No users."),
    "funder_org": ("재원 기관", "Funding party"),
    "locale_ko": ("한국어", "Korean"),
    "locale_en": ("영어", "English"),
    "role_coordinator": ("사업 담당자", "Coordinator"),
    "role_approver": ("승인 담당자", "Approver"),
    "role_budget_officer": ("예산 담당자", "Budget officer"),
    "role_evaluator": ("평가 담당자", "Evaluator"),
    "role_supervisor": ("부서장", "Supervisor"),
    "role_admin": ("시스템 관리자", "Administrator"),
    "deactivated_account": (
        "사용이 중지된 계정입니다. 관리자에게 문의하세요.",
        "This account is deactivated; ask an administrator.",
    ),
}
