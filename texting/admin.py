"""Django admin for support engineers. Like Control Hub, it shows texts' metadata, never what they said."""

from django.contrib import admin

from .models import ApiToken, Message, OptOut, PurgeRun, ServiceSettings


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation", "business_texting_enabled", "changed", "changed_by"]
    readonly_fields = ["organisation", "business_texting_enabled", "changed", "changed_by"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "organisation",
        "direction",
        "business_number",
        "other_party",
        "status",
        "blocked_reason",
        "segments",
    ]
    list_filter = ["direction", "status", "blocked_reason"]
    search_fields = ["business_number", "other_party", "carrier_message_id"]
    exclude = ["body"]
    readonly_fields = [
        "organisation",
        "user",
        "business_number",
        "other_party",
        "direction",
        "encoding",
        "segments",
        "status",
        "blocked_reason",
        "status_detail",
        "is_automatic_reply",
        "carrier_message_id",
        "created_at",
        "status_changed",
    ]
    list_select_related = ["organisation"]


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["party", "organisation", "keyword", "opted_out_at", "opted_in_at"]
    search_fields = ["party"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["hint", "user", "organisation", "created", "last_used_at", "revoked_at"]
    exclude = ["token_hash"]
    readonly_fields = [
        "hint",
        "user",
        "organisation",
        "created",
        "created_by",
        "last_used_at",
        "revoked_at",
        "revoked_by",
    ]


@admin.register(PurgeRun)
class PurgeRunAdmin(admin.ModelAdmin):
    list_display = [
        "started",
        "finished",
        "cutoff",
        "outcome",
        "rows_deleted",
        "batches",
        "longest_batch_ms",
        "dry_run",
    ]
    list_filter = ["outcome", "dry_run"]
