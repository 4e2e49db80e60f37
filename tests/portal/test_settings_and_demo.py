"""Start-up safety and the demo data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.models import Organisation, User
from provisioning.models import Licence, Location, PhoneNumber
from tests.security.production import production_env

ROOT = Path(__file__).resolve().parents[2]


def run_settings(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_settings({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_starts_with_a_secret_key_when_debug_is_off():
    result = run_settings({"DEBUG": "0", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "portal.example"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "typo"),
    [("AUTHORISATION_CHUNK_SIZE", "5O0"), ("CARRIER_TIMEOUT_SECONDS", "5s"), ("SESSION_COOKIE_SECURE", "ture")],
)
def test_a_mistyped_setting_names_the_variable_and_its_value(name, typo):
    result = run_settings({"DEBUG": "1", name: typo})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    assert f"{name}={typo!r}" in last_line


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    counts = [
        Organisation.objects.count(),
        User.objects.count(),
        Location.objects.count(),
        PhoneNumber.objects.count(),
        Licence.objects.count(),
    ]
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert [
        Organisation.objects.count(),
        User.objects.count(),
        Location.objects.count(),
        PhoneNumber.objects.count(),
        Licence.objects.count(),
    ] == counts

    acme = Organisation.objects.get(name="Acme Corp")
    assert PhoneNumber.objects.filter(location__organisation=acme).count() == 2000
    assert acme.locations.filter(pstn_connection="cisco_calling_plan").count() == 3
    assert acme.locations.filter(pstn_connection="cloud_connected").count() == 1
    assert acme.licences.filter(sku="business_texting_addon").exists()
    assert not Organisation.objects.get(name="Maple Health").licences.filter(sku="business_texting_addon").exists()
    assert Organisation.objects.get(name="Startup Inc").customer_type == "online"
    for email in [
        "admin@acme.example",
        "readonly@acme.example",
        "admin@maple.example",
        "admin@startup.example",
        "support@pstn.example",
    ]:
        assert User.objects.get(email=email).check_password(settings.PORTAL_DEMO_PASSWORD)
    assert PhoneNumber.objects.filter(location__organisation=acme, is_primary=True).exists()


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo")
    assert not Organisation.objects.exists()


def test_deploy_checks_report_nothing_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
