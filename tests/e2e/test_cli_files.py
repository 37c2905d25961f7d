"""``program attach / files / file`` in-process on the embedded default: a coordinator
attaches, the city downloads the same bytes, refusals exit 1 with one line and change
nothing; a missing file-store directory is one line at start-up."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.e2e import test_cli
from tests.e2e.test_cli import CITY_APPROVER, COORD, OTHER_COORD, Jointflow
from tests.unit.test_documents import HWPX, PDF, PNG

database, jf = test_cli.database, test_cli.jf  # the CLI tests' Paju setting, as fixtures


def test_a_coordinator_attaches_and_the_city_downloads_the_same_bytes(
    jf: Jointflow, tmp_path: Path
) -> None:
    pid = str(jf.create())
    plan = tmp_path / "사업계획서.pdf"
    plan.write_bytes(PDF)
    attached = jf("program", "attach", pid, str(plan), "--json", as_=COORD).json
    assert attached["name"] == "사업계획서.pdf" and attached["kind"] == "proposal"
    assert attached["sha256"] == hashlib.sha256(PDF).hexdigest()
    annex = tmp_path / "annex.hwpx"
    annex.write_bytes(HWPX)
    jf("program", "attach", pid, str(annex), "--kind", "proposal", "--name", "부록.hwpx", as_=COORD)
    jf("program", "submit", pid, as_=COORD)
    listed = jf("program", "files", pid, "--json", as_=CITY_APPROVER).json
    assert [(f["name"], f["size"], f["sealed"]) for f in listed] == [
        ("사업계획서.pdf", len(PDF), True),
        ("부록.hwpx", len(HWPX), True),
    ]
    out = tmp_path / "downloaded.pdf"
    got = jf("program", "file", pid, "사업계획서.pdf", "--out", str(out), "--json",
             as_=CITY_APPROVER).json  # fmt: skip
    assert out.read_bytes() == PDF and got["out"] == str(out)
    shown = jf.show(int(pid))
    assert [f["name"] for f in shown["files"]] == ["사업계획서.pdf", "부록.hwpx"]
    assert hashlib.sha256(PDF).hexdigest()[:12] in jf("program", "show", pid).out


def test_refusals_exit_1_with_one_line_and_change_nothing(jf: Jointflow, tmp_path: Path) -> None:
    pid = str(jf.create())
    fake = tmp_path / "계획.pdf"
    fake.write_bytes(PNG)
    line = jf("program", "attach", pid, str(fake), as_=COORD, code=1).error_line
    assert "its content is a PNG image" in line
    jf("program", "attach", pid, str(fake), as_=OTHER_COORD, code=1)
    assert jf("program", "files", pid, "--json", as_=COORD).json == []
    assert "does not exist" in jf("program", "files", pid, as_=OTHER_COORD, code=1).error_line
    out = tmp_path / "nothing.pdf"
    jf("program", "file", pid, "none.pdf", "--out", str(out), as_=COORD, code=1)
    assert not out.exists()
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + bytes(2048))
    line = jf("program", "attach", pid, str(big), as_=COORD, code=1,
              env={"JOINTFLOW_MAX_FILE_BYTES": "1024"}).error_line  # fmt: skip
    assert "larger than the limit of 1 KB" in line
    usage = jf("program", "attach", pid, str(big), "--kind", "annex", as_=COORD, code=2)
    assert "proposal" in usage.err and "report" in usage.err
    assert "proposal|report" in jf("program", "attach", "--help").out


def test_a_file_store_directory_that_does_not_exist_is_one_line(
    jf: Jointflow, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-dir"
    result = jf("program", "files", "1", code=1, env={"JOINTFLOW_FILE_STORE": str(missing)})
    assert "JOINTFLOW_FILE_STORE" in result.error_line
    assert "does not exist" in result.error_line
    result = jf("program", "files", "1", code=1, env={"JOINTFLOW_MAX_FILE_BYTES": "0"})
    assert "JOINTFLOW_MAX_FILE_BYTES" in result.error_line
