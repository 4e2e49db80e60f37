"""Migration texting.0005_opt_out_registry gives every opt-out a source, a reason and who added or removed it: built in
the old shape, migrated, every row checked (each arrives, marked as a STOP keyword, otherwise unchanged)."""

from datetime import UTC, datetime

import pytest

from tests.migrations import migrate, migrate_to_latest, old_organisation
from texting.models import OptOut

BEFORE = [("texting", "0004_purge_kept_by_holds")]
AFTER = [("texting", "0005_opt_out_registry")]

# party: (business number, keyword, opted in?): every shape the old table held
OLD_OPT_OUTS = {
    "+14155550101": ("+15125550101", "STOP", False),
    "+14155550102": ("+15125550101", "UNSUBSCRIBE", False),
    "+14165550103": ("+15125550102", "QUIT", True),  # opted back in with START
    "+14165550104": ("+15125550102", "STOPALL", False),
}


@pytest.mark.django_db(transaction=True)
def test_every_opt_out_arrives_as_a_stop_keyword_otherwise_unchanged():
    old = migrate(BEFORE)
    orgs = [old_organisation(old, name="Old Acme")]
    orgs.append(old_organisation(old, name="Old Globex", partner=orgs[0].partner))
    OldOptOut = old.get_model("texting", "OptOut")
    for i, (party, (number, keyword, opted_in)) in enumerate(OLD_OPT_OUTS.items()):
        OldOptOut.objects.create(
            organisation=orgs[i % 2],
            party=party,
            business_number=number,
            keyword=keyword,
            opted_out_at=datetime(2026, 1, 1 + i, 9, 30, tzinfo=UTC),
            opted_in_at=datetime(2026, 2, 1, tzinfo=UTC) if opted_in else None,
        )
    before = {row["party"]: row for row in OldOptOut.objects.values()}

    migrate(AFTER)

    after = {row["party"]: row for row in OptOut.objects.values()}
    assert set(after) == set(OLD_OPT_OUTS)
    for party, row in after.items():
        assert row["source"] == "keyword" and row["reason"] == "" and row["added_by_id"] is None, party
        assert row["removed_by_id"] is None and row["removal_reason"] == "", party
        assert {key: row[key] for key in before[party]} == before[party], party
    assert OptOut.objects.filter(opted_in_at__isnull=True).count() == 3
    migrate_to_latest()  # the schema the other tests expect
