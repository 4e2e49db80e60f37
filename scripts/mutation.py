"""Mutation testing of the rules whose mistakes hurt most (`make mutation`; not part of `make test` or CI).

mutmut changes one thing at a time in a module (`<` to `<=`, `and` to `or`, a constant, a string) and runs the
tests that exercise it; a mutant no test notices ("survived") is a mistake the suite would let through. Each group
below mutates its modules against the fast tests that exercise them, on SQLite with no services (the variables
that point at PostgreSQL, Redis or a broker are dropped for the run), one mutant at a time under `nice`.

Every group works in a folder of its own, var/mutation/<group>/, where mutmut keeps its results: a second run
retests only what changed. To look at a survivor: `cd var/mutation/<group> && ../../../.venv/bin/mutmut show NAME`.

    .venv/bin/python scripts/mutation.py [group ...]     # default: every group; prints the table README shows

Exits 1 when a module kills fewer than 90 % of its mutants.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
GOAL = 0.90

# group: (modules to mutate, the fast test files that exercise them, and optionally the functions that count: a
# module that holds more than the rule has only the rule's functions mutated and scored).
GROUPS = {
    "segments": (["texting/segments.py"], ["tests/texting/test_segments.py"]),
    "eligibility": (
        ["provisioning/eligibility.py"],
        ["tests/provisioning/test_eligibility.py", "tests/provisioning/test_eligibility_rules.py"],
    ),
    "policy": (["texting/policy.py"], ["tests/texting/test_policy.py", "tests/texting/test_policy_rules.py"]),
    "access": (
        ["portal/access.py", "portal/middleware.py"],
        ["tests/portal/test_access.py", "tests/portal/test_access_rules.py"],
    ),
    "retention": (["texting/retention.py"], ["tests/texting/test_retention.py"]),
    "transitions": (
        ["portal/transitions.py", "compliance/actions/cases.py", "provisioning/actions.py"],
        [
            "tests/portal/test_transitions.py",
            "tests/compliance/test_state_machine.py",
            "tests/provisioning/test_order_submission.py",
        ],
        [
            "portal.transitions.*",
            "compliance.actions.cases.x__brand_already_approved__mutmut_*",
            "compliance.actions.cases.x_refusal__mutmut_*",
            "compliance.actions.cases.x_allowed_transitions__mutmut_*",
            "compliance.actions.cases.x_transition__mutmut_*",
            "provisioning.actions.x_set_order_status__mutmut_*",
        ],
    ),
}

# The apps mutmut copies into its mutants/ folder (only the modules above are mutated), and what Django needs beside.
APPS = ["portal", "carrier", "provisioning", "compliance", "texting"]
ALSO = ["tests", "templates", "static", "manage.py", "pyproject.toml"]
# No services: the SQLite default, and tests that need PostgreSQL or Redis skip.
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "REQUIRE_SERVICES")
# The tables are built from the models (`makemigrations --check` in `make test` keeps the two equal): every mutant
# builds a fresh test database, and applying the migrations would double the run.
PYTEST_ARGS = ["-p", "no:cacheprovider", "--no-migrations"]
# Prose is not mutated: a line with a string literal holding words ("a word, a space, a word") is left as it is.
# mutmut would turn every sentence the user reads into XX...XX, lower and UPPER case; the wording changes (and gets
# translated) without the rule changing, so the tests assert the reason code, the state, the stored rows and the key
# phrase, not each sentence's case. Codes ("enterprise", "GET", "US") have no spaces and stay mutated.
DO_NOT_MUTATE = [r'"[^"\n]*[a-z] [A-Za-z][^"\n]*"']
# Groups whose rule has a PostgreSQL-only path (the purge's time-range batches; the row lock's `of=`, which SQLite
# ignores): with MUTATION_DATABASE_URL set they run against that server, one mutant at a time on one kept test
# database (`--reuse-db`; the tests clean up after themselves); without it they run on SQLite and the PostgreSQL-only
# code counts as not killed.
POSTGRES_GROUPS = {"retention", "transitions"}


def _on_postgres(group: str) -> bool:
    return group in POSTGRES_GROUPS and bool(os.environ.get("MUTATION_DATABASE_URL"))


def _setup_cfg(modules: list[str], tests: list[str], pytest_args: list[str]) -> str:
    def lines(values):
        return "".join(f"\n    {v}" for v in values)

    return (
        "[mutmut]\n"
        f"source_paths ={lines(APPS)}\n"
        f"only_mutate ={lines(modules)}\n"
        f"also_copy ={lines(ALSO[1:])}\n"
        f"do_not_mutate_patterns ={lines(DO_NOT_MUTATE)}\n"
        f"pytest_add_cli_args ={lines(pytest_args)}\n"
        f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
    )


def workdir(group: str) -> Path:
    """var/mutation/<group>/: links to the project and a setup.cfg naming this group's modules and tests."""
    modules, tests = GROUPS[group][:2]
    folder = ROOT / "var" / "mutation" / group
    folder.mkdir(parents=True, exist_ok=True)
    for name in APPS + ALSO:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    pytest_args = PYTEST_ARGS + (["--reuse-db"] if _on_postgres(group) else [])
    (folder / "setup.cfg").write_text(_setup_cfg(modules, tests, pytest_args))
    return folder


def run(group: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    children = "2"
    if _on_postgres(group):
        env["DATABASE_URL"], children = os.environ["MUTATION_DATABASE_URL"], "1"
    names = GROUPS[group][2:3] or [[]]
    command = ["nice", str(MUTMUT), "run", "--max-children", children, *names[0]]
    subprocess.run(command, cwd=workdir(group), env=env, check=False)


def results(group: str) -> list[tuple[str, int, int, list[str]]]:
    """Per module: (module, mutants, killed, survivors), read from what mutmut stored."""
    from mutmut.stats import status_by_exit_code

    rows = []
    for module in GROUPS[group][0]:
        meta = ROOT / "var" / "mutation" / group / "mutants" / f"{module}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        patterns = GROUPS[group][2] if len(GROUPS[group]) > 2 else ["*"]
        status = {
            name: status_by_exit_code[code]
            for name, code in codes.items()
            if any(fnmatch(name, pattern) for pattern in patterns)
        }
        counts = Counter(status.values())
        # A mutant that makes the tests time out or crash is noticed too.
        killed = counts["killed"] + counts["timeout"] + counts["segfault"]
        rows.append((module, len(status), killed, sorted(n for n, s in status.items() if s != "killed")))
    return rows


def main(groups: list[str]) -> int:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        print(f"Unknown group(s): {', '.join(unknown)}. Groups: {', '.join(GROUPS)}.")
        return 2
    groups = groups or list(GROUPS)
    for group in groups:
        print(f"== {group}", flush=True)
        run(group)
    below = False
    print("\n| module | mutants | killed | score |\n|---|---|---|---|")
    survivors = []
    for group in groups:
        for module, total, killed, left in results(group):
            score = killed / total if total else 0.0
            below |= score < GOAL
            print(f"| `{module}` | {total} | {killed} | {score:.0%} |")
            survivors += [f"{group}: {name}" for name in left]
    if survivors:
        print("\nNot killed (`mutmut show NAME` in var/mutation/<group>/):")
        print("\n".join(f"  {s}" for s in survivors))
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
