"""`{{ event.text|stored }}`: a text the portal stored in English, shown in the reader's language
(`compliance.stored_texts`)."""

from django import template

from compliance import stored_texts

register = template.Library()


@register.filter
def stored(text):
    return stored_texts.translate(text) if isinstance(text, str) else text
