"""Put an environment back from a dead writer's journal (see journal/__init__.py).

Run by the lock (lock/environment.py) under the exclusive lock, by the first
pip or piplockhook command that finds a journal, and by the writer itself
when its command ends by an exception pip did not handle (Ctrl-C).

What it leaves is what pip leaves when the command fails at that point with
an error, and a little cleaner: the distribution being changed is whole again
in its old version (what was written is removed, the stash moved back),
those finished before it stay new (their stash goes). A distribution whose
wheel was written in full (``done``), or whose stash pip started deleting
(``commit``), counts as finished.

Every step looks at the files before it acts, so that running it again after
it was itself killed finishes the job and breaks nothing: a move is undone
only while its stash exists, and a copy across filesystems lands beside its
place first and is renamed into it, so a path holds a whole copy or nothing.
Where a stash is gone (a temporary directory a reboot emptied), or the
writer's changes could not be followed (``blind``: a pip we do not know, a
``piplockhook run -x`` command), nothing is guessed: the line names what could
not be restored and the exact repair, and the journal is rewritten as a
notice of that, said again by every pip until the missing paths are back
(``lost``) or ``piplockhook verify`` finds the environment whole and clears it.
"""

from __future__ import annotations

import errno
import os
import shutil
import time

from piplockhook.journal import Entry, Unreadable, of_writer, read, sync_directory, write_notice
from piplockhook.report import Reporter

RESTORE_SUFFIX = ".piplockhook-restore"  # a copy across filesystems lands here first


class Group:
    """The entries of one distribution's change: its uninstall (moves), its wheel (write)."""

    def __init__(self, name: str = "", version: str = "") -> None:
        self.name, self.version = name, version  # the old version (pip's uninstall)
        self.new_name, self.new_version = "", ""  # the wheel written
        self.stashes: list[str] = []  # adjacent directories pip creates for its stash
        self.moves: list[Entry] = []
        self.roots: list[str] = []
        self.wrote = self.done = self.commit = self.rollback = False
        self.unsure = ""

    @property
    def finished(self) -> bool:
        return (self.done or self.commit) and not self.rollback and not self.unsure

    def takes_write(self, name: str) -> bool:
        """Does the wheel `name` replace this group's uninstalled distribution?"""
        return bool(self.name) and not (self.wrote or self.commit or self.rollback) and _same(name, self.name)


def _same(a: str, b: str) -> bool:
    def norm(n: str) -> str:
        return n.lower().replace("_", "-").replace(".", "-")

    return norm(a) == norm(b)


def _norm(path: object) -> str:
    return os.path.normpath(str(path)) if path else ""


def groups_of(entries: list[Entry]) -> tuple[list[Group], list[Entry]]:
    """(the groups, the `lost` notices) of a journal's entries, in order."""
    groups: list[Group] = []
    notices: list[Entry] = []
    group: Group | None = None

    def new(name: str = "", version: str = "") -> Group:
        groups.append(Group(name, version))
        return groups[-1]

    for entry in entries:
        op = entry.get("op")
        if op == "remove":
            group = new(str(entry["name"]), str(entry["version"]))
        elif op in ("lost", "blind"):
            notices.append(entry)
        elif op == "write":
            if group is None or not group.takes_write(str(entry["name"])):
                group = new()
            group.wrote = True
            group.new_name, group.new_version = str(entry["name"]), str(entry["version"])
            group.roots.extend(_norm(r) for r in entry["roots"])
        elif op in ("stash", "move", "done", "commit", "rollback", "unsure"):
            if group is None:
                group = new()
            if op == "stash":
                group.stashes.append(_norm(entry.get("adjacent")))
            elif op == "move":  # pip names folders with a trailing separator
                group.moves.append({**entry, **{k: _norm(entry.get(k)) for k in ("src", "dst", "base")}})
            elif op == "unsure":
                group.unsure = str(entry.get("why", "?"))
            else:
                setattr(group, op, True)
        else:
            raise Unreadable(f"an entry this piplockhook does not know ({op!r})")
    return groups, notices


# -- the file work, each step idempotent


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _key(path: str) -> str:
    """`path` as a comparison sees it. Windows pips journal a stash's origin in lower case with a
    trailing separator (pip normalises it), and what a wheel writes as the filesystem spells it."""
    return os.path.normcase(os.path.normpath(path))


def _remove_except(path: str, keep: set[str]) -> None:
    """Remove `path`, except the paths in `keep` (``_key``s; and the folders that hold them)."""
    key = _key(path)
    if key in keep:
        return
    if any(k.startswith(key + os.sep) for k in keep):
        if os.path.isdir(path) and not os.path.islink(path):
            for child in os.listdir(path):
                _remove_except(os.path.join(path, child), keep)
        return
    _remove(path)


