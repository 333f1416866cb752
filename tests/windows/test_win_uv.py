"""pip and uv.exe exclude each other on Windows: a hooked Windows pip and the
official uv.exe under Wine 10 (.ci/sid uvwine, PLH_TIER=windows-uv; the
Windows tier's Wine 8 cannot start uv.exe), in both kinds of environment.

uv takes its own lock (<venv>\\.lock; for an interpreter's own site-packages
%TEMP%\\uv-<digest>.lock), LockFileEx over the whole file, and knows nothing
of piplockhook: exclusion holds because piplockhook takes the same lock.
Each claim is paired with the same run under PIPLOCKHOOK=0, which does not
wait. uv holds its lock while it resolves, so an index (a local HTTP server
of this test) that answers only when the test says keeps uv holding. Last, a
race: two pips and uv.exe changing one distribution at once leave it whole
with the hook, and break it without (tests/support/stress.py's driver).
"""

import collections
import concurrent.futures
import http.server
import os
import threading
import time

import pytest
import stress
from packages import DEMO, DEMO_VERSIONS, SLOW, SMALL
from procs import wait_until
from winprocs import WindowsProcesses, winpath

pytestmark = pytest.mark.slow

UV = os.environ.get("PLH_UV_EXE", "")
BOUND = 120  # seconds any wait of these tests may take


class HeldIndex:
    """An index that takes uv's request and answers 404 (no such project:
    uv goes on to its --find-links) only once released."""

    def __init__(self):
        self.asked = threading.Event()
        self.released = threading.Event()
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                index.asked.set()
                index.released.wait(BOUND)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held_index():
    index = HeldIndex()
    yield index
    index.close()


def uv_env(env, tmp_path):
    """`env` (a Windows process's) with uv's settings: none of the machine's, a cache of the test's."""
    env = {k: v for k, v in env.items() if not k.startswith("UV_")}
    env.update(UV_CACHE_DIR=winpath(str(tmp_path / "uv-cache")), UV_NO_PROGRESS="1")
    return env


