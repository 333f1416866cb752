"""The pip side called directly, with stand-ins for pip's internals (fast tier).

The stand-ins have the shapes the hook meets in pip (a command object with
`name` and `run(options, args)`, `install_given_reqs(requirements, ...,
prefix=..., use_user_site=...)`, requirements with `name` and
`should_reinstall`); real pips: test_locking.py, test_recheck.py.
"""

import contextlib
import inspect
import os
import sys
from types import SimpleNamespace

import pytest
from inprocess import fresh_process

from piplockhook import pip as policy
from piplockhook.lock import EXCLUSIVE, SHARED, FileLock, environment
from piplockhook.pip import patches, writing

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="probes with flock")


@pytest.fixture(autouse=True)
def hooked(monkeypatch, tmp_path):
    """A fresh hook state, settings that lock tmp_path/env/.lock."""
    fresh_process()
    for name in list(os.environ):
        if name.startswith("PIPLOCKHOOK"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIPLOCKHOOK_LOCKFILE", str(tmp_path / "env" / ".lock"))
    hook_state = policy.hook()
    hook_state.command_error = type("CommandError", (Exception,), {})
    yield hook_state
    fresh_process()


def probe(path, mode):
    """Could another holder take `path` in `mode` now?"""
    other = FileLock(path)
    try:
        other.acquire(mode, timeout=0)
        return True
    except Exception:
        return False
    finally:
        other.close()


def stand_in_install_given_reqs(requirements, global_options=None, root=None, home=None, prefix=None, **kwargs):
    stand_in_install_given_reqs.calls.append((requirements, prefix))
    return "installed"


class Command:
    """pip's command object: `name`, `run(options, args)`, and `main(args)`."""

    def __init__(self, name, seen):
        self.name = name
        self.seen = seen

    def run(self, options, args):
        self.seen.append(os.environ.get(environment.MARKER, ""))
        return 0

    def main(self, args):
        return self.run(SimpleNamespace(quiet=0, **args), [])


def test_the_table_knows_every_command_of_the_installed_pip():
    # A command a new pip adds gets the shared lock until it is named here (one line).
    from pip._internal.commands import commands_dict

    unknown = sorted(set(commands_dict) - set(policy.COMMAND_LOCKS))
    assert not unknown, f"pip has commands the table does not name: {unknown} (src/piplockhook/pip/__init__.py)"
    newer = set(policy.COMMAND_LOCKS) - set(commands_dict)
    assert newer <= {"lock", "inspect", "index", "search"}, newer  # commands of other pips than this one


def test_quiet_count_from_pip_s_argv():
    assert policy.quiet_from_argv(["pip", "install", "-q", "x"]) == 1
    assert policy.quiet_from_argv(["pip", "-qq", "install", "--quiet", "x"]) == 3
    assert policy.quiet_from_argv(["pip", "install", "--", "-q"]) == 0
    assert policy.quiet_of(SimpleNamespace(quiet=2)) == 2 and policy.quiet_of(None) == 0


@posix_only
def test_a_read_command_runs_under_the_shared_lock_and_publishes_it(tmp_path):
    seen = []
    command = Command("list", seen)
    wrapped = patches._command_main(command.main, command, ({},), {})
    assert wrapped == 0 and len(seen) == 1
    lock_path = str(tmp_path / "env" / ".lock")
    assert environment.parse_marker(seen[0]) == {lock_path: (os.getpid(), SHARED)}
    assert probe(lock_path, EXCLUSIVE)  # released once run() returned
    assert environment.MARKER not in os.environ


def bad_setting(monkeypatch, variable, value, name, kind=Command):
    """(a command `name` of this kind, what its run() saw) with `variable` set to a bad `value`."""
    monkeypatch.setenv(variable, value)
    seen = []
    return kind(name, seen), seen


def test_a_command_that_takes_no_lock_runs_with_a_warning_on_a_bad_setting(monkeypatch, capsys):
    command, seen = bad_setting(monkeypatch, "PIPLOCKHOOK_TIMEOUT", "abc", "download")
    assert patches._command_main(command.main, command, ({},), {}) == 0 and seen == [""]
    err = capsys.readouterr().err
    assert err == (
        "WARNING: piplockhook: PIPLOCKHOOK_TIMEOUT='abc' is not valid: expected a number of seconds, 0 or more; "
        "ignored, as `pip download` takes no lock\n"
    )


def test_a_command_that_takes_a_lock_stops_on_a_bad_setting(monkeypatch, capsys):
    command, seen = bad_setting(monkeypatch, "PIPLOCKHOOK", "maybe", "list")
    assert patches._command_main(command.main, command, ({},), {}) == 2 and seen == []
    assert capsys.readouterr().err == (
        "ERROR: piplockhook: PIPLOCKHOOK='maybe' is not valid: expected one of 1, on, true, yes, 0, off, false, no\n"
    )


class ParsingCommand(Command):
    """A command whose main() parses its arguments as pip's does: `-h` prints help and exits 0."""

    def main(self, args):
        if "-h" in args:
            print("Usage: pip ...")
            raise SystemExit(0)
        return self.run(SimpleNamespace(quiet=0), args)


HELP_WARNING = (
    "WARNING: piplockhook: PIPLOCKHOOK='maybe' is not valid: expected one of 1, on, true, yes, 0, off, false, no; "
    "ignored, as pip's help and version take no lock\n"
)


def test_a_locking_command_s_help_shows_with_a_warning_on_a_bad_setting(monkeypatch, capsys):
    command, seen = bad_setting(monkeypatch, "PIPLOCKHOOK", "maybe", "install", ParsingCommand)
    with pytest.raises(SystemExit) as raised:
        patches._command_main(command.main, command, (["x", "-h"],), {})
    assert raised.value.code == 0 and seen == []
    assert capsys.readouterr() == ("Usage: pip ...\n", HELP_WARNING)
    # pip's entry point sees the same exit: the setting was spoken of already.
    with pytest.raises(SystemExit):
        patches._pip_main(command.main, None, (["-h"],), {})
    assert capsys.readouterr().err == ""


def test_arguments_that_only_look_like_help_stop_when_the_command_runs(monkeypatch, capsys):
    command, seen = bad_setting(monkeypatch, "PIPLOCKHOOK", "maybe", "install", ParsingCommand)
    assert patches._command_main(command.main, command, (["-ch", "x"],), {}) == 2 and seen == []
    assert capsys.readouterr().err.startswith("ERROR: piplockhook: PIPLOCKHOOK='maybe' is not valid")


def test_pip_s_version_and_help_before_any_command_warn_once(monkeypatch, capsys):
    def version(args):
        print("pip 99.0")
        raise SystemExit()

    monkeypatch.setenv("PIPLOCKHOOK", "maybe")
    with pytest.raises(SystemExit):
        patches._pip_main(version, None, (["--version"],), {})
    assert capsys.readouterr() == ("pip 99.0\n", HELP_WARNING)
    monkeypatch.setenv("PIPLOCKHOOK", "1")  # good settings: nothing to say
    with pytest.raises(SystemExit):
        patches._pip_main(version, None, (["--version"],), {})
    assert capsys.readouterr().err == ""


def test_the_fallback_shows_help_and_version_on_a_bad_setting(monkeypatch, capsys):
    monkeypatch.setenv("PIPLOCKHOOK", "maybe")
    ran = []
    assert patches._whole_pip_exclusive(lambda args: ran.append(args) or 0, None, (["-V"],), {}) == 0
    assert ran == [["-V"]] and capsys.readouterr().err == HELP_WARNING
    assert patches._whole_pip_exclusive(lambda args: ran.append(args) or 0, None, (["list"],), {}) == 2
    assert ran == [["-V"]]


def test_what_may_ask_for_help():
    assert policy.may_ask_for_help(["x", "--help"]) and policy.may_ask_for_help(["-qh"])
    assert policy.may_ask_for_help(["--he"]) and not policy.may_ask_for_help(["x", "--", "-h"])
    assert not policy.may_ask_for_help(["-q", "--user", "x"]) and not policy.may_ask_for_help({})
    asks = policy.asks_for_help_or_version
    assert asks([]) and asks(["-V"]) and asks(["--isolated", "--help"]) and asks(["help"]) and asks(["help", "list"])
    assert asks(["list", "-h"]) and asks(["-q"])
    assert not asks(["install", "-V", "x"]) and not asks(["list"]) and not asks(["install", "--", "-h"])


@posix_only
def test_install_given_reqs_moves_to_exclusive_and_rechecks(hooked, tmp_path):
    stand_in_install_given_reqs.calls = []
    hooked.install_given_reqs_signature = inspect.signature(stand_in_install_given_reqs)
    installed_now = {"plhsmall"}

    class Environment:
        def get_distribution(self, name):
            return SimpleNamespace(in_usersite=False) if name in installed_now else None

    hooked.get_default_environment = Environment
    hooked.patched["install_given_reqs"] = True
    options = SimpleNamespace(quiet=0, prefix_path=None, ignore_installed=False, target_dir=None)
    run = policy.CommandRun.for_command("install", patches.read(), options)
    run.take(SHARED)
    hooked.runs.append(run)
    lock_path = run.lock.path
    assert probe(lock_path, SHARED) and not probe(lock_path, EXCLUSIVE)
    # Another pip installed plhsmall while this one resolved; plhother went away.
    requirements = [
        SimpleNamespace(name="plhsmall", should_reinstall=False),
        SimpleNamespace(name="plhother", should_reinstall=True),
    ]
    result = writing.install_given_reqs(stand_in_install_given_reqs, None, (requirements,), {"prefix": None})
    assert result == "installed" and run.lock.mode == EXCLUSIVE
    assert not probe(lock_path, SHARED)
    assert [r.should_reinstall for r in requirements] == [True, False]
    # pip's in-process build-dependency install writes its own prefix: no move for it.
    run.lock.acquire(SHARED)
    writing.install_given_reqs(stand_in_install_given_reqs, None, (requirements,), {"prefix": "/tmp/build-env"})
    assert run.lock.mode == SHARED
    hooked.runs.clear()
    run.lock.close()


@posix_only
def test_a_signature_it_cannot_read_moves_to_exclusive_anyway(hooked):
    hooked.install_given_reqs_signature = None
    hooked.patched["install_given_reqs"] = True
    options = SimpleNamespace(quiet=0, prefix_path=None)
    run = policy.CommandRun.for_command("install", patches.read(), options)
    run.take(SHARED)
    writing.move_to_write_lock(run, *writing._what_is_written(run, writing._call_of(("anything",), {})))
    assert run.lock.mode == EXCLUSIVE
    run.lock.close()


def test_without_install_given_reqs_install_is_exclusive_all_along(hooked):
    hooked.patched["install_given_reqs"] = False
    run = policy.CommandRun.for_command("install", patches.read(), SimpleNamespace(quiet=0))
    assert run.policy == policy.Policy(EXCLUSIVE, None)
    assert policy.CommandRun.for_command("download", patches.read(), None) is None


@posix_only
def test_a_timeout_becomes_pip_s_command_error(hooked, monkeypatch, tmp_path):
    monkeypatch.setenv("PIPLOCKHOOK_TIMEOUT", "0.1")
    holder = FileLock(str(tmp_path / "env" / ".lock"))
    holder.acquire(EXCLUSIVE)
    run = policy.CommandRun.for_command("list", patches.read(), SimpleNamespace(quiet=0))
    with pytest.raises(hooked.command_error, match=r"^piplockhook: timed out after 0.1s \(PIPLOCKHOOK_TIMEOUT\)"):
        run.take(SHARED)
    holder.close()


@posix_only
def test_outside_pip_s_handlers_a_timeout_is_one_error_line_and_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PIPLOCKHOOK_TIMEOUT", "0.1")
    holder = FileLock(str(tmp_path / "env" / ".lock"))
    holder.acquire(EXCLUSIVE)
    settings = patches.read()
    with pytest.raises(SystemExit) as raised:
        with policy.held_outside_command(settings, SHARED, policy.Reporter(False), loud=False):
            pass
    assert raised.value.code == 1
    assert capsys.readouterr().err.startswith("ERROR: piplockhook: timed out after 0.1s")
    holder.close()


def test_a_fault_of_ours_is_one_warning_and_pip_runs(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(policy.CommandRun, "for_command", broken)
    seen = []
    command = Command("list", seen)
    assert patches._command_main(command.main, command, ({},), {}) == 0 and seen == [""]
    assert capsys.readouterr().err == "WARNING: piplockhook: running unlocked: RuntimeError('injected fault')\n"


def watching(tmp_path, monkeypatch):
    """(events, around) for the import hook tests: `around` marks events.inside;
    a watched module reads it from sys.modules['plh_events'] as it runs."""
    monkeypatch.syspath_prepend(str(tmp_path))
    events = SimpleNamespace(inside=False, after=[])
    monkeypatch.setitem(sys.modules, "plh_events", events)

    @contextlib.contextmanager
    def around():
        events.inside = True
        yield
        events.inside = False

    return events, around


def test_import_hooks_see_only_their_modules(tmp_path, monkeypatch):
    from piplockhook.pip.importhooks import ImportHooks

    (tmp_path / "plh_watched.py").write_text("import sys\nINSIDE = sys.modules['plh_events'].inside\n")
    (tmp_path / "plh_other.py").write_text("")
    events, around = watching(tmp_path, monkeypatch)
    hooks = ImportHooks()
    hooks.around("plh_watched", around)
    hooks.after("plh_watched", lambda module: events.after.append(module.__name__))
    hooks.after("sys", lambda module: events.after.append("sys, already imported"))
    hooks.insert()
    try:
        assert hooks.find_spec("plh_other") is None  # not watched: not even looked up
        import plh_other  # noqa: F401
        import plh_watched

        assert plh_watched.INSIDE is True and events.inside is False
        assert events.after == ["sys, already imported", "plh_watched"]
    finally:
        hooks.retire()
        for name in ("plh_watched", "plh_other"):
            sys.modules.pop(name, None)
    assert hooks not in sys.meta_path


def test_import_hooks_leave_the_meta_path_at_the_packages_first_submodule(tmp_path, monkeypatch):
    """Stage 2: from pip's first submodule on, only the folders of the watched
    submodules are looked in through us (not every import of the process)."""
    from piplockhook.pip.importhooks import ImportHooks

    inner = tmp_path / "plhpkg" / "inner"
    inner.mkdir(parents=True)
    (tmp_path / "plhpkg" / "__init__.py").write_text("")
    (tmp_path / "plhpkg" / "other.py").write_text("")
    (inner / "__init__.py").write_text("")
    (inner / "watched.py").write_text("import sys\nINSIDE = sys.modules['plh_events'].inside\n")
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    events, around = watching(tmp_path, monkeypatch)
    hooks = ImportHooks(handover="plhpkg")
    hooks.around("plhpkg.inner.watched", around)
    hooks.after("plhpkg.inner.watched", lambda module: events.after.append(module.__name__))
    hooks.insert()
    try:
        import plhpkg.other

        assert hooks not in sys.meta_path
        assert hooks._path_hook in sys.path_hooks  # until the watched folder's finder is made
        import plhpkg.inner.watched

        assert plhpkg.inner.watched.INSIDE is True and events.inside is False
        assert events.after == ["plhpkg.inner.watched"]
        assert hooks._path_hook not in sys.path_hooks
        finder = sys.path_importer_cache[str(inner)]
        assert "find_spec" in vars(finder)  # wrapped on the instance
        hooks.retire()
        assert "find_spec" not in vars(finder)  # the class's own again
    finally:
        hooks.retire()
        for name in [m for m in sys.modules if m == "plhpkg" or m.startswith("plhpkg.")]:
            del sys.modules[name]
        for entry in [e for e in sys.path_importer_cache if e.startswith(str(tmp_path))]:
            del sys.path_importer_cache[entry]


def test_wrap_attribute_wraps_as_wrapt_does():
    """importhooks.wrap_attribute: wrapt's wrap_function_wrapper, without wrapt.patches."""
    import types as _types

    from piplockhook.pip.importhooks import wrap_attribute, wrapt

    calls = []

    def wrapper(wrapped, instance, args, kwargs):
        calls.append((wrapped.__name__, instance))
        return wrapped(*args, **kwargs) + 1

    class Base:
        def main(self, x):
            return x

    class Command(Base):  # main is defined in the base class: wrapped where it is found
        pass

    module = _types.ModuleType("stand_in")
    module.Command = Command
    module.function = lambda x: x
    wrap_attribute(module, "Command.main", wrapper)
    wrap_attribute(module, "function", wrapper)
    command = Command()
    assert command.main(1) == 2 and module.function(1) == 2
    assert isinstance(vars(Command)["main"], wrapt.FunctionWrapper)
    assert not isinstance(vars(Base)["main"], wrapt.FunctionWrapper)  # the base class is left as it is
    assert calls == [("main", command), ("<lambda>", None)]

    loader = SimpleNamespace()
    loader.exec_module = lambda m: 41  # an attribute of this instance only, as a loader's bound method
    wrap_attribute(loader, "exec_module", wrapper)
    assert loader.exec_module(None) == 42 and Base().main(1) == 1


def test_an_upgrade_of_piplockhook_where_it_is_off_keeps_it_off(hooked, tmp_path, monkeypatch):
    from piplockhook import settings

    site = str(tmp_path / "site")
    os.makedirs(os.path.join(site, "piplockhook-1.0.dist-info"))
    open(os.path.join(site, "piplockhook-1.0.dist-info", "RECORD"), "w").close()
    monkeypatch.setattr(writing, "default_enabled", lambda: settings.default_enabled(site))
    monkeypatch.setattr(writing, "our_record", lambda: settings.our_record(site))
    monkeypatch.setattr(writing, "set_default", lambda enabled: settings.set_default(enabled, site))
    settings.set_default(False, site)
    hooked.install_given_reqs_signature = inspect.signature(stand_in_install_given_reqs)

    def upgrade(requirements, **kwargs):  # as pip does: the old RECORD's files go, the new version comes
        os.remove(settings.disabled_marker(site))
        os.rename(os.path.join(site, "piplockhook-1.0.dist-info"), os.path.join(site, "piplockhook-2.0.dist-info"))
        return "installed"

    assert writing.install_given_reqs(upgrade, None, ([SimpleNamespace(name="PipLockHook")],), {}) == "installed"
    assert not settings.default_enabled(site)
    with open(os.path.join(site, "piplockhook-2.0.dist-info", "RECORD")) as f:
        assert f.read() == "piplockhook.disabled,,\n"
    # Another distribution, or piplockhook where it is on: nothing written.
    settings.set_default(True, site)
    assert writing.install_given_reqs(lambda requirements: 0, None, ([SimpleNamespace(name="piplockhook")],), {}) == 0
    assert settings.default_enabled(site)
