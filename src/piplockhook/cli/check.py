"""``piplockhook check``: does locking work on the filesystem of the lock?

Two processes contend for one scratch file beside the lock: while one holds it
exclusively the other must get neither mode; while one holds it shared the other
must get shared but not exclusive. The mount is then looked up in
filesystems.ROWS: where pips on other hosts would not see the lock (NFS with
local_lock or nolock, Lustre without flock, SMB with nobrl, 9p, virtiofs,
sshfs) the check fails, as two processes here cannot show that; where we
cannot tell (another FUSE filesystem, one we do not know), it warns. Where
this user may make no file beside the lock (a root-owned
environment that others only read), the two contend on the lock file itself,
opened as this user's pip opens it, with requests that never wait; the user is
then told the truth: reading is locked, writing is the owner's.

Between two hosts, ``--hold`` on one and ``--probe`` on the other take a real
lock across them (twohosts.py): what no mount table can prove.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import threading
from typing import Callable

from piplockhook.cli import twohosts
from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command, usage_error
from piplockhook.cli.status import read_only_environment, read_only_note, unlocked_effect
from piplockhook.filesystems import ELSEWHERE, Mount, Verdict, mount_of, verdict_at
from piplockhook.locations import location_for_options, why_unlockable
from piplockhook.lock import primitive
from piplockhook.settings import Settings

EPILOG = """\
examples:
  piplockhook check
  PIPLOCKHOOK_LOCKFILE=/nfs/venv/.lock piplockhook check
  piplockhook check --hold --lockfile /nfs/venv/.lock     # on one host: holds until Ctrl-C
  piplockhook check --probe --lockfile /nfs/venv/.lock    # meanwhile, on another host

Exit status 0 when locking works here (warnings may still be printed), 1 when
it does not: each such line says what a pip here does then and, on a "hint:"
line, the fix. On Linux it also reads the mount (/proc/mounts, statfs) and
fails where pips on other hosts would not see the lock: NFS with local_lock or
nolock, Lustre without flock, SMB with nobrl, 9p, virtiofs, sshfs (the line
says the fix in brackets). A user who may only read the environment is tested on the lock
file itself, read-only as its pip opens it (its pips that read are locked;
writing is the owner's).

Between two hosts, --hold and --probe prove what one host cannot. --hold takes
the lock's own primitive exclusively on <lock>.probe beside the lock (never the
lock: pips go on), writes its host and pid in it and prints one line once it
holds it; it ends on Ctrl-C, SIGTERM or after --seconds, removes the file and
exits 0 (1 if another holds it already). --probe, on another host, asks for
that file shared and exclusive, never waiting: exit 0 when it was refused
(these hosts exclude each other), 1 when it was granted (they do NOT: a
"hint:" line says the fix), 2 when nothing can be proven (no --hold holds it,
or it holds it on this same host)."""

# The other process: takes what it is told on stdin, answers on stdout.
_PEER = r"""
import sys
from piplockhook.lock import primitive
fd = primitive.open_lock_file(sys.argv[1], True)
for line in sys.stdin:
    word = line.strip()
    try:
        if word in ("shared", "exclusive"):
            primitive.lock(fd, word == "exclusive")
        elif word == "release":
            primitive.unlock(fd)
        elif word == "hold-shared":
            word = "yes" if primitive.try_lock(fd, False) else "no"
        elif word.startswith("try-"):
            got = primitive.try_lock(fd, word == "try-exclusive")
            if got:
                primitive.unlock(fd)
            word = "yes" if got else "no"
    except OSError as exc:  # flock refused (Lustre noflock: ENOSYS): ours fails the same way and says it
        word = f"error {exc.errno}"
    print(word, flush=True)