@pytest.fixture
def uv(win, tmp_path):
    """start(*install_args) -> uv.exe `pip install` into `win`, verbose, in the background; killed at teardown."""
    assert UV and os.path.isfile(UV), f"no uv.exe (PLH_UV_EXE={UV!r}): .ci/sid uvwine sets it"
    started = []

    def start(*args):
        env = uv_env({k: v for k, v in win.env().items() if not k.startswith(("PIP_", "PIPLOCKHOOK"))}, tmp_path)
        command = [UV, "pip", "install", "-v", "--python", winpath(win.python), "--find-links", winpath(win.wheelhouse)]
        proc = win.start([*command, *args], env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def say(capsys, win, text):
    """A figure for CI's log, which a passing test's captured output never reaches."""
    with capsys.disabled():
        print(f"\n{win.kind}: {text}")


def hooked(hook):
    return {"PIPLOCKHOOK": "0"} if hook == "0" else {}


@pytest.mark.parametrize("hook", ["on", "0"])
def test_uv_waits_for_a_pip_holding_the_lock(win, uv, hook, capsys):
    win.pip("install", f"{SMALL}==1.0")
    # `pip uninstall` at its prompt (stdin a pipe, no PIP_NO_INPUT) holds the
    # exclusive lock until answered.
    env = win.env(**hooked(hook))
    env.pop("PIP_NO_INPUT")
    pip = win.start([win.exe("pip.exe"), "uninstall", SMALL], env)
    try:
        pip.expect("Would remove", stream="stdout", timeout=BOUND)
        held = win.probe(win.lock_path)
        assert held == ("free" if hook == "0" else "exclusive")
        started = time.monotonic()
        uvp = uv("--no-index", f"{SLOW}==0.9")
        if hook == "0":
            rc, out, err = uvp.finish(timeout=BOUND)
            assert rc == 0 and pip.running(), out + err  # uv installed while pip sat at its prompt
            say(capsys, win, f"uv beside an unhooked pip at its prompt: {time.monotonic() - started:.2f} s")
        else:
            uvp.expect(r"Waiting to acquire exclusive lock", timeout=BOUND)
            assert uvp.running() and pip.running()
            assert SLOW not in win.installed()  # uv changed nothing meanwhile
            assert win.probe(win.lock_path) == "exclusive"  # pip still holds
        pip.send("n")  # pip ends, keeping plhsmall
        assert pip.finish()[0] == 0
        released = time.monotonic()
        rc, out, err = uvp.finish(timeout=BOUND)
        assert rc == 0, out + err
        if hook != "0":
            say(
                capsys,
                win,
                f"uv waited {released - started:.2f} s; ended {time.monotonic() - released:.2f} s after pip let go",
            )
        assert win.installed()[SLOW] == "0.9"
    finally:
        pip.kill()
    win.pip("uninstall", "-y", SLOW, SMALL)


@pytest.mark.parametrize("hook", ["on", "0"])
def test_pip_waits_for_uv_holding_the_lock(win, uv, held_index, win_background, hook, capsys):
    uvp = uv("--index-url", held_index.url, f"{SLOW}==0.9")
    assert held_index.asked.wait(BOUND), "uv never asked the index:\n" + uvp.output()
    if win.kind == "venv":  # the system's lock is uv's own %TEMP%\uv-<digest>.lock
        assert win.probe(win.lock_path) == "exclusive"  # uv holds while it resolves
    started = time.monotonic()
    pip = win_background(win, "install", f"{SMALL}==1.0", **hooked(hook))
    if hook == "0":
        rc, out, err = pip.finish(timeout=BOUND)
        assert rc == 0 and uvp.running(), out + err  # pip installed while uv held its lock
        say(capsys, win, f"unhooked pip beside uv holding: {time.monotonic() - started:.2f} s")
    else:
        pip.expect(r"piplockhook: waiting for (shared|exclusive) lock on .*, held by", timeout=BOUND)
        assert pip.running() and uvp.running()
        assert SMALL not in win.installed()  # pip changed nothing meanwhile
    held_index.released.set()
    released = time.monotonic()
    rc, out, err = uvp.finish(timeout=BOUND)
    assert rc == 0, out + err
    uv_done = time.monotonic()
    rc, out, err = pip.finish(timeout=BOUND)
    assert rc == 0, out + err
    if hook != "0":
        say(
            capsys,
            win,
            f"pip waited {released - started:.2f} s; uv ended {uv_done - released:.2f} s after release, "
            f"pip {time.monotonic() - uv_done:.2f} s after uv",
        )
    installed = win.installed()
    assert (installed[SLOW], installed[SMALL]) == ("0.9", "1.0")
    wait_until(lambda: win.probe(win.lock_path) == "free", timeout=BOUND, what="the lock let go")
    win.pip("uninstall", "-y", SLOW, SMALL)


class UvProcesses(WindowsProcesses):
    """A race driver's change made by uv.exe: `pip install --force-reinstall`
    as `uv pip install --reinstall`, `pip uninstall -y` as `uv pip uninstall`."""

    def argv(self, label, args, hook):
        win = self.venv
        rest = ["--reinstall" if a == "--force-reinstall" else a for a in args[1:] if a != "-y"]
        where = ["--python", winpath(win.python)]
        if args[0] == "install":
            where += ["--no-index", "--find-links", winpath(win.wheelhouse)]
        return [UV, "pip", args[0], *where, *rest]


class UvSide:
    """`win` as the race driver sees it, its changes made by uv.exe."""

    def __init__(self, win):
        self.win = win

    def stress_processes(self):
        return UvProcesses(self.win)


PIPS, OPS, CONTROL_ROUNDS = 2, 5, 3


def change(rng):
    """One seeded random change of the one distribution (stress.operations' changes only)."""
    return rng.choice(
        [("force-reinstall", ["install", "--force-reinstall", f"{DEMO}=={v}"]) for v in DEMO_VERSIONS]
        + [("uninstall", ["uninstall", "-y", DEMO])]
    )


def mixed_round(win, tmp_path, seed, hook):
    """Two pips and one uv.exe, each making OPS seeded random changes to the
    same distribution at once; then `piplockhook verify` and `pip check`."""
    env = uv_env(win.env(**hooked(hook)), tmp_path)
    problems, samples = collections.Counter(), []
    with concurrent.futures.ThreadPoolExecutor(PIPS + 1) as pool:
        sides = [win] * PIPS + [UvSide(win)]
        futures = [
            pool.submit(stress._worker, side, env, seed * 1000 + i, OPS, hook != "0", change)
            for i, side in enumerate(sides)
        ]
        for future in futures:
            found, some = future.result()
            problems.update(found)
            samples.extend(some)
    problems.update(stress.integrity_problems(win))
    return problems, samples


def test_pips_and_uv_changing_one_distribution_leave_it_whole(win, tmp_path, capsys):
    problems, samples = mixed_round(win, tmp_path, seed=1, hook="on")
    with capsys.disabled():
        print(f"\nmixed race ({win.kind}, hook): {dict(problems) or 'no problems'}")
    stress.repair(win)
    assert not problems, f"{dict(problems)}\n" + "\n---\n".join(samples)


def test_without_the_hook_the_mixed_race_breaks(win, tmp_path, capsys):
    rounds = stress.until_broken(win, lambda seed: mixed_round(win, tmp_path, seed, hook="0"), CONTROL_ROUNDS)
    with capsys.disabled():
        for i, problems in enumerate(rounds):
            print(f"\nmixed race ({win.kind}, PIPLOCKHOOK=0): round {i + 1}: {dict(problems) or 'no problems'}")
    assert rounds[-1], f"no problem in {CONTROL_ROUNDS} unlocked rounds: the mixed race proves nothing"
