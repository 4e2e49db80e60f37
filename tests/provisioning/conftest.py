import pytest

from tests.factories import make_location


@pytest.fixture
def location(org):
    """The organisation's Cisco Calling Plan location the provisioning tests work in."""
    return make_location(org, "San Francisco HQ")
