"""The README's deployment section, run as written: PostgreSQL, Redis, and the
Procfile's ``web``, ``worker`` and ``relay`` started by honcho, a program driven with
curl from create to funded.

Only what must differ on a shared machine is swapped: the database name, the port, the
Redis database and the path of the virtual environment (this run's). The script runs in
a directory of its own holding a copy of the Procfile, with the repository first on
``PYTHONPATH``, so every process runs this checkout's code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, func, select, text

from tests.api.test_web_process import free_port, stop
from tests.conftest import PG_ADMIN_URL, redis_db
from workflow.adapters.orm import ledger_entries, programs

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Run it as a deployment"
BROKER_URL = redis_db(13)  # test_web_process.py has 12


def deployment_script() -> str:
    """The bash blocks of the README's deployment section, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(SECTION) :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 3, "the deployment section lost its commands"
    return "\n".join(blocks)


def localized(script: str, database: str, port: int) -> str:
    venv_bin = str(Path(sys.executable).parent)
    swaps = {
        "127.0.0.1/jointflow": f"127.0.0.1/{database}",
        "-U postgres jointflow": f"-U postgres {database}",
        "redis://127.0.0.1:6379/0": BROKER_URL,
        ":8000": f":{port}",
        "-p 8000": f"-p {port}",
        "$PWD/.venv/bin": venv_bin,
        ".venv/bin": venv_bin,
    }
    for old, new in swaps.items():
        assert old in script, f"the README no longer says {old!r}"
        script = script.replace(old, new)
    return script


def test_the_readme_deployment_runs_a_program_to_funded(tmp_path: Path) -> None:
    database = f"jf_readme_{uuid.uuid4().hex[:10]}"
    port = free_port()
    shutil.copy(ROOT / "Procfile", tmp_path / "Procfile")
    redis.Redis.from_url(BROKER_URL).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINTFLOW_")}
    env.update(PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", localized(deployment_script(), database, port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1/{database}"
    try:
        out, _ = proc.communicate(timeout=150)
        log = (tmp_path / "honcho.log").read_text() if (tmp_path / "honcho.log").exists() else ""
        transcript = out.decode() + "\n--- honcho.log ---\n" + log
        assert proc.returncode == 0, transcript
        assert '"state":"approved"' in transcript, transcript
        assert '"state":"funded"' in transcript, transcript
        engine = create_engine(url)
        with engine.connect() as conn:
            pid = conn.scalar(select(func.max(programs.c.id)))
            row = conn.execute(select(programs).where(programs.c.id == pid)).one()
            kinds = conn.execute(
                select(ledger_entries.c.kind, ledger_entries.c.amount)
                .where(ledger_entries.c.program_id == pid)
                .order_by(ledger_entries.c.id)
            ).all()
        engine.dispose()
        assert row.title == "Robotics club" and row.state == "funded"
        # The worker held both funders' money before the decisions; the officers committed.
        assert [k for k, _ in kinds].count("hold") == 2, kinds
        assert [k for k, _ in kinds].count("commit") == 2, kinds
        assert "worker" in log and "jointflow.place_holds" in log, log
    finally:
        stop(proc)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
