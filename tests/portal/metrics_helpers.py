"""Reading `/metrics` the way Prometheus does: over HTTP, as the configured scraper, parsed as exposition text."""

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

SCRAPER_TOKEN = "test-scraper-token"


def scrape(settings) -> dict:
    """Every sample `/metrics` answers now: {(name, frozenset(labels)): value}."""
    settings.METRICS_TOKEN = SCRAPER_TOKEN
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """One sample's value (0 when absent: a labelled counter appears with its first increment)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict, name: str, **labels) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and wanted <= lbls)
