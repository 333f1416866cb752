"""The writer's journal: what a pip that changes an environment is about to
move and write, so that the next pip can put it back if this one dies.

It lives beside the lock file (``<lock>.journal``, the name is
``lock.environment.JOURNAL_SUFFIX``), on the same filesystem, so a pip on
another host that shares the environment finds it too. Only the holder of the
exclusive lock writes one, so there is one at a time; and a pip that holds
the lock (in any mode) and still finds one knows that its writer is gone: a
living writer would hold the exclusive lock until its journal is removed.

The format: a first line ``piplockhook-journal 1``, then one JSON object per
line: the writer (pid, host, command, since), then each entry (``op``):

- ``remove`` (name, version): pip starts uninstalling this distribution;
- ``move`` (src, dst, base, dir, same_fs): pip's stash is about to move
  ``src`` to ``dst`` (``base``: the stash directory that holds ``dst``);
- ``write`` (name, version, roots): a wheel is about to be written; ``roots``
  are the topmost paths of its files that do not exist yet;
- ``done``: that wheel is written, RECORD included;
- ``commit``: pip starts deleting the stash (the change is final);
- ``rollback``: pip starts moving the stash back itself;
- ``unsure`` (why): pip could not finish a move (both copies may be partial);
- ``lost`` (name, version, paths): a notice left by a restore that could
  not put everything back (restore.py);
- ``blind`` (why): this writer's changes cannot be followed (a pip whose
  internals we do not know, a ``piplockhook run -x`` command): only that it
  died while writing is known.

A notice (``lost``, ``blind``) may carry ``of``: the writer line of the dead
writer it tells about, where that is not the journal's own writer.

After a restore that could not put everything back, the journal is a notice:
only ``lost`` and ``blind`` entries, which every pip says again (restore.py)
until the missing paths are back (``lost``) or ``piplockhook verify`` finds
the environment whole and clears it (``clear_notice``). A writer that starts
while a notice is there carries it over (``Journal.start``), and leaves it
again when its own command ends.

Durability: each entry is written and ``fsync``-ed before the change it
describes starts, and the directory is ``fsync``-ed once when the journal is
created (and when it is removed): after a crash or a power loss the journal
says at least everything that happened. A torn last line (no newline) was
never durable, so its change never started: it is ignored.

Knows nothing of pip or of the lock: pip/journaling.py says what to record,
lock/environment.py when to restore. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

FORMAT = "piplockhook-journal 1"
# Test-only (tests/slow/test_journal_sweep.py): SIGKILL this process at step N of its
# journal: step 2k-1 is just before entry k is written, 2k just after it is durable,
# and the step after the last entry, just before the journal is removed.
KILL_AT = "PIPLOCKHOOK_TEST_JOURNAL_KILL"
# Never inherited by pip's children; binary on Windows, whose os.open is text by
# default and would write "\r\n" for every "\n" (a journal no reader takes).
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOINHERIT", 0) | getattr(os, "O_BINARY", 0)

Entry = dict[str, Any]
NOTICES = ("lost", "blind")  # the entries a notice is made of: nothing in them is replayed


def sync_directory(path: str) -> None:
    """fsync the directory `path` (its entries: a file created or removed there).
    Not on Windows, whose directories cannot be opened."""
    if sys.platform == "win32":
        return
    fd = os.open(path or ".", os.O_RDONLY | _OPEN_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The journal this process writes (one per command that changes files)."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self.entries: list[Entry] = []
        self.carried: list[Entry] = []  # a notice that was here when this writer started (see start)
        self._step = 0
        kill = os.environ.get(KILL_AT, "")
        self._kill_at = int(kill) if kill.isdigit() else 0

    @classmethod
    def start(cls, path: str, writer: Entry) -> Journal:
        """Create the journal at `path` with the `writer`'s line; OSError where it cannot be.
        A notice already there (a restore that could not put everything back) is carried
        into it, and left again when the command ends: FileExistsError for any other journal."""
        journal = cls(path, -1)
        journal._tick()  # step 1: before the journal exists
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | _OPEN_FLAGS, 0o644)
        except FileExistsError:
            journal.carried = notice_at(path)  # FileExistsError where it is not a notice
            journal._fd = _replace(path, [writer, *journal.carried])
            return journal
        journal._fd = fd
        try:
            os.write(fd, (FORMAT + "\n" + _line(writer)).encode("utf-8", "surrogateescape"))
            os.fsync(fd)
            # The new name itself must survive a power loss, or the entries are in a file nobody finds.
            sync_directory(os.path.dirname(path))
        except BaseException:
            journal.discard()
            raise
        return journal

    def append(self, *entries: Entry) -> None:
        """Write `entries` and make them durable (one fsync), before their change starts."""
        if self._fd is None:
            return
        self._tick()
        os.write(self._fd, "".join(_line(e) for e in entries).encode("utf-8", "surrogateescape"))
        os.fsync(self._fd)
        self.entries.extend(entries)
        self._tick()

    def close(self) -> None:
        """The command is over and the environment whole: the journal goes (or is
        the notice it carried again)."""
        self._tick()
        self.discard()

    def release(self) -> None:
        """Close the journal, and leave it (restore.py takes it from here)."""
        fd, self._fd = self._fd, None
        if fd is not None and fd >= 0:
            os.close(fd)

    def discard(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if fd >= 0:
            os.close(fd)
        if self.carried:
            try:
                os.close(write_notice(self.path, self.carried))
                return
            except OSError:  # then nothing of this writer's entries may stay: they are not all there
                pass
        try:
            os.unlink(self.path)
            sync_directory(os.path.dirname(self.path))  # never found again after a power loss, and replayed
        except OSError:
            pass

    def _tick(self) -> None:
        self._step += 1
        if self._step == self._kill_at:
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # test-only: see KILL_AT


def _line(entry: Entry) -> str:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"


class Unreadable(Exception):
    """A journal that cannot be read: nothing in it is replayed."""


def read(path: str) -> tuple[Entry, list[Entry]] | None:
    """(writer, entries) of the journal at `path`; None where there is none.
    Unreadable where it is not one we can follow (another format, a line in
    the middle that does not parse)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc)) from None
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    lines.pop()  # "" after the last newline, or a torn line that was never durable
    if not lines:
        raise Unreadable("empty")
    if lines[0] != FORMAT:
        raise Unreadable(f"not a journal this piplockhook can read ({lines[0][:40]!r})")
    try:
        parsed = [json.loads(line) for line in lines[1:]]
    except ValueError as exc:
        raise Unreadable(f"a damaged line ({exc})") from None
    if not parsed or not all(isinstance(e, dict) for e in parsed):
        raise Unreadable("no writer line")
    return parsed[0], parsed[1:]


