"""The lock table (SPEC section 3) as data, and how one row is proven, on every tier.

A row: another process holds the environment's lock in one mode, a pip runs,
and either waits for one mode (and finishes once the holder lets go) or
finishes while the lock is still held. Every row that waits is run again under
PIPLOCKHOOK=0, where the same pip finishes while the lock is held: the control
that shows the test could fail. tests/slow (this host), tests/windows (Wine)
and tests/nfs (holder on a, pip on b) parametrize from `cases()`; each brings
a tier object that says only how things are done there:

    tier.bound           seconds a pip's line may take to come
    tier.instant         seconds a lock taken beside the holder may take
    tier.scratch         a folder for the pip's own files, as the pip names it
    tier.have(version)   install plhsmall==version (before the holder holds)
    tier.version()       plhsmall's installed version, or None (read unlocked)
    tier.hold(mode)      a holder, holding; `.release()` lets go
    tier.holding()       how the lock is held right now: free, shared, exclusive
    tier.start(argv, env)  a pip in the background: `expect(pattern, timeout=)`
                         (a line of its stderr), `lines["stdout"]`, `running()`,
                         `finish()` -> (returncode, stdout, stderr)
    tier.blocked(pip)    assert the pip sleeps in the lock's wait (the tier's proof)
    tier.pkg_resources_at_start(command)  whether this pip imports pkg_resources
                         as `pip COMMAND` starts (older pips): STARTS_PKG_RESOURCES's answer
"""

from dataclasses import dataclass
from typing import Optional

import pytest

SHARED, EXCLUSIVE = "shared", "exclusive"
PROJECT = "plhsmall"
UNCHANGED = "unchanged"  # `after`: the pip leaves plhsmall as it was
WAITING = "piplockhook: waiting for {} lock on"
WRITING = "Installing collected packages"  # install's line once it changes files
# python -c STARTS_PKG_RESOURCES COMMAND (unhooked) prints True where a pip
# imports pkg_resources as that command starts (pip 21.3 does, 23 not).
STARTS_PKG_RESOURCES = (
    "import sys, pip._internal.cli.main; from pip._internal.commands import create_command; "
    "create_command(sys.argv[1]); print(bool({'pkg_resources', 'pip._vendor.pkg_resources'} & set(sys.modules)))"
)


def waiting(mode="(shared|exclusive)"):
    """The waiting line a pip writes, as a pattern."""
    return WAITING.format(mode)


@dataclass(frozen=True)
class Row:
    holder: str  # the mode another process holds the lock in
    command: str  # pip's arguments; {scratch} is the tier's folder
    waits_for: Optional[str]  # the mode the pip waits for; None: it does not wait
    takes: tuple[str, ...]  # the modes it takes, in order (PIPLOCKHOOK_DEBUG's lines)
    prints: str  # on stdout once it did its work
    before: Optional[str] = None  # plhsmall's version installed first; None: as it is
    after: Optional[str] = UNCHANGED  # plhsmall's version once it ended; None: not installed

    def argv(self, scratch):
        return self.command.format(scratch=scratch).split()

    @property
    def id(self):
        name = "-".join(w for w in self.command.split() if not w.startswith(("-", "{")))
        outcome = f"waits-{self.waits_for}" if self.waits_for else "no-wait"
        return f"{self.holder}-held/{name}/{outcome}"


ROWS = [
    Row(EXCLUSIVE, "list", SHARED, (SHARED,), "piplockhook"),
    Row(EXCLUSIVE, "install plhsmall==2.0", SHARED, (SHARED, EXCLUSIVE), "Successfully installed", "1.0", "2.0"),
    Row(EXCLUSIVE, "uninstall -y plhsmall", EXCLUSIVE, (EXCLUSIVE,), "Successfully uninstalled", "1.0", None),
    Row(EXCLUSIVE, "download --no-deps -d {scratch} plhsmall==1.0", None, (), "plhsmall"),
    Row(SHARED, "list", None, (SHARED,), "piplockhook"),
    Row(SHARED, "freeze", None, (SHARED,), "piplockhook=="),
    Row(SHARED, "show pip", None, (SHARED,), "Name: pip"),
    Row(SHARED, "check", None, (SHARED,), "No broken requirements found"),
    Row(SHARED, "uninstall -y plhsmall", EXCLUSIVE, (EXCLUSIVE,), "Successfully uninstalled", "1.0", None),
    # install resolves beside a reader and waits only to change files
    Row(SHARED, "install plhsmall==2.0", EXCLUSIVE, (SHARED, EXCLUSIVE), "Successfully installed", "1.0", "2.0"),
    Row(SHARED, "install plhsmall==1.0", None, (SHARED,), "Requirement already satisfied", "1.0"),  # no change
]


