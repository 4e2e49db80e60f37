"""The carrier app is the one door to the outside: the portal's apps import it, it imports none of them, and
nothing else talks HTTP to the carrier (only `carrier/` imports httpx)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUR_APPS = {"portal", "provisioning", "compliance", "texting"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def python_files(*folders: str):
    for folder in folders:
        yield from (ROOT / folder).rglob("*.py")


def test_the_carrier_app_imports_none_of_the_portal_apps():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if name.split(".")[0] in OUR_APPS)
        for path in python_files("carrier")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_carrier_app_imports_httpx():
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files(*OUR_APPS)
        if "httpx" in {name.split(".")[0] for name in imported_modules(path)}
    ]
    assert offenders == []
    assert any("httpx" in imported_modules(path) for path in python_files("carrier"))
