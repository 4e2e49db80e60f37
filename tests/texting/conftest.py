import pytest
import redis

from portal.models import User
from tests.factories import make_compliance_officer, make_user
from texting.volume import KEY_PREFIX, redis_client


@pytest.fixture(autouse=True)
def _texting_isolation(settings):
    """No test talks to a carrier by accident (a dead port unless it asks for `carrier_sim`), webhooks have a secret,
    and volume counters and locks left in Redis by an earlier run never leak into this one."""
    settings.CARRIER_API_URL = "http://127.0.0.1:9"
    settings.CARRIER_WEBHOOK_SECRET = getattr(settings, "CARRIER_WEBHOOK_SECRET", "") or "test-webhook-secret"
    if settings.REDIS_URL:
        _clear_redis(settings.REDIS_URL)
    yield
    if settings.REDIS_URL:
        _clear_redis(settings.REDIS_URL)


def _clear_redis(url):
    client = redis_client(url)
    try:
        for pattern in (f"{KEY_PREFIX}:*", "texting:lock:*"):
            keys = list(client.scan_iter(pattern, count=1000))
            if keys:
                client.delete(*keys)
    except redis.RedisError:
        pass  # tests that need Redis say so through the `redis_url` fixture


@pytest.fixture
def on_redis(settings, redis_url):
    """Counters and locks in the real Redis."""
    settings.REDIS_URL = redis_url
    _clear_redis(redis_url)
    yield redis_url
    _clear_redis(redis_url)


@pytest.fixture
def without_redis(settings):
    """Counters and locks in the database (as `make run` without Redis)."""
    settings.REDIS_URL = ""


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues(compiled_catalogues):
    """The French (Canada) replies to ARRÊT and AIDE come from the compiled catalogue, as in `make run` and CI."""
    return compiled_catalogues


@pytest.fixture
def officer(org):
    """A compliance officer of the organisation (the legal-hold tests: retention and partitions)."""
    return make_compliance_officer(org, role=User.Role.READONLY_ADMIN, email="officer@acme.test")


@pytest.fixture
def texter(org):
    """A user whose texts a hold names (files that need a texter with a number define their own)."""
    return make_user(org, role=User.Role.END_USER, email="texter@acme.test")
