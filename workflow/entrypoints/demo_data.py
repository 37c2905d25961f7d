"""The Paju setting for ``jointflow demo``: organizations, people and 25 proposals.

The year then runs: every approved program is funded, paid in two tranches, run,
evaluated and closed; a few spend less than committed (``SPENT_SHARE``, in percent)
and the rest of their money goes back at settlement; one was paid more than it spent
(``OVERPAID``) and pays the difference back. Next year's round opens on a small
envelope that a supplementary budget raises.

Amounts are realistic splits of the 2026 pot (city 1.93 billion, Office of Education
0.53 billion KRW); together the proposals ask the Office of Education for more than
its envelope holds, so the last submissions are waitlisted until money frees up.
"""

from __future__ import annotations

YEAR = 2026
ENVELOPES = {"city": 1_930_000_000, "education_office": 530_000_000}

FUNDERS = [
    ("city", "파주시 Paju City"),
    ("education_office", "파주교육지원청 Paju Office of Education"),
]
ORGANIZATIONS = [
    ("munsan-high", "문산고등학교 Munsan High School"),
    ("unjeong-high", "운정고등학교 Unjeong High School"),
    ("gyoha-middle", "교하중학교 Gyoha Middle School"),
    ("geumchon-middle", "금촌중학교 Geumchon Middle School"),
    ("paju-youth-center", "파주시청소년수련관 Paju Youth Centre"),
    ("paju-career-center", "파주진로진학지원센터 Paju Career Centre"),
    ("lifelong-learning", "파주시 평생교육과 City Lifelong Learning Team"),
]

# (email, name, org, roles)
PEOPLE = [
    ("lee.sujin@paju.go.kr", "이수진", "city", ("approver",)),
    ("park.junho@paju.go.kr", "박준호", "city", ("approver",)),
    ("choi.eunji@paju.go.kr", "최은지", "city", ("budget_officer",)),
    ("jung.minsoo@paju.go.kr", "정민수", "city", ("supervisor",)),
    ("kang.hyewon@goe.go.kr", "강혜원", "education_office", ("approver",)),
    ("yoon.seokjin@goe.go.kr", "윤석진", "education_office", ("approver",)),
    ("han.jiyoung@goe.go.kr", "한지영", "education_office", ("budget_officer",)),
    ("oh.taeyang@goe.go.kr", "오태양", "education_office", ("supervisor",)),
    ("kim.minji@munsan.hs.kr", "김민지", "munsan-high", ("coordinator",)),
    ("seo.jihoon@unjeong.hs.kr", "서지훈", "unjeong-high", ("coordinator",)),
    ("lim.soyeon@gyoha.ms.kr", "임소연", "gyoha-middle", ("coordinator",)),
    ("jang.woojin@geumchon.ms.kr", "장우진", "geumchon-middle", ("coordinator",)),
    ("song.hana@pajuyouth.or.kr", "송하나", "paju-youth-center", ("coordinator",)),
    ("bae.dongwook@pajucareer.or.kr", "배동욱", "paju-career-center", ("coordinator",)),
    ("noh.yerin@paju.go.kr", "노예린", "lifelong-learning", ("coordinator",)),
    ("moon.jiwoo@paju.go.kr", "문지우", "city", ("evaluator",)),
    ("shin.yuna@goe.go.kr", "신유나", "education_office", ("evaluator",)),
    ("admin@jointflow.kr", "운영자", "city", ("admin",)),
]
APPROVERS = {"city": "lee.sujin@paju.go.kr", "education_office": "kang.hyewon@goe.go.kr"}
OFFICERS = {"city": "choi.eunji@paju.go.kr", "education_office": "han.jiyoung@goe.go.kr"}
SUPERVISORS = {"city": "jung.minsoo@paju.go.kr", "education_office": "oh.taeyang@goe.go.kr"}
DEPUTY = SUPERVISORS["education_office"]  # stands in for the approver on leave
EVALUATORS = {"city": "moon.jiwoo@paju.go.kr", "education_office": "shin.yuna@goe.go.kr"}
ADMIN = "admin@jointflow.kr"
COORDINATORS = {org: email for email, _, org, roles in PEOPLE if "coordinator" in roles}