def notice_at(path: str) -> list[Entry]:
    """The notices of the journal at `path`, each with its writer (``of``);
    FileExistsError where it is a writer's journal (or cannot be read), not a notice."""
    try:
        found = read(path)
    except Unreadable as exc:
        raise FileExistsError(f"{path}: a journal that cannot be read ({exc})") from None
    if found is None:
        return []
    writer, entries = found
    if not entries or any(e.get("op") not in NOTICES for e in entries):
        raise FileExistsError(f"{path}: the journal of a writer, not a notice")
    return of_writer(entries, writer)


def of_writer(notices: list[Entry], writer: Entry) -> list[Entry]:
    """`notices`, each naming the dead writer it tells about (``of``): `writer` where none is named."""
    return [n if "of" in n else {**n, "of": writer} for n in notices]


def write_notice(path: str, notices: list[Entry]) -> int:
    """Make the journal at `path` the notice of `notices` (each with its ``of``),
    whole or not at all; its descriptor, open for appending."""
    return _replace(path, [notices[0]["of"], *notices])


def clear_notice(path: str) -> list[Entry]:
    """Remove the journal at `path` where it is a notice (held: the lock, by the
    caller itself); its notices ([] where there was none, or where it is a
    writer's journal, which the next locking command restores)."""
    try:
        notices = notice_at(path)
    except FileExistsError:
        return []
    if notices:
        os.unlink(path)
        sync_directory(os.path.dirname(path))
    return notices


def _replace(path: str, lines: list[Entry]) -> int:
    """Put a journal of `lines` (its writer first) at `path` in one rename; its
    descriptor, open for appending (reopened after the rename: Windows renames no open file)."""
    landing = path + ".new"
    fd = os.open(landing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _OPEN_FLAGS, 0o644)
    try:
        os.write(fd, (FORMAT + "\n" + "".join(_line(e) for e in lines)).encode("utf-8", "surrogateescape"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(landing, path)
    sync_directory(os.path.dirname(path))
    return os.open(path, os.O_WRONLY | os.O_APPEND | _OPEN_FLAGS)


def writer_entry(command: str, host: str, pidns: str) -> Entry:
    return {"pid": os.getpid(), "host": host, "pidns": pidns, "command": command, "since": time.time()}
