"""A URL configuration for one test: the portal's URLs plus a few of the test's own (e.g. a view that fails)."""

import sys
import types
from contextlib import contextmanager

from django.test import override_settings


@contextmanager
def override_urlconf(extra_patterns):
    from portal import urls

    module = types.ModuleType("tests_portal_extra_urls")
    module.urlpatterns = list(extra_patterns) + list(urls.urlpatterns)
    module.handler500 = urls.handler500
    sys.modules[module.__name__] = module
    try:
        with override_settings(ROOT_URLCONF=module.__name__):
            yield
    finally:
        del sys.modules[module.__name__]
