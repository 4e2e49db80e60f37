from django import template

from provisioning.phone import display_tn

register = template.Library()


@register.filter
def tn(value: str) -> str:
    """An E.164 number as Control Hub shows it (+1 512-555-0101); anything else unchanged."""
    return display_tn(value) if value else ""
