from django.contrib import admin

from .models import CaseEvent, CaseNumber, RegistrationCase, RegistrationForm


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
        "brand_registry_id",
        "campaign_registry_id",
    ]
    list_filter = ["state"]
    search_fields = ["organisation__name", "contact_email", "brand_registry_id", "campaign_registry_id"]
    list_select_related = ["organisation"]
    readonly_fields = [
        "state",
        "state_changed",
        "closed_at",
        "brand_round",
        "brand_attempts",
        "brand_registry_id",
        "brand_identity_status",
        "brand_reason",
        "brand_approved_at",
        "campaign_round",
        "campaign_attempts",
        "campaign_registry_id",
        "campaign_reason",
        "assignment_attempts",
        "carrier_problem",
        "last_polled_at",
    ]
    raw_id_fields = ["organisation", "opened_by"]
    inlines = [CaseNumberInline, CaseEventInline]


@admin.register(RegistrationForm)
class RegistrationFormAdmin(admin.ModelAdmin):
    list_display = ["case", "legal_name", "entity_type", "country", "use_case", "submitted_at"]
    list_filter = ["entity_type", "country", "use_case"]
    search_fields = ["legal_name", "dba_name", "tax_number"]
    raw_id_fields = ["case", "saved_by", "submitted_by"]
