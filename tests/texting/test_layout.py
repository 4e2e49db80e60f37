"""texting.actions is split by concern (STYLE.md: a module past about 400 lines becomes a package by domain noun):
texts sent, texts received, administrators' changes; `from texting.actions import X` still finds every action."""

import ast
from pathlib import Path

import texting.actions

FOLDER = Path(texting.actions.__file__).parent


def relative_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}


def test_each_concern_has_its_own_module_of_a_readable_size():
    modules = {path.stem: path for path in FOLDER.glob("*.py")}
    assert {"sending", "receiving", "administration"} <= modules.keys()
    assert {name: len(path.read_text().splitlines()) > 400 for name, path in modules.items()} == dict.fromkeys(
        modules, False
    )
    # Received texts answer through the sending path; administration and sending know nothing of each other.
    assert "administration" not in relative_imports(modules["sending"]) | relative_imports(modules["receiving"])
    assert {"sending", "receiving"}.isdisjoint(relative_imports(modules["administration"]))


def test_every_action_is_still_importable_from_texting_actions():
    for name in texting.actions.__all__:
        assert getattr(texting.actions, name) is not None
