"""``piplockhook check``: does locking work on the filesystem of the lock?

Two processes contend for one scratch file beside the lock: while one holds it
exclusively the other must get neither mode; while one holds it shared the other
must get shared but not exclusive. The mount is then looked up: where it keeps
locks on this host (NFS with local_lock or nolock) the check fails, as two
processes here cannot show that; where locks may not be seen from other hosts,
it warns.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from typing import NamedTuple

from piplockhook.cli.base_command import EXIT_FAILED, EXIT_OK, Command
from piplockhook.locations import location_for_options, why_unlockable
from piplockhook.lock import primitive
from piplockhook.settings import Settings

EPILOG = """\
example:
  piplockhook check
  PIPLOCKHOOK_LOCKFILE=/nfs/venv/.lock piplockhook check

Exit status 0 when locking works here (warnings may still be printed), 1 when
it does not."""

# The other process: takes what it is told on stdin, answers on stdout.
_PEER = r"""
import sys
from piplockhook.lock import primitive
fd = primitive.open_lock_file(sys.argv[1], True)
for line in sys.stdin:
    word = line.strip()
    if word in ("shared", "exclusive"):
        primitive.lock(fd, word == "exclusive")
    elif word == "release":
        primitive.unlock(fd)
    elif word.startswith("try-"):
        got = primitive.try_lock(fd, word == "try-exclusive")
        if got:
            primitive.unlock(fd)
        word = "yes" if got else "no"
    print(word, flush=True)
"""


class Mount(NamedTuple):
    point: str
    fstype: str
    options: str


def mount_of(path: str) -> Mount | None:
    """The /proc/mounts entry holding `path` (Linux), longest mount point wins."""
    try:
        with open("/proc/mounts") as f:
            entries = [line.split() for line in f]
    except OSError:
        return None
    path = os.path.realpath(path)
    best = None
    for fields in entries:
        if len(fields) < 4:
            continue
        point = fields[1].replace("\\040", " ")
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) > len(best.point):
                best = Mount(point, fields[2], fields[3])
    return best


def local_only(mount: Mount | None) -> str | None:
    """Why flock locks on `mount` never leave this host, or None: NFS mounted
    with local_lock=all or local_lock=flock, or nolock (measured in .ci/nfs)."""
    if mount is None or not mount.fstype.startswith("nfs"):
        return None
    options = mount.options.split(",")
    for option in ("local_lock=all", "local_lock=flock", "nolock"):
        if option in options:
            return (
                f"{mount.point} is NFS mounted with {option}: flock locks stay on this host,"
                " so pips on other hosts are not excluded (mount it without that option)"
            )
    return None


def warnings_for(mount: Mount | None) -> list[str]:
    """What to warn about on `mount`; nothing where `local_only` fails the check."""
    if mount is None or local_only(mount):
        return []
    options = mount.options.split(",")
    where = f"{mount.point} ({mount.fstype}, {mount.options})"
    if mount.fstype.startswith("nfs"):
        return [
            f"{where}: NFS; flock goes through the server's byte-range locks, so other hosts see it only if they use the same server locking"
        ]
    if mount.fstype == "lustre" and "flock" not in options:
        return [
            f"{where}: Lustre without the flock mount option: locks are local to this host (localflock) or unsupported"
        ]
    if mount.fstype in ("cifs", "smb3", "smbfs"):
        return [f"{where}: SMB: flock is emulated by the client and may not be seen by other clients"]
    if mount.fstype in ("fuse.sshfs", "9p", "virtiofs"):
        return [f"{where}: {mount.fstype}: locks may be local to this host"]
    return []


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


def contend(directory: str, timeout: float = 20.0) -> tuple[bool, str]:
    """Run the two-process test in `directory`; (works, what failed)."""
    scratch = os.path.join(directory, f".piplockhook-check-{os.getpid()}")
    fd = None
    peer = None
    try:
        fd = primitive.open_lock_file(scratch, True)
        peer = subprocess.Popen(
            [sys.executable, "-c", _PEER, scratch], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

        to_peer, from_peer = peer.stdin, peer.stdout
        assert to_peer is not None and from_peer is not None  # both are pipes

        def ask(word: str) -> str:
            to_peer.write(word + "\n")
            to_peer.flush()
            # A thread, not select(): Windows' select takes sockets only.
            answer: list[str] = []
            reader = threading.Thread(target=lambda: answer.append(from_peer.readline()), daemon=True)
            reader.start()
            reader.join(timeout)
            if not answer:
                raise TimeoutError(f"the other process did not answer {word!r} within {timeout:g}s")
            return answer[0].strip()

        expectations = []
        ask("exclusive")
        expectations.append(("shared while another holds it exclusively", not primitive.try_lock(fd, False)))
        expectations.append(("exclusive while another holds it exclusively", not primitive.try_lock(fd, True)))
        ask("release")
        ask("shared")
        got_shared = primitive.try_lock(fd, False)
        expectations.append(("shared beside another shared holder", got_shared))
        if got_shared:
            primitive.unlock(fd)
        expectations.append(("exclusive while another holds it shared", not primitive.try_lock(fd, True)))
        ask("release")
        primitive.lock(fd, False)
        expectations.append(("the other's exclusive while we hold it shared", ask("try-exclusive") == "no"))
        primitive.unlock(fd)
        failed = [name for name, ok in expectations if not ok]
        if failed:
            return False, "; ".join(f"wrong: {f}" for f in failed)
        why = local_only(mount_of(directory))
        if why:
            return False, f"two processes here excluded each other, but {why}"
        return True, ""
    except TimeoutError as exc:
        return False, str(exc)
    except OSError as exc:
        return False, f"cannot lock a file in {directory}: {exc.strerror or exc}"
    finally:
        if peer is not None:
            try:
                if peer.stdin is not None:
                    peer.stdin.close()
                peer.wait(timeout=timeout)
            except Exception:
                peer.kill()
        if fd is not None:
            os.close(fd)
        try:
            os.remove(scratch)
        except OSError:
            pass


def main(args: argparse.Namespace, settings: Settings) -> int:
    where = location_for_options(None, settings.lockfile)
    unlockable = why_unlockable(where.path)
    if unlockable:  # the same words as status: pip would run unlocked
        print(f"locking does NOT work: {unlockable}; pip runs unlocked here")
        return EXIT_FAILED
    directory = os.path.dirname(where.path)
    works = _check_directory(directory, "")
    if os.path.exists(where.path) and not os.access(where.path, os.W_OK):
        fails, why = read_only_problem(where.path, mount_of(directory))
        print(f"{'locking does NOT work' if fails else 'warning'}: {why}")
        works = works and not fails
    for uv_directory in sorted({os.path.dirname(p) for p in where.uv_paths} - {directory}):
        works = _check_directory(uv_directory, " (uv's lock for this Python)") and works
    return EXIT_OK if works else EXIT_FAILED


def _check_directory(directory: str, what: str) -> bool:
    works, problem = contend(directory)
    mount = mount_of(directory)
    on = f" ({mount.fstype} at {mount.point})" if mount else ""
    if works:
        print(
            f"locking works in {directory}{on}{what}: two processes excluded each other in shared and exclusive modes"
        )
    else:
        print(f"locking does NOT work in {directory}{on}{what}: {problem}")
    for warning in warnings_for(mount):
        print(f"WARNING: {warning}")
    return works


COMMAND = Command("check", "prove that locking works on the lock's filesystem", main, epilog=EPILOG)
