import pytest


@pytest.fixture(autouse=True)
def _security_isolation(settings):
    """Fast password hashing for the many users these tests make, and no carrier reached by accident (a dead port
    unless a test asks for `carrier_sim`)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CARRIER_API_URL = "http://127.0.0.1:9"
    settings.CARRIER_WEBHOOK_SECRET = settings.CARRIER_WEBHOOK_SECRET or "test-webhook-secret"
