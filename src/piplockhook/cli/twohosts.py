"""``piplockhook check --hold`` and ``--probe``: do pips on two hosts exclude each other?

One host cannot prove it ("a successful flock call does not prove that
property", versitygw#2359): plain ``check`` reads the mount and trusts
filesystems.ROWS. Here a real lock is taken on one host and tried on the
other. ``--hold`` takes the lock's primitive (the flock and, on Linux, its OFD
part: what every pip takes) exclusively on ``<lock>.probe`` beside the lock,
never on the lock itself (holding that would stop every pip), and writes in it
who holds it (a token). ``--probe``, on another host, reads the token and asks
for the file shared and exclusive without waiting: refused both ways, the
hosts exclude each other; granted, they do not, whatever the mount's row says.

The holder empties the file before it lets go, and a probe that got the lock
reads the token again while it holds it: the same token means its holder
still held it then. A holder killed outright (SIGKILL, its host down) leaves
its token without a lock, which a probe from another host cannot tell from a
lock that does not cross: its NOT line names the holder to look for.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import time
from typing import Any, NamedTuple

from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, usage_error
from piplockhook.filesystems import verdict_at
from piplockhook.lock import primitive, refused, refuses_locks
from piplockhook.lock.holderfiles import HOLDER_BYTE, host_name, unlink
from piplockhook.report import error_line

PROG = "piplockhook check"
SUFFIX = ".probe"
FORMAT = "piplockhook-probe 1"
# Test-only, read by --hold alone: the host name its token gives, so that a
# probe on the same machine sees "another host" (tests/slow/test_two_hosts.py).
TEST_HOST = "PIPLOCKHOOK_TEST_HOST"
_STEP_SECONDS = 0.5  # how often the holder looks at its clock (a signal ends it at once)
# What the mount's row cannot say: the fix where the lock does not cross.
NOT_CROSSING_FIX = (
    "mount it so that locks reach the server (NFS without local_lock or nolock, Lustre with flock, "
    "SMB without nobrl), or run this environment's pips on one host only: docs/filesystems.md"
)

EXCLUDED = "excluded"
NOT_EXCLUDED = "not excluded"


class Token(NamedTuple):
    """Who holds the probe file: what --hold writes in it."""

    host: str
    pid: int
    since: float


def probe_path(lock_path: str) -> str:
    """The file the two hosts contend for, beside the lock (as its turnstile and holder files)."""
    return lock_path + SUFFIX


def token_text(token: Token) -> str:
    return f"{FORMAT}\nhost={token.host}\npid={token.pid}\nsince={token.since:.3f}\nend\n"


def parse_token(text: str) -> Token | None:
    """The token in `text`; None for an empty, partial or foreign one."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != FORMAT or "end" not in lines:
        return None
    fields = dict(line.partition("=")[::2] for line in lines[1 : lines.index("end")])
    try:
        token = Token(fields["host"], int(fields["pid"]), float(fields["since"]))
    except (KeyError, ValueError):
        return None
    return token if token.host else None


def read_token(path: str) -> Token | None:
    """The token in the probe file, read through a descriptor of its own (a fresh
    open: NFS then asks the server), None where there is none."""
    try:
        with open(path, "rb") as f:
            return parse_token(f.read(4096).decode("utf-8", "surrogateescape"))
    except (FileNotFoundError, NotADirectoryError):
        return None


def holder(token: Token) -> str:
    return f"pid {token.pid} on {token.host}"


def verdict(got_shared: bool, got_exclusive: bool | None) -> str:
    """EXCLUDED when this host was refused the holder's file every way it asked
    (`got_exclusive` None: not asked, a read-only descriptor)."""
    return NOT_EXCLUDED if got_shared or got_exclusive else EXCLUDED


def probe_lines(
    path: str, lock_path: str, token: Token, here: str, got_shared: bool, got_exclusive: bool | None, fix: str
) -> list[str]:
    """What --probe says once it asked (its first line: the verdict)."""
    asked = "shared and exclusive" if got_exclusive is not None else "shared (exclusive not asked: read-only here)"
    if verdict(got_shared, got_exclusive) == EXCLUDED:
        return [
            f"these hosts exclude each other: {path}, held by {holder(token)}, was refused here ({here}), {asked}: "
            f"a pip there and a pip here wait for each other on {lock_path}"
        ]
    granted = " and ".join(mode for mode, got in (("shared", got_shared), ("exclusive", got_exclusive)) if got)
    return [
        f"these hosts do NOT exclude each other: {path}, held by {holder(token)}, was granted here ({here}), "
        f"{granted}: a pip there and a pip here do not wait for each other on {lock_path}, and can change "
        f"the environment at once (unless {holder(token)} was killed: then hold it there again and probe again)",
        f"  hint: {fix}",
    ]


