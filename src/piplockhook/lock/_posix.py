"""flock(2): what uv takes on <venv>/.lock, released by the kernel when a holder dies.

On Linux the lock is also an OFD lock (``fcntl(F_OFD_SETLK)``) on the whole
file, taken after the flock and let go before it. A file server's nfsd holds
its clients' locks as POSIX locks, which a flock on the server never meets
(uv#18073): an OFD lock does, so a pip on the server and a pip on a client
exclude each other (measured in .ci/nfs). GPFS keeps flock on one node but
fcntl locks across the cluster. uv takes the flock only: it still excludes
our pips on its own host, through the flock.
"""

from __future__ import annotations

import sys

assert sys.platform != "win32"  # the Windows primitive is _windows.py

import errno  # noqa: E402
import fcntl  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import threading  # noqa: E402

# How often a thread that waits for a lock looks for a signal that reached it
# just before it went to sleep (see lock()).
_SIGNAL_STEP_SECONDS = 0.2

# O_CLOEXEC: the lock must never leak into pip's children (they would keep it
# alive after pip dies, or unlock it for us).
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def open_lock_file(path: str, create: bool, public: bool = False) -> int:
    """A descriptor for `path`; read-only if that is all we may do (flock works on it).

    `public`: a file in a world-writable directory that other users lock too
    (uv's lock in /tmp): never through a symlink, and created as uv creates
    it, mode 0666 whatever the umask.
    """
    if public:
        return _open_public(path, create)
    flags = os.O_RDWR | _CLOEXEC | (os.O_CREAT if create else 0)
    try:
        return os.open(path, flags, 0o666)  # umask decides; 0644 lets others lock too
    except PermissionError as denied:
        try:
            return os.open(path, os.O_RDONLY | _CLOEXEC)
        except FileNotFoundError:
            raise denied from None  # missing, and not ours to create


def _open_public(path: str, create: bool) -> int:
    flags = _CLOEXEC | os.O_NOFOLLOW
    for _ in range(3):  # created or removed by another process meanwhile: look again
        try:
            # Without O_CREAT: with it, Linux's protected_regular refuses
            # another user's file in a sticky directory.
            return os.open(path, os.O_RDWR | flags)
        except PermissionError:
            return os.open(path, os.O_RDONLY | flags)
        except FileNotFoundError:
            if not create:
                raise
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | flags, 0o666)
        except FileExistsError:
            continue
        os.fchmod(fd, 0o666)
        return fd
    raise FileNotFoundError(path)


def read_only(fd: int) -> bool:
    """Whether `fd` was opened read-only (NFSv4 refuses it an exclusive flock)."""
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY


# "Someone holds it": flock(2) answers EWOULDBLOCK (EAGAIN); a filesystem
# that emulates flock with POSIX locks may answer EACCES (fcntl(2) allows both).
_BUSY = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)


# Linux 3.15+; elsewhere (macOS) the lock is the flock alone.
_OFD_SET = getattr(fcntl, "F_OFD_SETLK", None)
_OFD_WAIT = getattr(fcntl, "F_OFD_SETLKW", None)


def _ofd(fd: int, kind: int, wait: bool = False) -> bool:
    """The OFD lock of `kind` (F_RDLCK, F_WRLCK, F_UNLCK) on the whole file:
    False where another holds it. Where it cannot be had at all (a descriptor
    opened read-only asking for a write lock, an older kernel, a filesystem
    without it) the flock alone is the lock, as before."""
    if _OFD_SET is None or _OFD_WAIT is None:
        return True
    try:  # struct flock {l_type, l_whence, l_start, l_len, l_pid}: l_pid must be 0
        fcntl.fcntl(fd, _OFD_WAIT if wait else _OFD_SET, struct.pack("hhqqi", kind, 0, 0, 0, 0))
    except OSError as exc:
        return exc.errno not in _BUSY
    return True


def try_lock(fd: int, exclusive: bool, at: int = 0) -> bool:
    """`at`: the byte Windows locks; flock always locks the whole file."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    if not _ofd(fd, fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK):
        fcntl.flock(fd, fcntl.LOCK_UN)  # a client of this file server holds it
        return False
    return True


def lock(fd: int, exclusive: bool) -> None:
    """Block until locked; Ctrl-C interrupts the wait (KeyboardInterrupt).

    Python runs a signal handler between bytecodes of the main thread: a
    signal that lands just before a blocking flock() there is acted on only
    once the lock comes, so a Ctrl-C would wait for the holder. Hence a helper
    thread, with signals blocked, sleeps in flock() on a duplicate of `fd`
    (the lock belongs to the open file both share), while the main thread
    waits for it in steps, where every signal reaches it.
    """
    operation = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    kind = fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK
    if threading.current_thread() is not threading.main_thread():
        fcntl.flock(fd, operation)  # no signal handler runs here anyway
        _ofd(fd, kind, wait=True)
        return
    helper_fd = os.dup(fd)  # `fd` may be closed and reused before the helper runs
    done = threading.Event()
    abandoned = threading.Event()
    failure: list[OSError] = []

    def take() -> None:
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
            fcntl.flock(helper_fd, operation)
            _ofd(helper_fd, kind, wait=True)
            if abandoned.is_set():  # the waiter gave up (Ctrl-C): do not hold it for nobody
                unlock(helper_fd)
        except OSError as exc:
            failure.append(exc)
        finally:
            os.close(helper_fd)
            done.set()

    try:
        try:
            threading.Thread(target=take, name="piplockhook-flock", daemon=True).start()
        except RuntimeError:  # no thread to be had: wait here, as a plain flock does
            os.close(helper_fd)
            fcntl.flock(fd, operation)
            _ofd(fd, kind, wait=True)
            return
        while not done.wait(_SIGNAL_STEP_SECONDS):
            pass
    except BaseException:
        abandoned.set()
        raise
    if failure:
        raise failure[0]


def unlock(fd: int, at: int = 0) -> None:
    _ofd(fd, fcntl.F_UNLCK)
    fcntl.flock(fd, fcntl.LOCK_UN)
