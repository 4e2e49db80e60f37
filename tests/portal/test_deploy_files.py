"""The production topology file stays valid, static files work as the image builds them, and the health check
answers."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.security.production import production_env, run_python

ROOT = Path(__file__).resolve().parents[2]
# A worker per queue (settings.CELERY_TASK_QUEUES), each scaled on its own.
WORKERS = {"worker-carrier", "worker-purge", "worker-exports", "worker-default"}
SERVICES = {"postgres", "redis", "web", "beat", "carrier-sim", *WORKERS}


def test_docker_compose_file_is_valid_and_has_the_production_services():
    compose = shutil.which("docker-compose")
    if compose is None:
        service_missing("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [compose, "config", "--services"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"SECRET_KEY": "validate-only", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) >= SERVICES
    resolved = subprocess.run(
        [compose, "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"SECRET_KEY": "validate-only", "PATH": "/usr/bin:/bin"},
        timeout=60,
    ).stdout
    checked = _services_with_health_checks(resolved)
    assert checked >= SERVICES, f"no health check: {checked}"


def _services_with_health_checks(resolved: str) -> set[str]:
    """The services of `docker-compose config`'s normalised YAML (two-space indents) that declare a health check."""
    services, current, checked = False, None, set()
    for line in resolved.splitlines():
        if line and not line.startswith(" "):
            services = line == "services:"
        elif services and line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            current = line.strip()[:-1]
        elif services and current and line == "    healthcheck:":
            checked.add(current)
    return checked


@pytest.mark.django_db
def test_health_check_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"


def test_static_files_work_in_production_as_the_image_collects_them(tmp_path):
    """The Dockerfile's collectstatic (DEBUG off) writes the manifest; pages then link hashed, compressed files that
    WhiteNoise serves with a far-future cache header. Without the manifest every page would be a 500."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input" in dockerfile
    static_root = str(tmp_path / "static")
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=production_env(STATIC_ROOT=static_root),
    )
    assert collected.returncode == 0, collected.stderr
    out, _ = run_python(
        """
        import re
        from django.test import Client
        page = Client().get("/accounts/login/", secure=True)
        css = re.search(r'href="(/static/css/portal\\.[0-9a-f]{12}\\.css)"', page.content.decode())
        asset = Client().get(css.group(1), secure=True) if css else None
        print(json.dumps({"page": page.status_code, "css": css and css.group(1),
                          "asset": asset and asset.status_code, "cache": asset and asset.get("Cache-Control")}))
    """,
        plain_static=False,
        STATIC_ROOT=static_root,
    )
    assert out["page"] == 200 and out["css"], out
    assert out["asset"] == 200 and "max-age=315360000" in out["cache"], out


def test_each_queue_has_its_own_worker_service():
    """docker-compose.yml runs one worker service per queue, so each kind of work scales on its own; `make worker`
    (a newcomer's single worker) names no queue and so consumes them all."""
    import re

    from django.conf import settings

    compose = (ROOT / "docker-compose.yml").read_text()
    services = re.split(r"\n  (?=[a-z][\w-]*:\n)", compose.split("\nservices:\n", 1)[1].split("\nvolumes:\n")[0])
    consumed = {}
    for block in services:
        name = block.split(":", 1)[0].strip()
        queues = re.search(r'"worker", "-Q", "([\w,]+)"', block)
        if queues:
            consumed[name] = queues.group(1).split(",")
    assert set(consumed) == WORKERS
    every = sorted(queue for names in consumed.values() for queue in names)
    assert every == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES), consumed
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/celery -A portal worker --loglevel=INFO\n" in makefile
