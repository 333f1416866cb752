"""What a writing pip journals (journal/__init__.py), and where in pip.

Imported by patches.py when a command that writes (install, uninstall)
starts, before it runs: so before pip 26.3 blocks imports, and never in a
reading pip.
The same places in pip 21.3 to 26.3:

- ``UninstallPathSet.remove``: which distribution pip uninstalls (``remove``,
  written with its first move);
- ``StashedUninstallPathSet.stash``: a directory's stash folder, which pip
  creates next to it before its move is known (``stash``, so that a kill
  right then leaves no empty ``~name`` folder);
- ``StashedUninstallPathSet._get_directory_stash`` / ``_get_file_stash``:
  where each path goes, known before pip moves it (``move``), also files
  stashed in the temporary directory (scripts, data files, modules);
- ``StashedUninstallPathSet.commit`` / ``rollback``: pip deletes the stash,
  or moves it back itself;
- ``_install_wheel`` of ``operations.install.wheel`` (wrapped where install
  starts writing: 26.3 imports that module late), given pip's open zip: the
  wheel's files, before the first is written (``write``), and ``done`` when
  it returns (RECORD written).

A command is journaled only while it holds the exclusive lock itself
(CommandRun.journaling; never under an ancestor's hold, never for
``--target``, whose files pip moves from a temporary folder) and only where
every one of these patches took: a pip whose internals we cannot follow
runs as before, locked and not journaled. A journal that cannot be created
or written is a debug line, and is dropped whole (a journal that misses an
entry would undo the wrong thing): pip goes on as before.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, ClassVar

from piplockhook.journal import Entry, Journal, writer_entry
from piplockhook.journal.restore import groups_of, restore
from piplockhook.journal.wheelplan import planned_roots
from piplockhook.lock.environment import JOURNAL_SUFFIX
from piplockhook.lock.holderfiles import _command, host_name, pid_namespace
from piplockhook.pip import hook
from piplockhook.pip.importhooks import cannot_patch, wrap_attribute

Wrapped = Callable[..., Any]

NEEDED = {"remove", "stash", "directory", "file", "commit", "rollback"}  # and install_wheel for installs


class Journaling:
    """This process's journaling: the patches that took, the uninstall under way."""

    patched: ClassVar[set[str]] = set()
    adjacent_names: ClassVar[Callable[[str], Any] | None] = None  # pip's AdjacentTempDirectory._generate_names
    pending: ClassVar[list[Entry]] = []  # the `remove` entry, written with its first move


def patch_req_uninstall(module: Any) -> None:
    """pip's uninstall and stash methods, once per process (pip 26 runs commands in-process too)."""
    if Journaling.adjacent_names is not None:
        return
    patches = [
        ("UninstallPathSet.remove", _remove, "remove"),
        ("StashedUninstallPathSet.stash", _stash, "stash"),
        ("StashedUninstallPathSet._get_directory_stash", _directory_stash, "directory"),
        ("StashedUninstallPathSet._get_file_stash", _file_stash, "file"),
        ("StashedUninstallPathSet.commit", _commit, "commit"),
        ("StashedUninstallPathSet.rollback", _rollback, "rollback"),
    ]
    try:
        Journaling.adjacent_names = module.AdjacentTempDirectory._generate_names
    except Exception as exc:
        cannot_patch("pip._internal.req.req_uninstall.AdjacentTempDirectory (journal)", exc)
        return
    for path, wrapper, key in patches:
        try:
            wrap_attribute(module, path, wrapper)
            Journaling.patched.add(key)
        except Exception as exc:
            cannot_patch(f"pip._internal.req.req_uninstall.{path} (journal)", exc)


def prepare_install() -> bool:
    """Where pip install starts writing (install_given_reqs): wrap the
    ``_install_wheel`` that pip's ``install_wheel`` calls with its open zip (by
    keyword in 21.3 to 26.3). Its module is loaded by then in every pip (26.3
    imports it before it blocks imports) and imported here by nobody.
    False where it cannot be followed."""
    if "install_wheel" in Journaling.patched:
        return True
    wheel = sys.modules.get("pip._internal.operations.install.wheel")
    if wheel is None:
        return False
    try:
        wrap_attribute(wheel, "_install_wheel", _install_wheel)
        Journaling.patched.add("install_wheel")
        return True
    except Exception as exc:
        cannot_patch("pip._internal.operations.install.wheel._install_wheel (journal)", exc)
        return False


# -- the journal of the running command


def _run() -> Any:
    runs = hook().runs
    return runs[-1] if runs else None


def _journal() -> Journal | None:
    """The running command's journal, created with its first entry; None where it is not journaled."""
    run = _run()
    if run is None or not run.journaling:
        return None
    if run.journal is None:
        try:
            writer = writer_entry(_command(), host_name(), pid_namespace())
            run.journal = Journal.start(run.lock.path + JOURNAL_SUFFIX, writer)
        except Exception as exc:
            _stop(run, exc)
            return None
        run.journal_end = lambda: end_of_command(run)
        missing = sorted(NEEDED - Journaling.patched)
        if missing:
            start_blind(run, "pip internals not found: " + ", ".join(missing))
            return None
    journal: Journal = run.journal
    return journal


def start_blind(run: Any, why: str) -> None:
    """This command writes, but we cannot follow it: a journal that says only
    that (a next pip then tells it died while writing), and no more entries."""
    run.journaling = False
    if run.journal is None:
        try:
            run.journal = Journal.start(
                run.lock.path + JOURNAL_SUFFIX, writer_entry(_command(), host_name(), pid_namespace())
            )
        except Exception as exc:
            run.lock.reporter.note(f"not journaling this command: {exc!r}")
            return
        run.journal_end = lambda: end_of_command(run)
    try:
        run.journal.append({"op": "blind", "why": why})
    except Exception as exc:
        _stop(run, exc)