"""


def read_only_problem(path: str, mount: Mount | None) -> tuple[bool, str]:
    """(fails, why) for a lock file this user may only read: pip then locks a
    read-only descriptor, and NFSv4 refuses that the exclusive lock (EBADF)."""
    where = f"{path} is read-only for this user, so pip opens it read-only"
    nfs4 = mount is not None and (mount.fstype == "nfs4" or (mount.fstype == "nfs" and "vers=4" in mount.options))
    if nfs4:
        return (
            True,
            f"{where}, and NFSv4 refuses an exclusive lock on such a descriptor (EBADF): pip's installs run unlocked; make it writable for this user",
        )
    return False, f"{where}: fine here, but an NFSv4 mount would refuse it the exclusive lock (EBADF)"


class _Peer:
    """The other process: locks `path` as told on its stdin (see _PEER)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _PEER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, word: str) -> str:
        to_peer, from_peer = self.proc.stdin, self.proc.stdout
        assert to_peer is not None and from_peer is not None  # both are pipes
        to_peer.write(word + "\n")
        to_peer.flush()
        # A thread, not select(): Windows' select takes sockets only.
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(from_peer.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout)
        if not answer:
            raise TimeoutError(f"the other process did not answer {word!r} within {self.timeout:g}s")
        return answer[0].strip()

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=self.timeout)
        except Exception:
            self.proc.kill()
            self.proc.wait()


Steps = Callable[[int, _Peer], list[tuple[str, bool]]]


def _both_ways(fd: int, peer: _Peer) -> list[tuple[str, bool]]:
    """Each mode against each, waiting where a pip would: (what, as it should be)."""
    expectations = []
    peer.ask("exclusive")
    expectations.append(("shared while another holds it exclusively", not primitive.try_lock(fd, False)))
    expectations.append(("exclusive while another holds it exclusively", not primitive.try_lock(fd, True)))
    peer.ask("release")
    peer.ask("shared")
    got_shared = primitive.try_lock(fd, False)
    expectations.append(("shared beside another shared holder", got_shared))
    if got_shared:
        primitive.unlock(fd)
    expectations.append(("exclusive while another holds it shared", not primitive.try_lock(fd, True)))
    peer.ask("release")
    primitive.lock(fd, False)
    expectations.append(("the other's exclusive while we hold it shared", peer.ask("try-exclusive") == "no"))
    primitive.unlock(fd)
    return expectations


def _without_waiting(fd: int, peer: _Peer) -> list[tuple[str, bool]]:
    """On a lock file pips use: no request waits, so no pip is held up by more than a moment."""
    if peer.ask("hold-shared") == "no":  # a holder has it exclusively now: it must refuse us too
        return [("shared while another holds it exclusively", not primitive.try_lock(fd, False))]
    got_shared = primitive.try_lock(fd, False)
    if got_shared:
        primitive.unlock(fd)
    refused = not primitive.try_lock(fd, True)
    if not refused:
        primitive.unlock(fd)
    peer.ask("release")
    return [("shared beside another shared holder", got_shared), ("exclusive while another holds it shared", refused)]


def _contend(path: str, create: bool, steps: Steps, what: str, timeout: float) -> tuple[bool, str]:
    """Two processes take `path` through `steps`; (works, what failed)."""
    fd = None
    peer = None
    try:
        fd = primitive.open_lock_file(path, create)
        peer = _Peer(path, timeout)
        failed = [name for name, ok in steps(fd, peer) if not ok]
        return not failed, "; ".join(f"wrong: {f}" for f in failed)
    except TimeoutError as exc:
        return False, str(exc)
    except OSError as exc:
        return False, f"cannot lock {what}: {exc.strerror or exc}"
    finally:
        if peer is not None:
            peer.close()
        if fd is not None:
            os.close(fd)


def contend(directory: str, timeout: float = 20.0) -> tuple[bool, str]:
    """Run the two-process test on a scratch file in `directory`; (works, what failed)."""
    scratch = os.path.join(directory, f".piplockhook-check-{os.getpid()}")
    try:
        works, failed = _contend(scratch, True, _both_ways, f"a file in {directory}", timeout)
    finally:
        try:
            os.remove(scratch)
        except OSError:
            pass
    return works, failed


def contend_on(path: str, timeout: float = 20.0) -> tuple[bool, str]:
    """The two-process test on the lock file itself, where this user may make
    no scratch file beside it: each process opens it as this user's pip does
    (read-only, where that is all it may); (works, what failed)."""
    return _contend(path, False, _without_waiting, path, timeout)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    between = parser.add_mutually_exclusive_group()
    between.add_argument(
        "--hold", action="store_true", help="hold the lock's probe file here, for --probe on another host"
    )
    between.add_argument(
        "--probe", action="store_true", help="do pips here and on the host that runs --hold exclude each other?"
    )
    parser.add_argument(
        "--seconds", metavar="N", type=_seconds, help="with --hold: let go after N seconds (default: at Ctrl-C)"
    )
    parser.add_argument("--lockfile", metavar="PATH", help="check PATH instead of the environment's pip lock")


