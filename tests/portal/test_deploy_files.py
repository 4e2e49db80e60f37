"""The production topology file stays valid, and the health check answers."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_file_is_valid_and_has_the_production_services():
    compose = shutil.which("docker-compose")
    if compose is None:
        service_missing("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run([compose, "config", "--services"], cwd=ROOT, capture_output=True, text=True,
                            env={"SECRET_KEY": "validate-only", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert {"postgres", "redis", "web", "worker", "beat", "carrier-sim"} <= set(result.stdout.split())


@pytest.mark.django_db
def test_health_check_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
