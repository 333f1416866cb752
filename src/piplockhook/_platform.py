"""The one lock interface the rest of piplockhook uses, per operating system:
``open_lock_file(path, create) -> fd``, ``try_lock(fd, exclusive) -> bool``,
``lock(fd, exclusive)`` (blocking) and ``unlock(fd)``."""

import sys

if sys.platform == "win32":
    from piplockhook._windows import lock, open_lock_file, try_lock, unlock
else:
    from piplockhook._posix import lock, open_lock_file, try_lock, unlock

__all__ = ["lock", "open_lock_file", "try_lock", "unlock"]
