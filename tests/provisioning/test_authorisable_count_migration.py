"""Migration provisioning.0005_authorisable_count_by_trigger counts the numbers already there: built before it,
migrated, every location's count checked against its numbers (PostgreSQL: SQLite keeps no count)."""

import pytest

from provisioning.models import AuthorisableCount, PhoneNumber
from tests.migrations import migrate, migrate_to_latest, old_organisation

BEFORE = [("provisioning", "0004_wizard_selection")]
AFTER = [("provisioning", "0005_authorisable_count_by_trigger")]
# location: texting states of its numbers
OLD_NUMBERS = {
    "Harbour": ["not_authorised"] * 5 + ["failed"] * 2 + ["pending", "authorised", "registered"],
    "Airport": ["authorised"] * 3,
    "Depot": ["failed"],
}


@pytest.mark.django_db(transaction=True)
def test_every_locations_authorisable_numbers_are_counted_and_then_kept(postgres):
    old = migrate(BEFORE)
    org = old_organisation(old)
    Location, Number = old.get_model("provisioning", "Location"), old.get_model("provisioning", "PhoneNumber")
    locations = {}
    for i, (name, states) in enumerate(OLD_NUMBERS.items()):
        locations[name] = Location.objects.create(
            organisation=org,
            name=name,
            address="1 Main St",
            city="Austin",
            state="TX",
            postal_code="78701",
            country="US",
            time_zone="America/Chicago",
            pstn_connection="cisco_calling_plan",
        )
        for j, state in enumerate(states):
            Number.objects.create(e164=f"+1512{300 + i}{j:04d}", location=locations[name], texting_state=state)

    migrate(AFTER)

    counts = dict(AuthorisableCount.objects.values_list("location__name", "numbers"))
    assert counts == {"Harbour": 7, "Depot": 1}  # Airport has none to authorise: no row, read as 0
    # From now on the triggers keep it.
    PhoneNumber.objects.filter(location_id=locations["Airport"].pk).update(texting_state="failed")
    assert AuthorisableCount.objects.get(location_id=locations["Airport"].pk).numbers == 3
    migrate_to_latest()  # the schema the other tests expect
