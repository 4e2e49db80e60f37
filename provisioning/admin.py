from django.contrib import admin

from .models import Licence, Location, PhoneNumber


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "country", "pstn_connection"]
    list_filter = ["country", "pstn_connection"]
    search_fields = ["name", "organisation__name"]


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["organisation", "sku", "quantity", "status"]
    list_filter = ["sku", "status"]


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ["e164", "location", "assigned_user", "is_primary", "origin", "texting_state"]
    list_filter = ["texting_state", "origin"]
    search_fields = ["e164"]
    list_select_related = ["location", "assigned_user"]
    raw_id_fields = ["assigned_user", "location"]
