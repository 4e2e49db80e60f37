"""A simple checker for user-visible English left outside the translation tags of the templates.

It reads each template's source, drops comments, `{% translate %}` tags and `{% blocktranslate %}` blocks, turns the
remaining template tags and variables into blanks, and reads what is left as HTML: every text node, and the
attributes a user reads or hears (title, aria-label, placeholder, alt, a button's value), must hold no word. A word
is a run of two or more letters; product names and technical terms that no translation changes (NAMES) are not words
here, nor is a URL path. Plain-text templates (e-mails, `.txt`) are read as one text node.

    python -m portal.i18n_check            # lists every offender under templates/, exits 1 if any
"""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Names and terms that stay the same in every language of the portal (each catalogue keeps them as they are).
NAMES = (
    "Texting Hub",
    "Control Hub",
    "Webex App",
    "Cisco",
    "PSTN",
    "10DLC",
    "UTC",
    "HTMX",
    "E.164",
    "SMS",
    "MMS",
    "SHA-256",
    "HIPAA",
    "cs.co/spam",
)
SPOKEN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description", "aria-placeholder"}

_COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)
_BLOCKTRANSLATE = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
_TRANSLATE = re.compile(r"{%\s*trans(?:late)?\s.*?%}", re.S)
_TEMPLATE_CODE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")
_NAMES = re.compile("|".join(re.escape(name) for name in NAMES) + r"|(?:https?:/)?/[\w/.-]*")  # and URL paths
_SKIPPED_ELEMENTS = {"script", "style"}


def has_words(text: str) -> bool:
    """Does `text` hold a word to translate (not only blanks, punctuation, numbers and NAMES)?"""
    return bool(_WORD.search(_NAMES.sub(" ", text)))


def untranslated_source(source: str) -> str:
    """The template source without comments and translated text, and with other template code blanked out."""
    source = _COMMENTS.sub(" ", source)
    source = _BLOCKTRANSLATE.sub(" ", source)
    source = _TRANSLATE.sub(" ", source)
    return _TEMPLATE_CODE.sub(" ", source)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED_ELEMENTS:
            self._skipping += 1
        attributes = dict(attrs)
        for name, value in attrs:
            spoken = name in SPOKEN_ATTRIBUTES or (
                name == "value" and tag == "input" and attributes.get("type") in ("submit", "button", "reset")
            )
            if spoken and value and has_words(value):
                self.found.append(f'{name}="{value.strip()}"')

    def handle_endtag(self, tag):
        if tag in _SKIPPED_ELEMENTS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping and has_words(data):
            self.found.append(" ".join(data.split()))


def offenders_in(source: str, *, html: bool = True) -> list[str]:
    """The untranslated pieces of text of one template's source."""
    text = untranslated_source(source)
    if not html:
        return [" ".join(text.split())] if has_words(text) else []
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.found


def offenders(root: Path = TEMPLATES) -> dict[str, list[str]]:
    """{template path relative to root: its untranslated pieces}, for every template with any."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".html", ".txt") or not path.is_file():
            continue
        pieces = offenders_in(path.read_text(encoding="utf-8"), html=path.suffix == ".html")
        if pieces:
            found[str(path.relative_to(root.parent))] = pieces
    return found


def compile_stale_catalogues(locale_dirs) -> list[Path]:
    """Compile each catalogue (`<locale dir>/*/LC_MESSAGES/django.po`) whose .mo is missing or older, as
    compilemessages does but without its walk over the whole tree (.venv included); returns the .po files compiled.
    For the tests and benchmarks; `make catalogues` compiles them for `make run`."""
    stale = [
        po
        for locale_dir in locale_dirs
        for po in sorted(Path(locale_dir).glob("*/LC_MESSAGES/django.po"))
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale and shutil.which("msgfmt") is None:
        raise RuntimeError("msgfmt is missing: install GNU gettext (apt-get install gettext) to compile the catalogues")
    for po in stale:
        subprocess.run(["msgfmt", "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    if stale:
        from django.utils import translation

        translation.trans_real._translations = {}  # forget catalogues loaded before they were compiled
        translation.trans_real._default = None
    return stale


def main() -> int:
    found = offenders()
    for name, pieces in found.items():
        for piece in pieces:
            print(f"{name}: {piece}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
