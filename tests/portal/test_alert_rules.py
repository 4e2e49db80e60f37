"""The Prometheus alerts in deploy/prometheus: valid, each unit-tested by promtool (alerts.test.yml: fires when it
should, stays quiet when it should not), and built only on metrics that /metrics really serves."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.portal.metrics_helpers import SCRAPER_TOKEN

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        service_missing("promtool is not installed (apt-get install prometheus)")
    return path


def run(*args, cwd=RULES):
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_rules_are_valid_and_every_alert_passes_its_unit_tests():
    checked = run("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = set(re.findall(r"- alert: (\w+)", (RULES / "alerts.yml").read_text()))
    tested_alerts = set(re.findall(r"alertname: (\w+)", (RULES / "alerts.test.yml").read_text()))
    assert alerts == tested_alerts, f"alerts without a unit test: {alerts - tested_alerts}"
    assert {
        "TextingHubPurgeFailed",
        "TextingHubPurgeStale",
        "TextingHubAuthorisationOrdersOverdue",
        "TextingHubCarrierErrorRatioHigh",
        "TextingHubWorkerQueueGrowing",
    } <= alerts


def test_the_example_prometheus_configuration_is_valid(tmp_path):
    token = tmp_path / "token"
    token.write_text(SCRAPER_TOKEN)
    config = (RULES / "prometheus.yml").read_text().replace("/etc/prometheus/texting-hub-metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(RULES / "alerts.yml", tmp_path / "alerts.yml")
    checked = run("check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.django_db
def test_every_metric_the_alerts_read_is_served_by_metrics(settings, client):
    settings.METRICS_TOKEN = SCRAPER_TOKEN
    exposed_text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}").content.decode()
    served = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposed_text, flags=re.M):
        served |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "histogram" else {name}
    used = set(re.findall(r"\btexting_hub_\w+", (RULES / "alerts.yml").read_text()))
    assert used and used <= served, f"alerts read metrics /metrics does not serve: {used - served}"
