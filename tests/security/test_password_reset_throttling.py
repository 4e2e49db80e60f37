"""Password reset e-mails are throttled per address and per client (portal.throttling): 30 requests in a row send 3
e-mails, not 30; a throttled request says why and when to try again, and its answer is the same whether or not the
address has an account. Counters live in the cache (Redis when REDIS_URL is set)."""

import re
from datetime import timedelta

import pytest
import redis
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal.models import AuditEvent, User
from tests.factories import make_org, make_user

from .test_database_unavailable import closed_port

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
DONE = "/accounts/password_reset/done/"


@pytest.fixture
def victim(db):
    return make_user(make_org("Reset Test"), role=User.Role.FULL_ADMIN, email="victim@reset.test")


def ask(email, ip="203.0.113.7"):
    return Client().post(RESET, {"email": email}, REMOTE_ADDR=ip)


def test_thirty_requests_for_one_address_send_three_emails(victim, mailoutbox):
    assert settings.PASSWORD_RESET_LIMIT_PER_ADDRESS == 3 and settings.PASSWORD_RESET_WINDOW_MINUTES == 60
    # From many addresses, so only the limit per address is at play.
    answers = [ask(victim.email.upper() if i % 2 else victim.email, ip=f"198.51.100.{i}") for i in range(30)]
    assert [a.status_code for a in answers[:3]] == [302] * 3 and all(a["Location"] == DONE for a in answers[:3])
    assert [a.status_code for a in answers[3:]] == [429] * 27
    assert len(mailoutbox) == 3 and {m.to[0] for m in mailoutbox} == {victim.email}

    page = answers[3].content.decode()
    assert "Too many reset requests for this address or from your network, so no email was sent this time." in page
    assert "Try again in" in page and "the link we sent then still works" in page
    assert 0 < int(answers[3]["Retry-After"]) <= 3600
    # One audit line when the throttle starts refusing, not one per refused request.
    assert AuditEvent.objects.filter(action="auth.password_reset_throttled").count() == 1


def test_the_throttled_answer_does_not_tell_whether_the_address_has_an_account(victim, mailoutbox):
    def answers_for(email, ip):
        return [ask(email, ip=ip) for _ in range(settings.PASSWORD_RESET_LIMIT_PER_ADDRESS + 1)]

    with time_machine.travel(timezone.now(), tick=False):  # the same moment: "try again in" is the same too
        known = answers_for(victim.email, "198.51.100.1")
        unknown = answers_for("nobody@reset.test", "198.51.100.2")
    assert [a.status_code for a in known] == [a.status_code for a in unknown] == [302, 302, 302, 429]
    assert [a["Location"] for a in known[:3]] == [a["Location"] for a in unknown[:3]]

    def shown(response):  # the page, without its CSRF tokens (64 characters, different in every answer)
        return re.sub(r"[A-Za-z0-9]{64}", "<token>", response.content.decode())

    assert shown(known[-1]) == shown(unknown[-1])
    assert known[-1]["Retry-After"] == unknown[-1]["Retry-After"]
    assert len(mailoutbox) == 3  # only the existing account got e-mails


def test_one_client_asking_for_many_addresses_is_throttled_but_nobody_else(victim, mailoutbox):
    limit = settings.PASSWORD_RESET_LIMIT_PER_CLIENT
    assert limit == 20
    answers = [ask(f"someone{i}@reset.test") for i in range(limit + 5)]
    assert [a.status_code for a in answers] == [302] * limit + [429] * 5
    assert ask(victim.email).status_code == 429  # this client is throttled whatever address it names
    assert not mailoutbox
    # Another client asking for the same address is unaffected.
    assert ask(victim.email, ip="192.0.2.44").status_code == 302
    assert len(mailoutbox) == 1


def test_the_throttle_lifts_when_the_window_ends(victim, mailoutbox):
    for _ in range(settings.PASSWORD_RESET_LIMIT_PER_ADDRESS + 1):
        ask(victim.email)
    assert len(mailoutbox) == 3
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assert ask(victim.email).status_code == 302
    assert len(mailoutbox) == 4


def test_the_counters_live_in_redis_when_there_is_one(victim, redis_url):
    """With REDIS_URL (CI, deployments) every web process counts together: the counters are in Redis."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    ask(victim.email)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert list(redis.Redis.from_url(redis_url).scan_iter(f"{prefix}:*password-reset:address:*"))


def test_with_the_counters_unreachable_a_reset_still_sends_its_email(victim, mailoutbox, settings):
    """Redis down: the throttle lets requests through (logged) rather than failing the page people need."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "KEY_PREFIX": "portal-cache",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    response = ask(victim.email)
    assert response.status_code == 302 and response["Location"] == DONE
    assert len(mailoutbox) == 1