# (org, category, title, city share, education office share) in KRW
PROGRAMS = [
    ("munsan-high", "linkage", "고교-대학 연계 인재육성 (Munsan)", 120_000_000, 40_000_000),
    ("unjeong-high", "linkage", "고교-대학 연계 공학 탐구", 110_000_000, 35_000_000),
    ("paju-career-center", "career-guidance", "맞춤형 진로진학 컨설팅", 150_000_000, 60_000_000),
    ("gyoha-middle", "creative-experience", "중학생 창의체험 메이커 캠프", 70_000_000, 20_000_000),
    ("geumchon-middle", "creative-experience", "DMZ 생태 창의체험", 65_000_000, 20_000_000),
    ("lifelong-learning", "community-curriculum", "마을연계 교육과정 운영", 90_000_000, 25_000_000),
    ("paju-youth-center", "community-curriculum", "청소년 마을 기자단", 60_000_000, 15_000_000),
    ("munsan-high", "basic-skills", "기초학력 튜터링", 55_000_000, 30_000_000),
    ("gyoha-middle", "basic-skills", "수학 기초학력 보장 교실", 50_000_000, 25_000_000),
    ("unjeong-high", "future-competency", "AI·데이터 미래역량 교육", 100_000_000, 35_000_000),
    ("paju-career-center", "career-guidance", "대입 원서 상담 주간", 45_000_000, 15_000_000),
    ("paju-youth-center", "future-competency", "청소년 코딩 동아리", 55_000_000, 15_000_000),
    ("geumchon-middle", "basic-skills", "문해력 향상 프로젝트", 40_000_000, 20_000_000),
    ("lifelong-learning", "linkage", "지역대학 연계 주말 강좌", 85_000_000, 20_000_000),
    ("munsan-high", "career-guidance", "직업체험 현장 탐방", 60_000_000, 20_000_000),
    ("unjeong-high", "creative-experience", "융합예술 창의 프로젝트", 50_000_000, 15_000_000),
    ("gyoha-middle", "future-competency", "메타버스 수업 실험", 60_000_000, 20_000_000),
    ("paju-youth-center", "creative-experience", "청소년 영화 제작 학교", 45_000_000, 20_000_000),
    ("geumchon-middle", "community-curriculum", "전통시장 연계 경제교육", 35_000_000, 15_000_000),
    ("lifelong-learning", "future-competency", "학부모 디지털 역량 과정", 40_000_000, 20_000_000),
    ("paju-career-center", "linkage", "대학 전공 체험 박람회", 80_000_000, 25_000_000),
    ("munsan-high", "community-curriculum", "통일 교육 현장 연계", 45_000_000, 20_000_000),
    ("unjeong-high", "basic-skills", "영어 기초학력 캠프", 40_000_000, 25_000_000),
    ("gyoha-middle", "career-guidance", "중학생 진로 멘토링", 35_000_000, 20_000_000),
    ("paju-youth-center", "linkage", "청소년-대학생 멘토 연결", 50_000_000, 25_000_000),
]

# Program number (1-based, as in PROGRAMS) -> percent of its commitment actually spent.
SPENT_SHARE = {4: 92, 10: 85, 17: 95}
# Program number -> percent spent of a commitment paid out in full: the rest is a refund
# due from the organization, paid back (반납) before the program can close.
OVERPAID = {13: 80}

# December: next year's round opens, and stays open for whoever looks around afterwards
# (in the browser: the city approver finds two reviews waiting, the Office of Education's
# three).
NEXT_YEAR = YEAR + 1
# The Office of Education opens 2027 on a first allocation; the third proposal waits on
# the waitlist until the supplementary budget (추경) raises the envelope.
NEXT_ENVELOPES = {"city": 2_000_000_000, "education_office": 50_000_000}
NEXT_SUPPLEMENT = ("education_office", 500_000_000, "2027년 제1회 추경 (본예산 확정)")
NEXT_PROGRAMS = [
    ("munsan-high", "linkage", "2027 고교-대학 연계 로봇 공학", 90_000_000, 30_000_000),
    ("gyoha-middle", "career-guidance", "2027 중학생 진로 탐색 주간", 40_000_000, 20_000_000),
    ("paju-youth-center", "future-competency", "2027 청소년 AI 창작 교실", 60_000_000, 20_000_000),
]
# Every demo person signs in to the web pages with this password (printed by the demo).
PASSWORD = "paju-demo-2026"