def _stop(run: Any, exc: BaseException) -> None:
    """A journal that cannot be written is dropped whole: pip goes on, as without one."""
    run.journaling = False
    journal, run.journal = run.journal, None
    if journal is not None:
        journal.discard()
    run.lock.reporter.note(f"not journaling this command: {exc!r}")


def _record(make: Callable[[], list[Entry]]) -> None:
    """Journal the entries `make()` gives, durable before pip goes on. Never raises:
    where they cannot be known or written, the journal is dropped, and pip goes on
    as it does without one."""
    journal = _journal()
    if journal is None:
        return
    try:
        entries = make()
        if entries:
            journal.append(*entries)
    except Exception as exc:
        _stop(_run(), exc)


def end_of_command(run: Any) -> None:
    """The command ends in this process, however it ends: what pip left half-done
    (an exception it did not roll back, Ctrl-C) is put back, and the journal goes.
    Interrupted itself (a second Ctrl-C), the journal stays for the next pip."""
    journal, run.journal, run.journal_end = run.journal, None, None
    if journal is None:
        return
    try:
        groups, _ = groups_of(journal.entries)
        if all(group.finished for group in groups):
            journal.close()
            return
        journal.release()
        restore(journal.path, run.lock.reporter, host_name())
    except Exception as exc:  # the journal stays: the next pip finishes the restore
        run.lock.reporter.warning(
            f"could not put back what this pip left half-done ({exc!r}); the next pip will, from {journal.path}"
        )


# -- the wrappers: each records, then lets pip do exactly what it does


def _remove(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    dist = getattr(instance, "_dist", None) or getattr(instance, "dist", None)  # 21.3: .dist
    name = getattr(dist, "raw_name", None) or getattr(dist, "project_name", None) or "?"
    version = getattr(dist, "raw_version", None) or getattr(dist, "version", None) or ""
    Journaling.pending = [{"op": "remove", "name": str(name), "version": str(version)}]
    try:
        return wrapped(*args, **kwargs)
    finally:
        Journaling.pending = []


def _with_pending(entry: Entry) -> list[Entry]:
    entries, Journaling.pending = [*Journaling.pending, entry], []
    return entries


def _path(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0] if args else kwargs["path"])


def _stash(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    def entries() -> list[Entry]:
        path = _path(args, kwargs)
        if not os.path.isdir(path) or os.path.islink(path):
            return []  # a file: its move says all
        return _with_pending({"op": "stash", "src": path, "adjacent": _adjacent(path)})

    _record(entries)
    return wrapped(*args, **kwargs)


def _adjacent(path: str) -> str:
    """The folder pip's AdjacentTempDirectory will create for `path`: its first free name."""
    generate = Journaling.adjacent_names
    head, name = os.path.split(path.rstrip("/\\"))
    for candidate in generate(name) if generate is not None else ():
        if not os.path.lexists(os.path.join(head, candidate)):
            return os.path.join(head, candidate)
    return ""


def _directory_stash(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    new_path: str = wrapped(*args, **kwargs)
    _record(lambda: _with_pending(_move(_path(args, kwargs), new_path, new_path, True)))
    return new_path


def _file_stash(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    new_path: str = wrapped(*args, **kwargs)

    def entries() -> list[Entry]:
        folders = [getattr(d, "path", "") for d in getattr(instance, "_save_dirs", {}).values()]
        base = next((f for f in folders if f and (new_path == f or new_path.startswith(f + os.sep))), "")
        return _with_pending(_move(_path(args, kwargs), new_path, base, False))

    _record(entries)
    return new_path


def _move(src: str, dst: str, base: str, is_dir: bool) -> Entry:
    return {"op": "move", "src": src, "dst": dst, "base": base, "dir": is_dir, "same_fs": _same_fs(src, dst)}


def _same_fs(src: str, dst: str) -> bool:
    """Will pip's move be a rename (atomic)? The nearest existing folders' devices tell."""

    def device(path: str) -> int:
        while not os.path.exists(path) and os.path.dirname(path) != path:
            path = os.path.dirname(path)
        return os.stat(path).st_dev

    try:
        return device(os.path.dirname(src)) == device(dst)
    except OSError:
        return False


def _commit(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    def entries() -> list[Entry]:
        if not (getattr(instance, "_moves", None) or getattr(instance, "_save_dirs", None)):
            return []  # nothing stashed: nothing to say
        if getattr(instance, "_manual_recovery", None):  # 26.3 keeps both copies of a move it could not finish
            return [{"op": "unsure", "why": "pip kept its stash for a manual recovery"}]
        return [{"op": "commit"}]

    _record(entries)
    return wrapped(*args, **kwargs)


def _rollback(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    _record(lambda: [{"op": "rollback"}])
    return wrapped(*args, **kwargs)


def _install_wheel(wrapped: Wrapped, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    def write() -> list[Entry]:
        wheel_zip = args[1] if len(args) > 1 else kwargs["wheel_zip"]
        scheme = args[3] if len(args) > 3 else kwargs["scheme"]
        name, version, roots = planned_roots(wheel_zip, scheme)
        return [{"op": "write", "name": name, "version": version, "roots": roots}]

    _record(write)  # a wheel or scheme we cannot read: the journal is dropped
    result = wrapped(*args, **kwargs)
    _record(lambda: [{"op": "done"}])
    return result
