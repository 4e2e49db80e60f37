"""The legal hold form (`compliance:hold_new`, as a compliance officer), driven by hypothesis like every other form
(tests/security/test_fuzzing.py): never a server error; refused, it saves nothing and says why; accepted, it saves one
hold of the organisation's own users and numbers and its audit event, nothing else."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from compliance.models import LegalHold
from portal.models import User
from tests.factories import make_compliance_officer

from .fuzzing import ids, mutated, submit, undone, value
from .test_fuzzing import FUZZ, bench  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

HOLD_MODELS = {"compliance.LegalHold", "compliance.LegalHoldUser", "compliance.LegalHoldNumber", "portal.AuditEvent"}


@pytest.fixture
def hold_bench(bench):  # noqa: F811
    officer = make_compliance_officer(bench.org, role=User.Role.READONLY_ADMIN, email="officer@fuzz.test")
    bench.sign_in(officer)
    bench._baseline = None  # the officer's session is part of every example's starting point
    bench.officer = officer
    return bench


@FUZZ
@given(data=st.data())
def test_legal_hold_form(hold_bench, data):
    b = hold_bench
    valid = {
        "name": "Fuzz matter",
        "reference": "FZ-1",
        "description": "Keep everything",
        "users": str(b.texter.pk),
        "numbers": b.primary.e164,
        "first_day": "2025-01-01",
        "last_day": "2025-12-31",
    }
    fields = {
        "users": ids(b.texter.pk, b.admin.pk, b.support.pk),
        "numbers": value(b.primary.e164, b.primary.display, "+1 415 555 0000", "12, 13"),
        "first_day": value("2025-01-01", "2026-02-30", "", "2026-01-01"),
        "last_day": value("2025-12-31", "2024-12-31", ""),
    }
    form = data.draw(mutated(valid, fields))
    with undone():
        seen = submit(b.client(b.officer), b, reverse("compliance:hold_new"), form=form)
        if seen.status == 302:
            hold = LegalHold.objects.get()
            assert seen.changed <= HOLD_MODELS, seen.describe()
            assert hold.organisation == b.org and hold.name == form["name"].strip(), seen.describe()
            assert all(u.organisation_id == b.org.pk and not u.is_support for u in hold.users.all())
            assert all(n.location.organisation_id == b.org.pk for n in hold.numbers.all())
            assert hold.users.exists() or hold.numbers.exists()
        else:
            assert seen.status == 422 and seen.shows_error, seen.describe()
            assert not seen.changes, seen.describe()
