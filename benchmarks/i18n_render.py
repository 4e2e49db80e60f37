"""Rendering cost of translation: the busiest page, rendered in French against rendered with translation off.

The page: the Authorize wizard's numbers step (Calling → PSTN → Business Texting → Manage → Authorize, a location
chosen): 50 rows of numbers and the shell around them, the page of the portal with the most translated
strings in every row (the states, "Unassigned", the checkbox's name). A location of 500 numbers, half assigned to users.

Configurations, taking turns render by render, in an order reversed every round (so none always runs first): `off`
(USE_I18N=False: Django's translation functions return the source), `fr-ca` (the user chose French (Canada):
catalogue look-ups, plural forms, localised dates) and, for reference, `en` (translation on, English: the source
language, whose look-ups find no catalogue of ours and try every one of Django's). Each round times BENCH_RUNS
renders of each (after a warm-up); a round's figure is its median. Times are this process's CPU time
(time.process_time: the render, the SQLite queries and the test client all run in it), so other work on a busy
machine slows the figures less than wall time would. Target: French's median render time at most 10 % above `off`'s
(the median of the rounds' ratios). Exits 1 when missed.

Run: `.venv/bin/python benchmarks/i18n_render.py` (SQLite in memory; DATABASE_URL=postgres://... for PostgreSQL).
BENCH_ROUNDS=N rounds (default 8), BENCH_RUNS=N renders per configuration and round (default 30).
Small run: `BENCH_ROUNDS=3 BENCH_RUNS=8 .venv/bin/python benchmarks/i18n_render.py`.
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

from portal.env import env_int  # noqa: E402

ROUNDS = env_int("BENCH_ROUNDS", 8)
RUNS = env_int("BENCH_RUNS", 30)
WARM_UP = 3
TARGET = 1.10
CONFIGURATIONS = ("off", "fr-ca", "en")
# What each configuration's page must say, so a configuration that silently rendered another language is caught.
EXPECTED = {
    "off": "numbers can be authorised",
    "fr-ca": "numéros peuvent être autorisés",
    "en": "numbers can be authorised",
}


def main() -> int:
    with _texting_db.database("i18n_render"):
        from django.conf import settings
        from django.test.utils import setup_test_environment

        from portal.i18n_check import compile_stale_catalogues

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["testserver"]
        compile_stale_catalogues(settings.LOCALE_PATHS)
        return run()


def configure(name: str, user) -> None:
    """Switch this process to configuration `name` (the user's language, and USE_I18N with Django's cached choice of
    translation functions forgotten so the setting takes effect)."""
    from django.conf import settings
    from django.utils import translation

    settings.USE_I18N = name != "off"
    translation._trans.__dict__.clear()
    translation.deactivate_all() if name == "off" else translation.deactivate()
    user.language = "" if name == "off" else name
    user.save(update_fields=["language"])


def run() -> int:
    from django.test import Client

    from portal.models import User
    from provisioning.models import PhoneNumber
    from tests.factories import make_location, make_numbers, make_org, make_user

    org = make_org("Benchmark Corp")
    location = make_location(org, "Busy Site")
    numbers = make_numbers(location, 500)
    people = [make_user(org, role=User.Role.END_USER) for _ in range(25)]
    for i, number in enumerate(numbers[:250]):
        number.assigned_user = people[i % len(people)]
        number.is_primary = i < len(people)
    PhoneNumber.objects.bulk_update(numbers[:250], ["assigned_user", "is_primary"])
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="bench@example.com")
    client = Client()
    client.force_login(admin)
    url = f"/calling/business-texting/authorize/?location={location.pk}"

    def render() -> float:
        started = time.process_time()
        response = client.get(url)
        elapsed = time.process_time() - started
        assert response.status_code == 200, response.status_code
        return elapsed

    for name in CONFIGURATIONS:
        configure(name, admin)
        page = client.get(url).content.decode()
        if EXPECTED[name] not in page:
            print(f"configuration {name}: the page does not say {EXPECTED[name]!r}: not what was asked for")
            return 1
        for _ in range(WARM_UP):
            render()
    medians: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    fastest: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}  # the least disturbed render of a round
    for round_number in range(ROUNDS):
        order = CONFIGURATIONS if round_number % 2 == 0 else tuple(reversed(CONFIGURATIONS))
        times: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
        for _ in range(RUNS):
            for name in order:  # one render of each in turn: a burst of other work on the machine hits all alike
                configure(name, admin)
                times[name].append(render())
        for name in CONFIGURATIONS:
            medians[name].append(statistics.median(times[name]) * 1000)
            fastest[name].append(min(times[name]) * 1000)

    print(f"Authorize wizard, 50 rows: {ROUNDS} rounds × {RUNS} renders per configuration")
    print("(median CPU ms per render, each round)")
    for name in CONFIGURATIONS:
        values = medians[name]
        print(
            f"  {name:6} median {statistics.median(values):7.2f}  min {min(values):7.2f}  max {max(values):7.2f}"
            f"  (rounds: {', '.join(f'{v:.1f}' for v in values)})"
        )
    ratios = {
        name: [on / off for on, off in zip(medians[name], medians["off"], strict=True)] for name in ("fr-ca", "en")
    }
    for name, values in ratios.items():
        print(f"  {name} / off: median {statistics.median(values):.3f}  min {min(values):.3f}  max {max(values):.3f}")
    for name in ("fr-ca", "en"):
        values = [on / off for on, off in zip(fastest[name], fastest["off"], strict=True)]
        print(
            f"  {name} / off, fastest render of each round: median {statistics.median(values):.3f}"
            f"  min {min(values):.3f}  max {max(values):.3f}"
        )
    ratio = statistics.median(ratios["fr-ca"])
    if ratio > TARGET:
        print(f"MISSED: French renders {ratio:.3f}× the page with translation off (target ≤ {TARGET:.2f}×)")
        return 1
    print(f"met: French renders {ratio:.3f}× the page with translation off (target ≤ {TARGET:.2f}×)")
    return 0


if __name__ == "__main__":
    run_main(main)
