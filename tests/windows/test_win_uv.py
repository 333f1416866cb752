"""pip and uv.exe exclude each other on Windows: a hooked Windows pip and the
official uv.exe under Wine 10 (.ci/sid uvwine, PLH_TIER=windows-uv; the
Windows tier's Wine 8 cannot start uv.exe), in both kinds of environment.

uv takes its own lock (<venv>\\.lock; for an interpreter's own site-packages
%TEMP%\\uv-<digest>.lock), LockFileEx over the whole file, and knows nothing
of piplockhook: exclusion holds because piplockhook takes the same lock.
Each claim is paired with the same run under PIPLOCKHOOK=0, which does not
wait. uv holds its lock while it resolves, so an index (a local HTTP server
of this test) that answers only when the test says keeps uv holding.
"""

import http.server
import os
import threading
import time

import pytest
from packages import SLOW, SMALL
from procs import wait_until
from winprocs import winpath

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


@pytest.fixture
def uv(win, tmp_path):
    """start(*install_args) -> uv.exe `pip install` into `win`, verbose, in the background; killed at teardown."""
    assert UV and os.path.isfile(UV), f"no uv.exe (PLH_UV_EXE={UV!r}): .ci/sid uvwine sets it"
    started = []

    def start(*args):
        env = {k: v for k, v in win.env().items() if not k.startswith(("PIP_", "PIPLOCKHOOK", "UV_"))}
        env.update(UV_CACHE_DIR=winpath(str(tmp_path / "uv-cache")), UV_NO_PROGRESS="1")
        command = [UV, "pip", "install", "-v", "--python", winpath(win.python), "--find-links", winpath(win.wheelhouse)]
        proc = win.start([*command, *args], env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def hooked(hook):
    return {"PIPLOCKHOOK": "0"} if hook == "0" else {}


@pytest.mark.parametrize("hook", ["on", "0"])
def test_uv_waits_for_a_pip_holding_the_lock(win, uv, hook):
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
            print(f"uv beside an unhooked pip at its prompt: {time.monotonic() - started:.2f} s")
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
            print(f"uv waited {released - started:.2f} s; ended {time.monotonic() - released:.2f} s after pip let go")
        assert win.installed()[SLOW] == "0.9"
    finally:
        pip.kill()
    win.pip("uninstall", "-y", SLOW, SMALL)


@pytest.mark.parametrize("hook", ["on", "0"])
def test_pip_waits_for_uv_holding_the_lock(win, uv, held_index, win_background, hook):
    uvp = uv("--index-url", held_index.url, f"{SLOW}==0.9")
    assert held_index.asked.wait(BOUND), "uv never asked the index:\n" + uvp.output()
    if win.kind == "venv":  # the system's lock is uv's own %TEMP%\uv-<digest>.lock
        assert win.probe(win.lock_path) == "exclusive"  # uv holds while it resolves
    started = time.monotonic()
    pip = win_background(win, "install", f"{SMALL}==1.0", **hooked(hook))
    if hook == "0":
        rc, out, err = pip.finish(timeout=BOUND)
        assert rc == 0 and uvp.running(), out + err  # pip installed while uv held its lock
        print(f"unhooked pip beside uv holding: {time.monotonic() - started:.2f} s")
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
        print(
            f"pip waited {released - started:.2f} s; uv ended {uv_done - released:.2f} s after release, "
            f"pip {time.monotonic() - uv_done:.2f} s after uv"
        )
    installed = win.installed()
    assert (installed[SLOW], installed[SMALL]) == ("0.9", "1.0")
    wait_until(lambda: win.probe(win.lock_path) == "free", timeout=BOUND, what="the lock let go")
    win.pip("uninstall", "-y", SLOW, SMALL)
