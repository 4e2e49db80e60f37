import pytest


@pytest.fixture(autouse=True)
def _security_isolation(settings):
    """No carrier reached by accident (a dead port unless a test asks for `carrier_sim`); fast password hashing comes
    from tests/conftest.py, as for every test."""
    settings.CARRIER_API_URL = "http://127.0.0.1:9"
    settings.CARRIER_WEBHOOK_SECRET = settings.CARRIER_WEBHOOK_SECRET or "test-webhook-secret"