def _move_back(stashed: str, original: str) -> None:
    """`stashed` to `original` (absent): a rename, else a copy beside it renamed into place."""
    os.makedirs(os.path.dirname(original), exist_ok=True)
    try:
        os.rename(stashed, original)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    landing = original + RESTORE_SUFFIX
    _remove(landing)  # what a restore killed here left
    if os.path.isdir(stashed) and not os.path.islink(stashed):
        shutil.copytree(stashed, landing, symlinks=True)
    else:
        shutil.copy2(stashed, landing, follow_symlinks=False)
    os.rename(landing, original)
    _remove(stashed)


def _prune(path: str, base: str) -> None:
    """Remove the empty folders from `path` up to `base` (pip's stash directory), included."""
    if not base or not (path == base or path.startswith(base + os.sep)):
        return
    while True:
        try:
            os.rmdir(path)
        except OSError:
            return
        if path == base:
            return
        path = os.path.dirname(path)


class Outcome:
    """What one restore did, for its line."""

    def __init__(self) -> None:
        self.undone: list[str] = []  # "plhbig 2.0"
        self.back: list[str] = []
        self.kept: list[str] = []
        self.lost: list[Entry] = []  # `lost` notices: name, version, paths, why (and `of`)
        self.blind: list[Entry] = []  # `blind` notices: why a writer could not journal its changes (and `of`)

    @property
    def changed(self) -> bool:
        return bool(self.undone or self.back or self.kept or self.lost)


def _undo(group: Group, outcome: Outcome) -> None:
    """The distribution being changed, whole in its old version."""
    label = f"{group.name} {group.version}"
    if group.unsure:
        outcome.lost.append(_lost(group, [], group.unsure))
        return
    src_is_original = not (group.wrote or group.rollback)  # nothing was written over a moved path yet
    kept: set[str] = set()
    missing: list[str] = []
    for move in reversed(group.moves):
        src, dst, base = os.path.normpath(str(move["src"])), str(move["dst"]), str(move.get("base") or "")
        kept.add(_key(src))
        if os.path.lexists(dst):
            if os.path.lexists(src):
                if src_is_original:
                    if move.get("dir") and not move.get("same_fs"):
                        # pip's copy across filesystems was cut: either copy may be partial
                        outcome.lost.append(_lost(group, [src], f"{src} and {dst} may both be partial"))
                        return
                    _remove(dst)  # the move never finished: `src` is whole
                    _prune(os.path.dirname(dst), base)
                    continue
                _remove(src)  # what was written over it, or a partial copy back
            _move_back(dst, src)
            _prune(os.path.dirname(dst), base)
        elif not os.path.lexists(src):
            missing.append(src)
    for root in group.roots:
        _remove_except(root, kept)
    _remove_stash_folders(group)
    if group.wrote:
        outcome.undone.append(f"{group.new_name} {group.new_version}")
    if missing:
        outcome.lost.append(_lost(group, missing, f"its stash is gone ({missing[0]})"))
    elif group.name:
        outcome.back.append(label)


def _finish(group: Group, outcome: Outcome) -> None:
    """A finished distribution stays new: its stash goes."""
    stash_left = False
    for move in group.moves:
        dst, base = str(move["dst"]), str(move.get("base") or "")
        if os.path.lexists(dst):
            stash_left = True
            _remove(dst)
            _prune(os.path.dirname(dst), base)
    _remove_stash_folders(group)
    if stash_left and group.wrote:
        outcome.kept.append(f"{group.new_name} {group.new_version}")


def _remove_stash_folders(group: Group) -> None:
    for adjacent in group.stashes:  # created by pip before its move was journaled: empty, or gone
        if adjacent and os.path.isdir(adjacent) and not os.path.islink(adjacent) and not os.listdir(adjacent):
            os.rmdir(adjacent)


def _lost(group: Group, paths: list[str], why: str) -> Entry:
    return {"op": "lost", "name": group.name or group.new_name, "version": group.version, "paths": paths, "why": why}


# -- the whole restore, and its line


def _parse(path: str) -> tuple[Entry, list[Group], list[Entry]] | None:
    """The journal at `path`: its writer, its groups, its notices (None: no journal);
    Unreadable where it cannot be followed (an entry without a field it needs, too)."""
    found = read(path)
    if found is None:
        return None
    writer, entries = found
    try:
        groups, notices = groups_of(entries)
    except (KeyError, TypeError, ValueError) as exc:
        raise Unreadable(str(exc)) from None
    return writer, groups, notices


def restore(path: str, reporter: Reporter, host: str) -> bool:
    """Restore from the journal at `path` (held: the exclusive lock), say so in one
    line, and remove the journal (or leave a notice of what could not be
    restored). `host`: this host's name, as the journal names its writer's.
    False where the journal cannot be followed (it stays)."""
    try:
        parsed = _parse(path)
    except Unreadable as exc:
        reporter.warning(
            f"found the journal of a pip that died while changing this environment ({path}), but cannot "
            f"read it ({exc}); nothing was undone: run `piplockhook verify`"
        )
        return False
    if parsed is None:
        return True
    writer, groups, notices = parsed
    outcome = Outcome()
    for group in groups:
        (_finish if group.finished else _undo)(group, outcome)
    fresh = any("of" not in n for n in notices)  # its writer's own (a notice names each writer: `of`)
    notices = of_writer(notices, writer)
    _still(notices, outcome)
    left = of_writer([*outcome.lost, *outcome.blind], writer)
    if not left:
        _remove_journal(path)
    elif groups or fresh or left != notices:  # a notice that says the same is not written again
        os.close(write_notice(path, left))
    if groups or left or not notices:  # silent only where a notice's paths are back
        reporter.warning(line(writer, outcome, host, again=bool(notices) and not groups and not fresh))
    return True