def _seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds above 0")
    return seconds


def main(args: argparse.Namespace, settings: Settings) -> int:
    where = location_for_options(None, settings.lockfile)
    if args.seconds is not None and not args.hold:
        return usage_error(twohosts.PROG, "--seconds is for --hold")
    if args.hold:
        return twohosts.hold(where.path, args.seconds)
    if args.probe:
        return twohosts.probe(where.path)
    unlockable = why_unlockable(where.path)
    if unlockable:  # the same words as status: what a pip here does then, and the fix
        does, _, hint = unlocked_effect(where.path)
        print(f"locking does NOT work: {unlockable}; {does}")
        print(f"  hint: {hint}")
        return EXIT_FAILED
    directory = os.path.dirname(where.path)
    if os.access(directory, os.W_OK):
        works = _check_directory(directory, "")
    else:
        works = _check_lock_file(where.path)
    read_only = read_only_environment(where.environment, settings.lockfile)
    if read_only:
        print(read_only_note(read_only))  # reading is locked, writing is the owner's
    elif os.path.exists(where.path) and not os.access(where.path, os.W_OK):
        fails, why = read_only_problem(where.path, mount_of(directory))
        print(f"locking does NOT work: {why}" if fails else f"WARNING: {why}")
        works = works and not fails
    for uv_directory in sorted({os.path.dirname(p) for p in where.uv_paths} - {directory}):
        works = _check_directory(uv_directory, " (uv's lock for this Python)") and works
    return EXIT_OK if works else EXIT_FAILED


def _check_directory(directory: str, what: str) -> bool:
    works, problem = contend(directory)
    proof = "two processes excluded each other in shared and exclusive modes"
    return _say(works, problem, f"in {directory}", directory, what, proof)


def _check_lock_file(path: str) -> bool:
    works, problem = contend_on(path)
    opened = "read-only " if not os.access(path, os.W_OK) else ""
    proof = (
        f"two processes, each with it open {opened}as this user's pip opens it, excluded each other "
        "(this user may make no scratch file beside it, so no request waited)"
    )
    return _say(works, problem, f"on {path}", path, "", proof)


def across_hosts(works: bool, problem: str, verdict: Verdict | None) -> tuple[bool, str]:
    """(works, problem) once the mount is read: where pips on other hosts would
    not be excluded (filesystems.ROWS), two processes here prove nothing."""
    if verdict is None or not verdict.fails:
        return works, problem
    if works:
        return False, f"two processes here excluded each other, but {verdict.failure()}"
    return False, f"{problem}; {verdict.failure()}"


def _say(works: bool, problem: str, where: str, path: str, what: str, proof: str) -> bool:
    """The lines of one test at `path`: works or NOT (with its hint), then its mount's warning."""
    verdict = verdict_at(path)
    works, problem = across_hosts(works, problem, verdict)
    for line in lines(works, problem, where, what, proof, verdict):
        print(line)
    return works


def lines(works: bool, problem: str, where: str, what: str, proof: str, verdict: Verdict | None) -> list[str]:
    """What check says of one test `where` (after `across_hosts`); `what`: whose lock, if not pip's."""
    if verdict is not None:
        where += f" ({verdict.mount.fstype or verdict.row.kind} at {verdict.mount.point})"
    where += what
    said = [f"locking works {where}: {proof}" if works else f"locking does NOT work {where}: {problem}"]
    if not works and not (verdict is not None and verdict.fails):  # that line says its fix
        said.append(f"  hint: {ELSEWHERE}")
    warning = verdict.warning() if verdict is not None and not verdict.fails else ""
    if warning:
        said.append(f"WARNING: {warning}")
        if verdict is not None and verdict.hint():
            said.append(f"  hint: {verdict.hint()}")
    return said


COMMAND = Command(
    "check", "prove that locking works on the lock's filesystem", main, epilog=EPILOG, add_arguments=add_arguments
)