def cases(marks=lambda row: ()):
    """pytest params (row, hook): every row with the hook, and every row that
    waits once more under PIPLOCKHOOK=0; `marks(row)`: the tier's marks."""
    params = []
    for row in ROWS:
        params.append(pytest.param(row, True, id=row.id, marks=marks(row)))
        if row.waits_for:
            params.append(pytest.param(row, False, id=row.id + "/PIPLOCKHOOK=0", marks=marks(row)))
    return params


def check_row(tier, row, hook):
    """Run `row` on `tier`, with the hook or under PIPLOCKHOOK=0, and prove it."""
    command = row.command.split()[0]
    if row.holder == EXCLUSIVE and row.waits_for != SHARED and tier.pkg_resources_at_start(command):
        pytest.skip(
            f"this pip imports pkg_resources as `pip {command}` starts: its working set, built under "
            "the shared lock, waits first (tests/slow/test_pkg_resources.py)"
        )
    if row.before:
        tier.have(row.before)
    holder = tier.hold(row.holder)
    pip = tier.start(row.argv(tier.scratch), {"PIPLOCKHOOK_DEBUG": "1"} if hook else {"PIPLOCKHOOK": "0"})
    if hook and row.waits_for:
        err = assert_waits(tier, row, pip, holder)
    else:
        out, err = assert_does_not_wait(pip)
        assert row.prints in out, out
        assert tier.holding() == row.holder  # it ended while the lock was held
        holder.release()
    if hook:
        for mode in row.takes:
            assert f"acquired {mode} lock" in err, err
        # (shared may come unasked: a pip that builds pkg_resources' working set takes it)
        assert EXCLUSIVE in row.takes or f"acquired {EXCLUSIVE} lock" not in err, err
    if row.after != UNCHANGED:
        assert tier.version() == row.after


def assert_waits(tier, row, pip, holder):
    """The pip takes the modes before `waits_for` without waiting, then waits,
    blocked (the tier's proof) while the holder still holds and nothing
    changes, and finishes once the holder lets go. Its stderr."""
    mode = row.waits_for
    for earlier in row.takes[: row.takes.index(mode)]:
        took = pip.expect(rf"acquired {earlier} lock .* \(waited ([0-9.]+)s", timeout=tier.bound)
        assert float(took.group(1)) < tier.instant, took.group(0)  # beside the holder: no wait
        pip.expect(rf"released {earlier} lock .* \(to take it {mode}\)", timeout=tier.bound)
    pip.expect(waiting(mode), timeout=tier.bound)
    tier.blocked(pip)
    assert tier.holding() == row.holder
    if row.takes.index(mode):  # it did the work of its earlier mode (resolved) and wrote nothing
        said = "".join(pip.lines["stdout"])
        assert PROJECT in said and WRITING not in said, said
    if row.before and row.after != UNCHANGED:
        assert tier.version() == row.before  # nothing changed while it waits
    assert pip.running()
    holder.release()
    rc, out, err = pip.finish()
    assert rc == 0, out + err
    assert f"acquired {mode} lock after waiting" in err
    assert row.prints in out, out
    return err


def assert_does_not_wait(pip):
    """The pip finishes, and said no waiting line: (stdout, stderr)."""
    rc, out, err = pip.finish()
    assert rc == 0, out + err
    assert "waiting for" not in err
    return out, err
