import pytest

from tests.browser.accessibility import AXE_JS
from tests.conftest import service_missing


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core's source (installed from the npm registry by `make js`, which `make test` runs)."""
    if not AXE_JS.exists():
        service_missing(
            f"axe-core is not installed ({AXE_JS} is missing): run `make js` (npm ci), which make test does"
        )
    return AXE_JS.read_text()
