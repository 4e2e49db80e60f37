"""The benchmarks' and fault scripts' background processes (scripts/faults/_services.py, which benchmarks/load.py
runs its gunicorn, Celery worker and carrier simulator with): however the script is stopped (SIGTERM from `timeout`
or `kill`, Ctrl-C, the terminal closed), nothing it started is left running, children of children included.

The script here is a small one built the same way (`run_main` around a `background` block): the real load test
needs PostgreSQL, Redis and a minute to start; README "Benchmarks" says how it was checked end to end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FAULTS = Path(__file__).resolve().parents[2] / "scripts" / "faults"

# A server and the worker it forked (as gunicorn's master and workers): the pid of each on a line, then asleep.
SERVER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(worker.pid, flush=True)
time.sleep(120)
"""

# SIGHUP and SIGINT as in a terminal: a test run started under nohup, or in the background without job control,
# would otherwise hand the script an ignored SIGHUP or SIGINT, which run_main rightly leaves ignored.
SCRIPT = f"""
import os, signal, sys, time
from pathlib import Path
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {str(FAULTS)!r})
from _services import background, run_main

def main():
    logs = Path(sys.argv[1])
    with background("server", [sys.executable, "-c", {SERVER!r}], env=dict(os.environ), logs=logs) as server:
        print(server.pid, flush=True)
        time.sleep(120)
    return 0

run_main(main)
"""


def alive(pgid: int) -> list[int]:
    """The processes of a process group that still run (zombies waiting to be reaped do not)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stopped_script_leaves_no_process_behind(tmp_path, signum):
    script = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as run from a terminal: signals reach the script only when sent to it
    )
    try:
        server = int(script.stdout.readline())
        log = tmp_path / "server.log"
        deadline = time.monotonic() + 30
        while not log.read_text().strip() and time.monotonic() < deadline:  # the server has forked its worker
            time.sleep(0.05)
        worker = int(log.read_text())
        assert set(alive(server)) == {server, worker}

        script.send_signal(signum)
        script.wait(timeout=30)
        deadline = time.monotonic() + 5
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alive(server) == []
        assert script.returncode == 128 + signum  # it says how it ended, after cleaning up
        assert f"Stopped by {signum.name}" in script.stderr.read()
    finally:
        script.kill()
        script.wait()
        for pgid in (script.pid, locals().get("server")):
            if pgid:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