def _still(notices: list[Entry], outcome: Outcome) -> None:
    """The notices that still hold, into `outcome`: a `lost` one until its paths
    are back, a `blind` one until verify clears it."""
    outcome.lost.extend(
        n for n in notices if n["op"] == "lost" and not all(os.path.lexists(p) for p in n.get("paths") or ["?"])
    )
    outcome.blind.extend(n for n in notices if n["op"] == "blind")


def _remove_journal(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    sync_directory(os.path.dirname(path))


def whose(writer: Entry, this_host: str) -> str:
    """(pid, host, command, when) of the journal's writer, for a line."""
    host = str(writer.get("host", ""))
    where = f" on {host}" if host and host != this_host else ""
    try:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(writer["since"])))
    except (KeyError, TypeError, ValueError):
        when = "?"
    return f"pid {writer.get('pid', '?')}{where}, `{writer.get('command', '?')}`, started {when}"


RUN = "run"  # a writer line's `kind`: a `piplockhook run -x`, whose command's changes are not journaled


def who(writer: Entry) -> str:
    """What the writer was, for a line: a pip, or a `piplockhook run -x` command."""
    return "a `piplockhook run -x` command" if writer.get("kind") == RUN else "a pip"


def _same_writer(a: Entry, b: Entry) -> bool:
    return all(a.get(k) == b.get(k) for k in ("pid", "host", "since"))


def line(writer: Entry, outcome: Outcome, host: str, *, again: bool = False) -> str:
    """The one line a restore says: what was undone, whose, what is back, what could not be."""
    if again:
        damaged = "is still damaged" if outcome.lost else "may still be damaged"
        head = f"this environment {damaged} since {who(writer)} died while changing it ({whose(writer, host)})"
    elif writer.get("pid") == os.getpid() and writer.get("host") == host:
        head = "this pip stopped before it finished changing the environment; put back what it had changed"
    elif outcome.blind and not (outcome.undone or outcome.back or outcome.kept):  # nothing was restored
        head = f"{who(writer)} died while changing this environment ({whose(writer, host)})"
    else:
        head = f"restored this environment after {who(writer)} died while changing it ({whose(writer, host)})"
    parts = []
    if outcome.undone:
        parts.append("undid " + ", ".join(outcome.undone))
    if outcome.back:
        parts.append("back: " + ", ".join(outcome.back))
    if outcome.kept:
        parts.append("kept (finished): " + ", ".join(outcome.kept))
    for lost in outcome.lost:
        name, version = lost.get("name") or "?", lost.get("version") or ""
        spec = f"{name}=={version}" if version else str(name)
        parts.append(
            f"could not restore {name} {version} ({lost.get('why', '?')}); repair: "
            f"pip install --force-reinstall --no-deps {spec}"
        )
    for blind in outcome.blind:
        of = blind.get("of") or writer
        what = "it" if _same_writer(of, writer) else f"{who(of)} ({whose(of, host)})"
        parts.append(f"what {what} changed is not known ({blind.get('why', '?')}): run `piplockhook verify`")
    if not parts:
        parts.append("it had changed nothing yet")
    return head + ": " + "; ".join(parts)


# -- what is pending, for `piplockhook status` (which changes nothing)

NOTICE, JOURNAL, UNREADABLE = "notice", "journal", "unreadable"


def pending(path: str, host: str) -> tuple[str, Entry, str]:
    """What the journal at `path` holds, read only: (kind, its writer, the line a
    pip would say). kind: "" none (or a notice whose paths are all back: the next
    pip removes it); NOTICE, said by every pip until verify clears it; JOURNAL, a
    writer's (a living one's, or a dead one's that the next locking command
    restores); UNREADABLE."""
    try:
        parsed = _parse(path)
    except Unreadable as exc:
        return UNREADABLE, {}, f"a journal that cannot be read ({path}: {exc}): run `piplockhook verify`"
    if parsed is None:
        return "", {}, ""
    writer, groups, notices = parsed
    if groups:
        return JOURNAL, writer, ""
    outcome = Outcome()
    _still(notices, outcome)
    if not (outcome.lost or outcome.blind):
        return "", writer, ""
    fresh = any("of" not in n for n in notices)  # a writer's own blind journal: living, or not yet said
    return (JOURNAL if fresh else NOTICE), writer, line(writer, outcome, host, again=not fresh)
