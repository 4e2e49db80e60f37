"""The opt-out registry (source, reason, who added or removed an entry) and suspensions by Cisco PSTN support.

Every existing opt-out came from a STOP keyword: the data step marks each one *keyword* explicitly (the column's
default says the same), and no row is dropped or rewritten otherwise (tests/texting/test_opt_out_migration.py).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def every_existing_opt_out_came_from_a_keyword(apps, schema_editor):
    apps.get_model("texting", "OptOut").objects.all().update(source="keyword")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0003_compliance_officer"),
        ("provisioning", "0003_chunk_unconfirmed"),
        ("texting", "0004_purge_kept_by_holds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="optout",
            name="added_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="optout",
            name="reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="optout",
            name="removal_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="optout",
            name="removed_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="optout",
            name="source",
            field=models.CharField(
                choices=[
                    ("keyword", "STOP keyword"),
                    ("manual", "Added by an administrator"),
                    ("import", "Imported do-not-text list"),
                ],
                default="keyword",
                max_length=10,
            ),
        ),
        migrations.RunPython(every_existing_opt_out_came_from_a_keyword, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="blocked_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("no_addon_licence", "No Business Texting Add-On licence"),
                    ("texting_disabled", "Business Texting switched off"),
                    ("not_primary_number", "Not the user's primary number"),
                    ("number_not_registered", "Number not registered in a campaign"),
                    ("app_version_too_old", "Webex App too old"),
                    ("invalid_destination", "Invalid destination"),
                    ("international_destination", "International destination"),
                    ("invalid_sender", "Invalid sender"),
                    ("international_sender", "International sender"),
                    ("media_not_supported", "Media (MMS) not supported"),
                    ("empty_body", "Empty text"),
                    ("body_too_long", "Text too long"),
                    ("recipient_opted_out", "Recipient opted out"),
                    ("suspended_by_cisco", "Suspended by Cisco"),
                    ("daily_cap_exceeded", "Daily cap reached"),
                    ("burst_limit_exceeded", "Burst limit reached"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="optout",
            name="business_number",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AlterField(
            model_name="optout",
            name="keyword",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.CreateModel(
            name="Suspension",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.CharField(max_length=300)),
                ("suspended_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("lifted_at", models.DateTimeField(blank=True, null=True)),
                ("lift_reason", models.CharField(blank=True, max_length=300)),
                (
                    "lifted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "number",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="suspensions",
                        to="provisioning.phonenumber",
                    ),
                ),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="texting_suspensions",
                        to="portal.organisation",
                    ),
                ),
                (
                    "suspended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-suspended_at", "-id"],
                "indexes": [models.Index(fields=["organisation", "lifted_at"], name="suspension_org_active_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("lifted_at__isnull", True), ("number__isnull", True)),
                        fields=("organisation",),
                        name="suspension_one_active_per_organisation",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("lifted_at__isnull", True), ("number__isnull", False)),
                        fields=("number",),
                        name="suspension_one_active_per_number",
                    ),
                ],
            },
        ),
    ]
