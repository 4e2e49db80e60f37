import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Many tests here create users; the default (deliberately slow) hasher would dominate their run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
