"""Fixtures of the compliance tests."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(scope="session")
def compiled_catalogues():
    """The catalogues compiled as `make` and CI compile them (a .mo older than its .po is rebuilt)."""
    stale = [
        po
        for locale_dir in settings.LOCALE_PATHS
        for po in Path(locale_dir).glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        if shutil.which("msgfmt") is None:
            pytest.fail("msgfmt is missing: install GNU gettext to compile the catalogues")
        for po in stale:
            subprocess.run(["msgfmt", "--check-format", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
        translation.trans_real._translations = {}  # forget catalogues loaded before they were compiled
        translation.trans_real._default = None
    return settings.LOCALE_PATHS
