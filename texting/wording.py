"""Sentences that are read in more than one language: a refusal is stored with the text in English (the source
language: one record, whoever sent it) and answered by the API in its caller's language (Accept-Language, through
LocaleMiddleware). `later` keeps the words unread until then; `as_stored` reads them for the database."""

from django.conf import settings
from django.utils import translation
from django.utils.functional import lazy


def _read(message, params) -> str:
    return str(message) % {name: str(value) for name, value in params.items()} if params else str(message)


_later = lazy(_read, str)


def later(message, **params) -> str:
    """`message` (a gettext_lazy string with %(name)s placeholders) filled in with `params`, translated into the
    language active each time it is read, not when it was made. Params may be lazy too."""
    return _later(message, params)


def as_stored(text) -> str:
    """The words as the database keeps them: in the source language, whatever language the request speaks."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)
