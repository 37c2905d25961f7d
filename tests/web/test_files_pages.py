"""A program's files in the browser: the coordinator uploads a proposal file through the
page's form, downloads it back byte for byte, and the city approver downloads it once
submitted; a file whose content is not what its name says is refused on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import support as s
from tests.unit.test_documents import PDF, PNG
from tests.web.conftest import Site, http_as, shot

Open = Callable[..., Page]


def new_program(page: Page, title: str) -> int:
    page.get_by_role("link", name="새 사업 제안").click()
    page.get_by_label("사업명").fill(title)
    page.get_by_label("Paju City 요청 금액").fill("1000만")
    page.get_by_label("Paju Office of Education 요청 금액").fill("500만")
    page.get_by_label("회계연도").fill("2026")
    page.get_by_role("button", name="제안 저장").click()
    page.wait_for_url(re.compile(r"/programs/\d+$"))
    found = re.search(r"/programs/(\d+)$", page.url)
    assert found, page.url
    return int(found.group(1))


def test_a_coordinator_uploads_a_file_and_downloads_it(
    sign_in: Open, site: Site, tmp_path: Path
) -> None:
    coordinator = sign_in(s.COORDINATOR)
    pid = new_program(coordinator, "첨부 파일 시험")
    files = coordinator.get_by_role("region", name="첨부 파일")
    expect(files).to_contain_text("첨부된 파일이 없습니다.")
    plan = tmp_path / "사업계획서.pdf"
    plan.write_bytes(PDF)
    coordinator.get_by_label("파일 선택").set_input_files(str(plan))
    coordinator.get_by_role("button", name="파일 첨부").click()
    link = files.get_by_role("link", name="사업계획서.pdf")
    expect(link).to_be_visible()
    shot(coordinator, "files-01-attached")
    with coordinator.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename == "사업계획서.pdf"
    saved = tmp_path / "downloaded.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == PDF

    fake = tmp_path / "사진.pdf"
    fake.write_bytes(PNG)
    coordinator.get_by_label("파일 선택").set_input_files(str(fake))
    coordinator.get_by_role("button", name="파일 첨부").click()
    expect(coordinator.get_by_role("alert")).to_contain_text("its content is a PNG image")
    expect(files.get_by_role("link")).to_have_count(1)

    coordinator.get_by_role("button", name="제출").click()
    expect(coordinator.locator("h1")).to_contain_text("검토 중")
    expect(coordinator.get_by_role("button", name="파일 첨부")).to_have_count(0)
    expect(files).to_contain_text("제출됨")

    city = sign_in(s.CITY_APPROVER)
    city.goto(f"/programs/{pid}")
    with city.expect_download() as started:
        city.get_by_role("region", name="첨부 파일").get_by_role(
            "link", name="사업계획서.pdf"
        ).click()
    saved = tmp_path / "city.pdf"
    started.value.save_as(saved)
    assert saved.read_bytes() == PDF
    shot(city, "files-02-approver-sees-the-file")


def test_an_upload_without_the_forms_token_is_refused(site: Site, tmp_path: Path) -> None:
    client = http_as(site, s.COORDINATOR)
    refused = client.post(
        "/programs/1/files/new", files={"file": ("a.pdf", PDF, "application/pdf")}
    )
    assert refused.status_code == 403
    other = http_as(site, s.OTHER_COORDINATOR)
    assert other.get("/programs/1/files/사업계획서.pdf").status_code == 404
