"""The command line's conventions: `.env`, `--version`, `python -m bitnexus`, `make run PORT=`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bitnexus

REPO = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    conventional = {"DATABASE_URL", "PORT", "HOST", "SECRET_KEY_BASE"}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BITNEXUS_") and k not in conventional
    }
    return {**env, **extra}


def test_version_from_the_console_script_and_python_m(tmp_path):
    script = Path(sys.executable).parent / "bitnexus"
    for command in ([script], [sys.executable, "-m", "bitnexus"]):
        done = subprocess.run(
            [*command, "--version"], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == f"bitnexus {bitnexus.__version__}"


def test_dot_env_in_the_working_directory_is_loaded_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'from-dotenv.db'}\nBITNEXUS_ACCOUNTS_POOL=zero\n"
    )
    env = clean_env(BITNEXUS_ACCOUNTS_POOL="2")  # set: .env does not override it
    done = subprocess.run(
        [sys.executable, "-m", "bitnexus", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-dotenv.db").is_file()
    assert not (tmp_path / "var").exists()


def test_make_run_passes_port_and_host_and_reads_console_logs():
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", "PORT=4001", "HOST=0.0.0.0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    serve = next(line for line in done.stdout.splitlines() if "bitnexus serve" in line)
    assert "--port 4001" in serve and "--host 0.0.0.0" in serve
    assert "BITNEXUS_LOG_FORMAT" in done.stdout
