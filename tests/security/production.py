"""Run a snippet under the production settings (DEBUG off, a real SECRET_KEY, ALLOWED_HOSTS) in a fresh Python
process, and read back what it printed as JSON. Settings are read once per process, so this is the honest way to
see what production does: no override of our own settings in the test process."""

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides) -> dict:
    # The browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment never has it.
    drop = {
        "SECRET_KEY",
        "DEBUG",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
    }
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="testserver,hub.example.com")
    env.update(overrides)
    return env


def run_python(snippet: str, *, plain_static: bool = True, timeout: float = 60, **env_overrides):
    """Run `snippet` after django.setup() with the production settings; it must print one JSON document last.

    `plain_static`: serve static names as they are instead of through the collectstatic manifest (which a fresh
    checkout does not have yet); nothing else about the settings changes."""
    prelude = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import portal.settings as production
        if {plain_static!r}:
            production.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
        import django
        django.setup()
    """)
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(snippet)],
        cwd=ROOT,
        env=production_env(**env_overrides),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result
