"""Migration portal.0002_operators takes the Django admin from everyone who is not an operator (support staff were
superusers) and changes nothing else about any user: built in the old shape, migrated, every row checked."""

import pytest

from tests.migrations import migrate, migrate_to_latest, old_organisation

BEFORE = [("portal", "0001_initial")]
AFTER = [("portal", "0002_operators")]

# email: (role, in an organisation?, is_staff, is_superuser, is_active): every shape the old schema allowed
OLD_USERS = {
    "support@pstn.example": ("support", False, True, True, True),  # the demo's support login: also Django admin
    "plain-support@pstn.example": ("support", False, False, False, True),
    "gone-support@pstn.example": ("support", False, True, True, False),
    "staff-only-support@pstn.example": ("support", False, True, False, True),
    "admin@acme.example": ("full_admin", True, False, False, True),
    "staff-admin@acme.example": ("full_admin", True, True, False, True),  # given the admin by hand once
    "readonly@acme.example": ("readonly_admin", True, False, False, True),
    "texter@acme.example": ("end_user", True, False, False, True),
}


@pytest.mark.django_db(transaction=True)
def test_support_staff_lose_the_django_admin_and_every_row_arrives_otherwise_unchanged():
    old = migrate(BEFORE)
    org = old_organisation(old)
    OldUser = old.get_model("portal", "User")
    for email, (role, in_org, staff, superuser, active) in OLD_USERS.items():
        OldUser.objects.create(
            email=email,
            password=f"pbkdf2_sha256$1$salt${email}",
            full_name=email.split("@")[0].title(),
            organisation=org if in_org else None,
            role=role,
            webex_app_version="42.12.0.1" if role == "end_user" else "",
            is_staff=staff,
            is_superuser=superuser,
            is_active=active,
        )
    before = {row["email"]: row for row in OldUser.objects.values()}

    new = migrate(AFTER)

    # Read through the schema as migration 0002 left it (later migrations add columns the old rows lack).
    migrated = new.get_model("portal", "User")
    after = {row["email"]: row for row in migrated.objects.values()}
    assert set(after) == set(OLD_USERS)
    for email, row in after.items():
        assert not row["is_staff"] and not row["is_superuser"], email
        unchanged = {k: v for k, v in before[email].items() if k not in ("is_staff", "is_superuser")}
        assert {k: row[k] for k in unchanged} == unchanged, email
    migrate_to_latest()  # the schema the other tests expect
