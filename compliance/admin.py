from django.contrib import admin

from .models import (
    Brand,
    Campaign,
    CampaignCarrierStatus,
    CampaignNumber,
    CaseEvent,
    CaseNumber,
    RegistrationCase,
    RegistrationForm,
    RegistrationVersion,
)


class CaseNumberInline(admin.TabularInline):
    model = CaseNumber
    raw_id_fields = ["number"]
    extra = 0


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["created", "kind", "actor_name", "from_state", "to_state", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(RegistrationCase)
class RegistrationCaseAdmin(admin.ModelAdmin):
    """Read mostly: states change only through the portal's actions (transition table, audit, timeline)."""

    list_display = [
        "__str__",
        "organisation",
        "state",
        "opened_at",
        "state_changed",
        "contact_email",
        "kind",
        "brand",
        "campaign",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["organisation__name", "contact_email", "brand__registry_id", "campaign__registry_id"]
    list_select_related = ["organisation", "brand", "campaign"]
    readonly_fields = [
        "state",
        "kind",
        "brand",
        "campaign",
        "state_changed",
        "closed_at",
        "brand_round",
        "campaign_round",
        "carrier_problem",
        "last_polled_at",
    ]
    raw_id_fields = ["organisation", "opened_by", "owner"]
    inlines = [CaseNumberInline, CaseEventInline]


class CampaignCarrierStatusInline(admin.TabularInline):
    model = CampaignCarrierStatus
    extra = 0


class CampaignNumberInline(admin.TabularInline):
    model = CampaignNumber
    raw_id_fields = ["number", "case"]
    extra = 0


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    """Read mostly: the registry's answers arrive through the portal's actions."""

    list_display = ["__str__", "organisation", "status", "identity_status", "vetting_status", "vetting_score"]
    list_filter = ["status", "vetting_status"]
    search_fields = ["organisation__name", "legal_name", "dba_name", "registry_id", "tax_number"]
    list_select_related = ["organisation"]
    raw_id_fields = ["organisation"]
    readonly_fields = ["registry_id", "reference", "attempts", "status", "identity_status", "reason", "approved_at"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "brand", "status", "is_number_pool"]
    list_filter = ["status", "use_case"]
    search_fields = ["organisation__name", "registry_id", "brand__registry_id"]
    list_select_related = ["organisation", "brand"]
    raw_id_fields = ["organisation", "brand"]
    readonly_fields = ["registry_id", "reference", "attempts", "status", "reason", "approved_at"]
    inlines = [CampaignCarrierStatusInline, CampaignNumberInline]


@admin.register(RegistrationVersion)
class RegistrationVersionAdmin(admin.ModelAdmin):
    """Submitted forms are kept as they were: view only."""

    list_display = ["__str__", "submitted_at", "submitted_by", "rejection_reason"]
    readonly_fields = ["case", "number", "submitted_at", "submitted_by", "data", "rejection_reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegistrationForm)
class RegistrationFormAdmin(admin.ModelAdmin):
    list_display = ["case", "legal_name", "entity_type", "country", "use_case", "submitted_at"]
    list_filter = ["entity_type", "country", "use_case"]
    search_fields = ["legal_name", "dba_name", "tax_number"]
    raw_id_fields = ["case", "saved_by", "submitted_by"]