def hold(lock_path: str, seconds: float | None) -> int:
    """--hold: hold the probe file until Ctrl-C, SIGTERM (SIGHUP) or `seconds`; then
    empty it, let go, remove it."""
    path = probe_path(lock_path)
    fd = primitive.open_lock_file(path, True)
    try:
        if primitive.read_only(fd):  # another user's, left by a holder that was killed
            error_line(f"{path} is not writable for this user: its owner may hold it, or remove it")
            return EXIT_FAILED
        try:
            got = primitive.try_lock(fd, True, HOLDER_BYTE)  # past the token: Windows' lock is mandatory
        except OSError as exc:
            if not refuses_locks(exc):
                raise
            print(f"locking does NOT work: {refused(lock_path, exc)}")
            return EXIT_FAILED
        if not got:
            token = read_token(path)
            by = holder(token) if token else "another process"
            error_line(f"{path} is held already, by {by}: one check --hold at a time (probe it from another host)")
            return EXIT_FAILED
        token = Token(os.environ.get(TEST_HOST) or host_name(), os.getpid(), time.time())
        previous = _end_on_signals()  # before the line that says it holds: a signal may follow it at once
        try:
            os.ftruncate(fd, 0)
            os.write(fd, token_text(token).encode("utf-8", "surrogateescape"))
            os.fsync(fd)  # NFS: on the server now, for the other host's probe
            until = "until Ctrl-C" if seconds is None else f"for {seconds:g}s (or until Ctrl-C)"
            again = shlex.join([*PROG.split(), "--probe", "--lockfile", lock_path])
            print(f"holding {path} exclusively as {holder(token)} {until}; on the other host run: {again}", flush=True)
            _wait(seconds)
        except (KeyboardInterrupt, _Ended):  # its way to end (KeyboardInterrupt: before the handlers were set)
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _empty(fd)  # before letting go: a probe never reads a token whose holder has ended
    finally:
        os.close(fd)  # closed before it is removed: an open file removed on NFS leaves a .nfs* file
    unlink(path)
    print(f"released {path} and removed it")
    return EXIT_OK


class _Ended(Exception):
    """Ctrl-C, SIGTERM or SIGHUP: --hold's way to end."""


def _end(signum: int, frame: object) -> None:
    raise _Ended


def _end_on_signals() -> dict[int, Any]:
    """SIGINT, SIGTERM and SIGHUP raise _Ended from now on; the handlers they had,
    to put back. SIGINT too where it was ignored: a shell starts `--hold &` so,
    and `kill -INT` must end it there as Ctrl-C does at a terminal."""
    ending = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    return {s: signal.signal(s, _end) for s in ending}


def _wait(seconds: float | None) -> None:
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        left = _STEP_SECONDS if deadline is None else deadline - time.monotonic()
        time.sleep(max(0.0, min(_STEP_SECONDS, left)))


def _empty(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.fsync(fd)
    except OSError:  # the file is removed next anyway
        pass


class _HolderEnded(Exception):
    """The token changed while this host held the file: its holder ended meanwhile."""


def probe(lock_path: str) -> int:
    """--probe: ask for the holder's file, shared and exclusive, never waiting."""
    path = probe_path(lock_path)
    start = f"start `{PROG} --hold --lockfile {shlex.quote(lock_path)}` on the other host first, then probe here"
    token = read_token(path)
    if token is None:
        return usage_error(PROG, f"no {PROG} --hold holds {path}: {start}")
    here = host_name()
    if token.host == here:
        return usage_error(
            PROG,
            f"{path} is held by {holder(token)}, this host: one host proves nothing across hosts; "
            "probe from another host that reaches this environment",
        )
    try:
        fd = primitive.open_lock_file(path, False)
    except FileNotFoundError:
        return usage_error(PROG, f"the holder of {path} ended before this host probed: {start}")
    try:
        got_shared = bool(_ask(fd, False, path, token))  # None is for exclusive only
        got_exclusive = _ask(fd, True, path, token)
    except _HolderEnded:
        return usage_error(PROG, f"the holder of {path} ended while this host probed: {start}")
    except OSError as exc:
        if not refuses_locks(exc):
            raise
        print(f"locking does NOT work: {refused(lock_path, exc)}")
        return EXIT_FAILED
    finally:
        os.close(fd)
    mount = verdict_at(path)
    fix = mount.failure() if mount is not None and mount.fails else NOT_CROSSING_FIX  # check's own line there
    for line in probe_lines(path, lock_path, token, here, got_shared, got_exclusive, fix):
        print(line)
    return EXIT_OK if verdict(got_shared, got_exclusive) == EXCLUDED else EXIT_FAILED


def _ask(fd: int, exclusive: bool, path: str, token: Token) -> bool | None:
    """Was this host granted the file (let go at once)? None: exclusive on a read-only
    descriptor, which NFSv4 refuses whoever holds it (EBADF)."""
    try:
        got = primitive.try_lock(fd, exclusive, HOLDER_BYTE)
    except OSError as exc:
        if exc.errno == errno.EBADF and exclusive and primitive.read_only(fd):
            return None
        raise
    if got:
        try:
            still = read_token(path) == token
        finally:
            primitive.unlock(fd, HOLDER_BYTE)
        if not still:
            raise _HolderEnded
    return got
