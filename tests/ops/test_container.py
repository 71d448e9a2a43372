"""The container files: linted, and what the container runs run outside it.

Docker does not run here. The image's command, health check and environment, and the
compose app's command and environment, are run against the wheel installed in a fresh
virtualenv (tests/ops/conftest.py) and the local PostgreSQL standing in for `postgres`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import devdb
import pytest
import yaml
from install_lock import debian_command
from live_server import LiveServer, free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined; comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile(name: str) -> list[str]:
    return [args for instruction, args in dockerfile_instructions() if instruction == name]


def image_env() -> dict[str, str]:
    pairs = " ".join(dockerfile("ENV"))
    return dict(re.findall(r"(\w+)=(\S+)", pairs))


def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def interpolated(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set in the environment: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def test_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_slim_and_not_root():
    bases = dockerfile("FROM")
    assert len(bases) >= 2 and all("-slim" in base for base in bases)
    assert dockerfile("USER") and dockerfile("USER")[-1] not in {"root", "0"}
    assert "--from=build /wheels /wheels" in dockerfile("COPY")  # the wheels, not the source
    assert json.loads(dockerfile("CMD")[-1]) == ["bitnexus", "serve", "--host", "0.0.0.0"]
    assert "/health" in dockerfile("HEALTHCHECK")[-1]


@pytest.fixture(scope="session")
def compose_command() -> list[str]:
    """`docker compose` (the CLI plugin) if it answers, else the standalone `docker-compose`
    (Debian's package, installed when missing)."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    return [debian_command("docker-compose", "docker-compose")]


def test_compose_file_is_valid(compose_command):
    done = subprocess.run(
        [*compose_command, "-f", "compose.yaml", "config", "--quiet"],
        cwd=REPO,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr


def test_compose_app_waits_for_a_healthy_postgres_with_a_volume():
    services = compose()["services"]
    postgres, app = services["postgres"], services["app"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["ports"] == ["4000:4000"]


def test_the_containers_command_environment_and_health_check_outside_docker(installed, tmp_path):
    app = compose()["services"]["app"]
    env = {k: interpolated(v) for k, v in app["environment"].items()}
    assert env["DATABASE_URL"].startswith("postgres://")
    port = free_port()
    with devdb.database("bitnexus_test_container_") as url:
        # The compose URL with the local server standing in for the `postgres` service.
        database = url.rsplit("/", 1)[1]
        env["DATABASE_URL"] = (
            f"postgres://{devdb.PG_USER}@{devdb.PG_HOST}:{devdb.PG_PORT}/{database}"
        )
        full_env = installed.env(**{**image_env(), **env, "PORT": str(port)})
        with (tmp_path / "stderr.txt").open("w") as err:
            proc = subprocess.Popen(
                app["command"], cwd=tmp_path, env=full_env, stdout=err, stderr=err
            )
        server = LiveServer(proc, f"http://127.0.0.1:{port}", tmp_path)
        try:
            wait_ready(server)  # migrated, then serving on 0.0.0.0:PORT
            assert f"http://0.0.0.0:{port}/api/v1" in server.stderr()
            check = json.loads(dockerfile("HEALTHCHECK")[-1].split("CMD", 1)[1])
            assert check[0] == "python"
            probe = subprocess.run([installed.bin / "python", *check[1:]], env=full_env, timeout=10)
            assert probe.returncode == 0
            assert server.request("GET", "/health").body["database"] == "connected"
        finally:
            assert server.stop() == 0
    assert app["command"][-1].endswith(" ".join(json.loads(dockerfile("CMD")[-1])))
