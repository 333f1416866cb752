"""Who holds a lock file, as the kernel and the holder files tell it, and how a message names them.

Linux lists every flock in ``/proc/locks`` with the holder's pid, so dead
holders never show. Where it names nobody, the description says why it
cannot (another pid namespace, another host, a platform without
``/proc/locks``) instead of calling the holder a mystery.

Also what the kernel says of a process (its parent, its age, its command
line), read from ``/proc`` here and nowhere else in piplockhook; elsewhere
each answer is None (or ``""``), and callers say so.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from piplockhook.lock import holderfiles, primitive
from piplockhook.report import shorten

if sys.platform == "win32":
    from piplockhook.lock import _windows

# -- what the kernel says of a process


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _stat_fields(pid: int) -> list[bytes]:
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    return _read(f"/proc/{pid}/stat").rpartition(b")")[2].split()


def parent_of(pid: int) -> int | None:
    """The parent's pid, or None where /proc does not tell."""
    try:
        return int(_stat_fields(pid)[1])
    except (IndexError, ValueError):
        return None


def running_for(pid: int) -> float | None:
    """Seconds since `pid` started, or None where /proc does not tell."""
    if sys.platform == "win32":
        return None
    try:
        started = int(_stat_fields(pid)[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(_read("/proc/uptime").split()[0])
    except (IndexError, ValueError, OSError):
        return None
    return max(0.0, uptime - started)


def command_of(pid: int) -> str:
    """`pid`'s command line, shortened for a message ("" where /proc does not tell)."""
    args = _read(f"/proc/{pid}/cmdline").split(b"\0")
    return shorten(" ".join(os.fsdecode(a) for a in args if a))


def namespace_pids(pid: int) -> list[int]:
    """`pid`'s pids in this and every nested pid namespace (NSpid), [] where /proc does not tell."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith(b"NSpid:"):
            return [int(p) for p in line.split()[1:] if p.isdigit()]
    return []


def has_proc() -> bool:
    return os.path.isdir("/proc/self")


def is_ancestor(pid: int) -> bool:
    """Is `pid` this process or one of its ancestors? Without /proc (macOS,
    Windows) a live pid is the best we know."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would end that process; Wine shows the host's /proc
        return _windows.process_alive(pid)
    if has_proc():
        current: int | None = os.getpid()
        for _ in range(128):
            current = parent_of(current) if current else None
            if not current:
                return False
            if current == pid:
                return True
        return False
    return is_alive(pid)


def is_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows.process_alive(pid)  # os.kill(pid, 0) would terminate it there
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- who holds a lock

NOT_LISTED_HERE = "a process on another host that left no holder file, so probably not piplockhook (uv or flock(1)?)"
NOT_LISTED_ON_PLATFORM = "a process that left no holder file, so probably not piplockhook (uv or flock(1)?)"
OTHER_NAMESPACE = "a process in another pid namespace (a container?), whose pid the kernel does not show here"


class Holder:
    """One process holding the lock, as the kernel or its holder file tells."""

    __slots__ = ("command", "heir", "host", "mode", "other_namespace", "pid", "running_for")

    def __init__(
        self,
        pid: int,
        mode: str,
        command: str,
        running_for: float | None,
        host: str = "",
        other_namespace: bool = False,
        heir: int = 0,
    ) -> None:
        self.pid = pid  # 0: in another pid namespace, unnamed
        self.mode = mode  # "shared" or "exclusive"
        self.command = command
        self.running_for = running_for  # seconds since it started (the kernel) or took the lock (a holder file)
        self.host = host  # "": this host
        self.other_namespace = other_namespace  # `pid` is its pid in another pid namespace
        self.heir = heir  # `pid` is gone, this child kept its lock (a killed `piplockhook run`'s command); 0: none

    def describe(self) -> str:
        if self.pid <= 0:
            return f"{OTHER_NAMESPACE} ({self.mode})"
        where = (f" on {self.host}" if self.host else "") + (
            " in another pid namespace" if self.other_namespace else ""
        )
        age = "" if self.running_for is None else f", running {self.running_for:.0f}s"
        if self.heir:
            command = command_of(self.heir) or self.command
            return (
                f"pid {self.heir} ({self.mode}{age}): {command}, the command of {self.command} (pid {self.pid}, gone)"
            )
        return f"pid {self.pid}{where} ({self.mode}{age})" + (f": {self.command}" if self.command else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "pid": self.pid,
            "mode": self.mode,
            "command": self.command,
            "running_for": self.running_for,
            "host": self.host,
            "other_namespace": self.other_namespace,
            "heir": self.heir or None,
        }


def kernel_names_holders() -> bool:
    return sys.platform.startswith("linux")


def describe(holders: Sequence[Holder]) -> str:
    """The holders for a message: each described, or why none can be named."""
    if holders:
        return "; ".join(h.describe() for h in holders)
    return NOT_LISTED_HERE if kernel_names_holders() else NOT_LISTED_ON_PLATFORM


def _device_key(fd: int) -> str | None:
    if sys.platform == "win32":  # no /proc/locks to match it against
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"


def parse_proc_locks(text: str, device: str, me: int) -> list[tuple[int, str]]:
    """(pid, mode) of every flock granted on `device` ("MAJ:MIN:INODE"), not `me`."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters carry "->".
        if len(fields) < 6 or "->" in fields or fields[1] != "FLOCK" or fields[5] != device:
            continue
        try:
            pid = int(fields[4])
        except ValueError:
            continue
        if pid != me:
            pid = max(pid, 0)  # -1 or 0: the holder's pid is not in our namespace
            found[pid] = "exclusive" if fields[3] == "WRITE" else "shared"
    return sorted(found.items())


def holders_of(fd: int) -> list[Holder]:
    """The processes holding a flock on the file open as `fd` (Linux only)."""
    if not kernel_names_holders():
        return []
    device = _device_key(fd)
    if device is None:
        return []
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    return [
        Holder(pid, mode, command_of(pid) if pid else "", running_for(pid) if pid else None)
        for pid, mode in parse_proc_locks(text, device, os.getpid())
    ]


# -- who holds a lock, as the holder files tell (holderfiles.py writes them)


def _parse(data: bytes) -> dict[str, str] | None:
    lines = data.decode("utf-8", "replace").split("\n")
    if len(lines) < 3 or lines[0] != holderfiles.FORMAT or lines[-2:] != ["end", ""]:
        return None  # not one of ours, or not finished
    fields = dict(line.partition("=")[::2] for line in lines[1:-2])
    return fields if all(k in fields for k in holderfiles.FIELDS) and fields["pid"].isdigit() else None


def _read_live(path: str, now: float) -> dict[str, str] | None:
    """The holder file's fields if its holder still holds it; a dead holder's holder file is removed."""
    try:
        fd = os.open(path, os.O_RDONLY | holderfiles.CLOEXEC)  # a shared try needs no write permission, even on NFSv4
    except OSError:
        return None  # gone meanwhile, or not ours to read
    remove = False
    try:
        data = os.read(fd, 4096)
        fields = _parse(data)
        if primitive.try_lock(fd, False, holderfiles.HOLDER_BYTE):  # its holder's exclusive lock is gone: so is it
            primitive.unlock(fd, holderfiles.HOLDER_BYTE)
            remove = fields is not None or now - os.fstat(fd).st_mtime > holderfiles.UNFINISHED_SECONDS
            return None
        return fields
    except OSError:
        return None
    finally:
        os.close(fd)
        if remove:
            holderfiles.unlink(path)


def _mine(fields: dict[str, str]) -> bool:
    # POSIX locks (NFS's flock) never conflict within one process: our own holder file would look dead.
    return (
        fields["host"] == holderfiles.host_name()
        and fields["pid"] == str(os.getpid())
        and fields["pidns"] == holderfiles.pid_namespace()
    )


def _live_files(lock_path: str) -> list[dict[str, str]]:
    """The fields of every live holder file beside `lock_path`; stale ones are removed on the way."""
    directory, name = os.path.split(lock_path)
    try:
        entries = [e for e in os.listdir(directory or ".") if e.startswith(name + holderfiles.INFIX)]
    except OSError:
        return []
    now = time.time()
    found = []
    for entry in sorted(entries):
        fields = _read_live(os.path.join(directory, entry), now)
        if fields is not None:
            found.append(fields)
    return found


def _here(fields: dict[str, str]) -> bool:
    """Is the holder file's process one whose pid means something here (this host, this pid namespace)?"""
    return fields["host"] == holderfiles.host_name() and fields["pidns"] == holderfiles.pid_namespace()


def _heir(fields: dict[str, str]) -> int:
    heir = fields.get("heir", "")
    return int(heir) if heir.isdigit() else 0


def heir_of(lock_path: str, pid: int) -> int:
    """The heir of `pid`'s live hold on `lock_path` (its holder file, still locked through the
    descriptor the heir inherited, names one), else 0."""
    for fields in _live_files(lock_path):
        if fields["pid"] == str(pid) and _here(fields):
            return _heir(fields)
    return 0


def holders_from_files(lock_path: str) -> list[Holder]:
    """The live holders that left a holder file beside `lock_path`, other than this process;
    stale holder files are removed on the way."""
    here, namespace, now = holderfiles.host_name(), holderfiles.pid_namespace(), time.time()
    found = []
    for fields in _live_files(lock_path):
        if _mine(fields):
            continue
        try:
            since = max(0.0, now - float(fields["since"]))
        except ValueError:
            since = None
        other_namespace = bool(fields["pidns"] and namespace and fields["pidns"] != namespace)
        host = "" if fields["host"] == here else fields["host"]
        pid = int(fields["pid"])
        # Its holder gone, its lock kept by the heir (run's command): name the heir too.
        heir = _heir(fields) if _here(fields) and not is_alive(pid) else 0
        found.append(Holder(pid, fields["mode"], fields["command"], since, host, other_namespace, heir))
    return found


def holders_at(lock_path: str, fd: int) -> list[Holder]:
    """Everyone holding the lock file `lock_path` (open as `fd`), each once: the holders
    that left a holder file, and the ones only the kernel names (uv, flock(1))."""
    return merge(holders_from_files(lock_path), holders_of(fd))


def merge(from_files: list[Holder], kernel: list[Holder]) -> list[Holder]:
    """Holders from their files and from the kernel, a process named by both once."""
    from_files = list(from_files)
    named = []
    for holder in kernel:
        same = [r for r in from_files if not r.host and _same_process(r, holder.pid)]
        if same:  # the kernel's pid is the one a user here can use; the holder file knows the rest
            from_files.remove(same[0])
            holder = Holder(
                holder.pid, same[0].mode, same[0].command or holder.command, same[0].running_for, heir=same[0].heir
            )
        elif holder.pid <= 0 and any(not r.host and r.other_namespace for r in from_files):
            continue  # the holder file of that process in another namespace says more
        named.append(holder)
    return from_files + named


def _same_process(named: Holder, pid: int) -> bool:
    if not named.other_namespace:
        return named.pid == pid
    return named.pid in namespace_pids(pid)[1:]  # its pid in the namespaces below ours


def sweep(lock_path: str) -> None:
    """Remove the holder files of holders that are gone (reading them does)."""
    holders_from_files(lock_path)
