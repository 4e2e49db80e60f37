"""What the fault scripts (and benchmarks/load.py) share: the portal's production environment, a throw-away PostgreSQL
cluster or Redis, a migrated database, background processes that are always stopped, bounded waits for them to start,
signing in through the login form, and the verdict that decides the exit status.

Every helper cleans up after itself (context managers, `finally`), so a script that fails half-way leaves no server,
worker or data directory behind. Process logs go to var/faults/<script>/ (git-ignored) for a look after a failure.
"""

import argparse
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

sys.path.insert(0, str(ROOT))


# The portal as deployed: DEBUG off, plain HTTP on loopback (no TLS proxy in front here).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "LOG_LEVEL": "WARNING",
}
# What must never reach a visitor: Python's traceback, the driver's or Django's exception names, the server's words.
LEAK = re.compile(
    r'Traceback|File "|OperationalError|InterfaceError|DatabaseError|Exception|psycopg'
    r"|connection to server|Is the server running"
)


def log_dir(script: str) -> Path:
    """Where this script's processes write their logs (emptied at each run)."""
    path = ROOT / "var" / "faults" / script
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# --- PostgreSQL -------------------------------------------------------------------------------------------------


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary directory, on its own port, that a script may stop and start at
    will (the shared server must never be touched). initdb refuses root, so as root it runs as `postgres`."""

    def __init__(self, port: int, logs: Path):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="th-faults-pg-"))
        self.data = self.dir / "data"
        self.logfile = logs / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def init(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.logfile.touch()
            os.chown(self.logfile, account.pw_uid, account.pw_gid)
        self._pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync off: the cluster lives for a minute and only a clean stop/start is simulated.
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", self.data, "-l", self.logfile, "-o", options, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop")

    def is_running(self) -> bool:
        return self._pg("pg_ctl", "-D", self.data, "status", check=False).returncode == 0

    def remove(self) -> None:
        """Stop the cluster if it runs and delete its directory."""
        if self.data.exists() and self.is_running():
            self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def _pg(self, program: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd=self.dir)


@contextmanager
def throwaway_postgres(port: int, logs: Path) -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres(port, logs)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def migrated_database(server_url: str, *, drop: bool = True) -> Iterator[str]:
    """A fresh, migrated `test_<name>` database on the server of `server_url`, made the way the benchmarks make
    theirs (Django's own test-database creation); yields its URL for other processes, drops it at the end.

    Configures Django for this process, so call it before importing models.
    """
    os.environ["DATABASE_URL"] = server_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{connection.settings_dict['NAME']}"))
    try:
        yield url
    finally:
        if drop:
            connection.creation.destroy_test_db(old_name, verbosity=0)


# --- Redis ------------------------------------------------------------------------------------------------------


class ThrowawayRedis:
    """A private redis-server on its own port, run by this script, that it may stop and start at will (the shared
    server must never be touched). No persistence (`--save "" --appendonly no`): after a restart it is empty, so
    whatever was queued in it is gone, as after a Redis crash without persistence."""

    def __init__(self, port: int, logs: Path):
        self.port = port
        self.logfile = logs / "redis.log"
        self.dir = Path(tempfile.mkdtemp(prefix="th-faults-redis-"))
        self.process: subprocess.Popen | None = None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        if port_in_use(self.port):
            raise SystemExit(f"Port {self.port} is already in use: stop what listens there or choose another port.")
        with open(self.logfile, "ab") as out:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.dir),
                ],
                cwd=self.dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not wait_until(self.is_running, timeout=10, interval=0.05):
            raise SystemExit(f"redis-server did not start on port {self.port}:\n" + tail(self.logfile))

    def stop(self) -> None:
        """Shut it down (SIGTERM: redis-server's own clean shutdown) and wait until the port is closed."""
        if self.process is not None:
            stop_group(self.process, grace_seconds=10)
            self.process = None

    def is_running(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def throwaway_redis(port: int, logs: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(port, logs)
    try:
        server.start()
        yield server
    finally:
        server.remove()


def port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# --- processes --------------------------------------------------------------------------------------------------


def parse_self_check(doc: str) -> bool:
    """The script's command line: only `--self-check`, which starts the Celery workers with the carrier client's
    lookup by reference switched off (`celery_command(reconcile=False)`) and passes only if the claims guarding
    reconciliation fail."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="run the workers without reconciliation (a shim, _never_reconcile.py, around the carrier client) and "
        "pass only if the duplicate-submission claims then fail",
    )
    return parser.parse_args().self_check


def celery_command(*, reconcile: bool = True) -> list[str]:
    """The start of a Celery command line: `celery`, or with `reconcile=False` the same through _never_reconcile.py,
    whose carrier client never finds an order by reference."""
    if reconcile:
        return [str(BIN / "celery")]
    return [str(BIN / "python"), str(Path(__file__).with_name("_never_reconcile.py"))]


# The background processes started and not yet stopped, by pid (the leader of each one's process group).
_RUNNING: dict[int, subprocess.Popen] = {}


@contextmanager
def background(name: str, args: list[str], *, env: dict, logs: Path) -> Iterator[subprocess.Popen]:
    """Run `args` from the project root in a session of its own, output in logs/<name>.log; stop it (and the
    children it forked: gunicorn and Celery workers) at the end, whatever happened. In a session of its own, Ctrl-C
    at the terminal does not reach it: only this stops it (and `stop_leftovers`, should this be cut short)."""
    with open(logs / f"{name}.log", "wb") as out:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        _RUNNING[process.pid] = process
        try:
            yield process
        finally:
            stop_group(process)
            _RUNNING.pop(process.pid, None)


def stop_leftovers() -> None:
    """SIGKILL the process group of every background process whose stop was cut short (a signal during the
    clean-up), and reap it."""
    for pid, process in list(_RUNNING.items()):
        _signal_group(pid, signal.SIGKILL)
        process.wait()
        _RUNNING.pop(pid, None)


class Stopped(BaseException):
    """A stop signal, raised in the main thread (a BaseException, like KeyboardInterrupt: no `except Exception` on
    the way up swallows it) so that every `with` and `finally` runs as after any failure."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Ctrl-C, `kill` or `timeout`, the terminal closed.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _stop(signum, frame) -> NoReturn:
    _ignore_stop_signals()  # a second Ctrl-C or a repeated SIGTERM must not cut the clean-up short
    raise Stopped(signum)


def run_main(main: Callable[[], int]) -> NoReturn:
    """`sys.exit(main())`, cleaning up on every exit: SIGTERM and SIGHUP (whose default is to die on the spot,
    leaving every server, worker and database this started) and SIGINT raise `Stopped`, so the clean-up of the
    `with` blocks and `finally` clauses runs; then whatever it could not stop is killed. Exits 128 + the signal's
    number when stopped so."""
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # left ignored when told so (nohup, a background job)
            signal.signal(signum, _stop)
    try:
        code = main()
    except Stopped as stopped:
        print(f"Stopped by {stopped}: everything it started is stopped.", file=sys.stderr, flush=True)
        code = 128 + stopped.signum
    finally:
        _ignore_stop_signals()
        stop_leftovers()
    sys.exit(code)


def stop_group(process: subprocess.Popen, grace_seconds: float = 15.0) -> None:
    """SIGTERM the process group led by `process` (a warm shutdown), SIGKILL whatever is left after the grace."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def answers_ok(url: str) -> bool:
    """Whether GET `url` answers 200 now (False while the server is still starting, or down)."""
    try:
        return httpx.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def worker_answers(name: str) -> bool:
    """Whether the Celery worker `name` answers a ping (through the broker the environment names)."""
    from portal.celery import app

    return bool(app.control.ping(destination=[name], timeout=1.0))


def wait_started(what: str, ready: Callable[[], bool], logfile: Path, timeout: float = 60) -> None:
    """Wait until `ready()`; if it never is, stop the script with "`what` did not start" and the end of its log."""
    if not wait_until(ready, timeout=timeout):
        raise SystemExit(f"{what} did not start:\n" + tail(logfile))


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    """Sign in through the real login form (CSRF token included), as a person would."""
    form = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    response = client.post(
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": email, "password": password, "next": "/overview/"},
    )
    if response.status_code != 302 or client.get("/overview/").status_code != 200:
        raise SystemExit(f"Could not sign in as {email}: HTTP {response.status_code}")


def flush_redis_db(url: str) -> None:
    """Empty one Redis database of our own (never the whole server): no task of an earlier run is left to run."""
    import redis

    if urlsplit(url).path in ("", "/", "/0"):
        raise SystemExit(f"Refusing to flush {url}: give a Redis database of your own (redis://host:port/N).")
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


# --- verdict ----------------------------------------------------------------------------------------------------


class Verdict:
    """The script's claims, each checked and printed; `exit_code()` is 1 if any failed.

    A self-check run (the behaviour some claims guard switched off) names those claims in `must_fail`, and then it is
    the other way round: `exit_code()` is 0 only if each of them was checked and failed. The other claims are printed
    as usual but decide nothing."""

    def __init__(self, must_fail: Iterable[str] = ()):
        self.failed: list[str] = []
        self.must_fail = tuple(must_fail)

    def check(self, claim: str, ok: bool, detail: str = "") -> bool:
        print(f"  [{'PASS' if ok else 'FAIL'}] {claim}" + (f" ({detail})" if detail else ""))
        if not ok:
            self.failed.append(claim)
        return ok

    def exit_code(self) -> int:
        if self.must_fail:
            held = [claim for claim in self.must_fail if claim not in self.failed]
            print(
                "RESULT (self-check): "
                + (
                    f"PASS (all {len(self.must_fail)} claim(s) guarding the switched-off behaviour failed)"
                    if not held
                    else "FAIL (still passed, or never checked, without the behaviour they guard: "
                    + "; ".join(held)
                    + ")"
                )
            )
            return 1 if held else 0
        print("RESULT: " + ("PASS" if not self.failed else f"FAIL ({len(self.failed)} claim(s) failed)"))
        return 1 if self.failed else 0
