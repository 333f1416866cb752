"""The journal and its restore, in one process on a temporary folder (issue 28):
what pip would do is played by hand, each step journaled first."""

import json
import os
import zipfile

import pytest
from inprocess import fresh_process

from piplockhook.journal import FORMAT, Journal, Unreadable, clear_notice, read
from piplockhook.journal.restore import restore
from piplockhook.journal.wheelplan import planned_roots
from piplockhook.report import Reporter

HOST = "here"


@pytest.fixture(autouse=True)
def fresh_state():
    fresh_process()  # warnings are said once per process


def files(root):
    found = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = open(path).read() if os.path.isfile(path) else "dir"
    return found


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture
def env(tmp_path):
    """An environment with pkg 1.0 (a package folder and a script), its lock's journal path."""
    root = tmp_path / "venv"
    put(str(root / "site" / "pkg" / "__init__.py"), "1.0")
    put(str(root / "site" / "pkg-1.0.dist-info" / "RECORD"), "1.0")
    put(str(root / "bin" / "pkg"), "script 1.0")
    return str(root), str(root / ".lock.journal")


def start(journal_path):
    return Journal.start(journal_path, {"pid": 1, "host": "elsewhere", "command": "pip install pkg==2.0", "since": 0})


def stash(journal, src, dst, is_dir):
    journal.append(
        {
            "op": "move",
            "src": src,
            "dst": dst,
            "base": dst if is_dir else os.path.dirname(dst),
            "dir": is_dir,
            "same_fs": True,
        }
    )
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.rename(src, dst)


def upgrade_until(root, journal_path, stop):
    """pip's upgrade of pkg 1.0 to 2.0, journaled, stopped (as by SIGKILL) before `stop`."""
    site, tmp = os.path.join(root, "site"), os.path.join(root, "tmpstash")
    journal = start(journal_path)
    steps = [
        lambda: journal.append({"op": "remove", "name": "pkg", "version": "1.0"}),
        lambda: stash(journal, os.path.join(site, "pkg"), os.path.join(site, "~kg"), True),
        lambda: stash(journal, os.path.join(site, "pkg-1.0.dist-info"), os.path.join(site, "~kg-1.0.dist-info"), True),
        lambda: stash(journal, os.path.join(root, "bin", "pkg"), os.path.join(tmp, "pkg"), False),
        lambda: journal.append(
            {
                "op": "write",
                "name": "pkg",
                "version": "2.0",
                "roots": [os.path.join(site, n) for n in ("pkg", "pkg-2.0.dist-info")]
                + [os.path.join(root, "bin", "pkg")],
            }
        ),
        lambda: put(os.path.join(site, "pkg", "__init__.py"), "2.0"),
        lambda: put(os.path.join(site, "pkg", "new.py"), "2.0"),
        lambda: put(os.path.join(root, "bin", "pkg"), "script 2.0"),
        lambda: put(os.path.join(site, "pkg-2.0.dist-info", "RECORD"), "2.0"),
        lambda: journal.append({"op": "done"}),
        lambda: journal.append({"op": "commit"}),
    ]
    for step in steps[:stop]:
        step()
    journal.release()  # the process is gone: its descriptor with it


@pytest.mark.parametrize("stop", range(12))
def test_every_stop_of_an_upgrade_is_restored_whole_and_twice_changes_nothing(env, stop, capsys):
    root, journal_path = env
    before = files(root)
    upgrade_until(root, journal_path, stop)
    assert restore(journal_path, Reporter(False), HOST)
    after = {k: v for k, v in files(root).items() if not k.startswith("tmpstash")}
    if stop >= 10:  # done: 2.0 is finished, its stash goes
        assert after["site/pkg/__init__.py"] == "2.0" and "site/~kg" not in after and after["bin/pkg"] == "script 2.0"
    else:
        assert after == {k: v for k, v in before.items() if not k.startswith("tmpstash")}
    assert not os.path.exists(journal_path)
    assert restore(journal_path, Reporter(False), HOST)  # nothing left to do
    assert "restored this environment" in capsys.readouterr().err


def test_a_restore_killed_halfway_is_finished_by_the_next(env):
    root, journal_path = env
    before = files(root)
    upgrade_until(root, journal_path, 7)
    # a first restore moved the package back, then died: its journal is still there
    site = os.path.join(root, "site")
    import shutil

    shutil.rmtree(os.path.join(site, "pkg"))
    os.rename(os.path.join(site, "~kg"), os.path.join(site, "pkg"))
    assert restore(journal_path, Reporter(False), HOST)
    assert {k: v for k, v in files(root).items() if not k.startswith("tmpstash")} == {
        k: v for k, v in before.items() if not k.startswith("tmpstash")
    }


def test_a_stash_that_is_gone_is_named_with_its_repair_until_it_is_back(env, capsys):
    root, journal_path = env
    upgrade_until(root, journal_path, 6)
    import shutil

    shutil.rmtree(os.path.join(root, "tmpstash"))  # a reboot emptied /tmp
    restore(journal_path, Reporter(False), HOST)
    err = capsys.readouterr().err
    assert "could not restore pkg 1.0" in err and "pip install --force-reinstall --no-deps pkg==1.0" in err
    assert os.path.exists(journal_path)  # a notice now: nothing in it is replayed
    assert [e["op"] for e in read(journal_path)[1]] == ["lost"]
    fresh_process()
    restore(journal_path, Reporter(False), HOST)
    assert "still damaged" in capsys.readouterr().err
    put(os.path.join(root, "bin", "pkg"), "repaired")  # pip install --force-reinstall did
    fresh_process()
    restore(journal_path, Reporter(False), HOST)
    assert not os.path.exists(journal_path)
    assert capsys.readouterr().err == ""


def test_a_torn_last_line_is_ignored_and_a_damaged_one_is_not_replayed(tmp_path, capsys):
    path = str(tmp_path / "j")
    writer = json.dumps({"pid": 1, "host": "h", "command": "pip", "since": 0})
    with open(path, "w") as f:
        f.write(f'{FORMAT}\n{writer}\n{{"op":"commit"}}\n{{"op":"mo')
    assert read(path)[1] == [{"op": "commit"}]
    with open(path, "w") as f:
        f.write(f'{FORMAT}\n{writer}\n{{"op":"mo\n{{"op":"commit"}}\n')
    with pytest.raises(Unreadable):
        read(path)
    assert not restore(path, Reporter(False), HOST)
    assert "cannot read it" in capsys.readouterr().err and os.path.exists(path)
    assert read(str(tmp_path / "none")) is None


def test_the_journal_is_durable_line_by_line_and_goes_on_close(tmp_path):
    path = str(tmp_path / ".lock.journal")
    journal = start(path)
    journal.append({"op": "commit"}, {"op": "done"})
    with open(path) as f:
        assert f.read().splitlines()[2:] == ['{"op":"commit"}', '{"op":"done"}']
    with pytest.raises(FileExistsError):  # one writer at a time
        start(path)
    journal.close()
    assert not os.path.exists(path)


class Scheme:
    def __init__(self, root):
        for key in ("purelib", "platlib", "headers", "scripts", "data"):
            setattr(self, key, os.path.join(root, key if key in ("scripts", "data") else "site"))


def test_a_wheels_roots_are_its_new_paths_and_only_those(tmp_path):
    wheel = str(tmp_path / "w-2.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("w/__init__.py", "")
        z.writestr("w_mod.py", "")
        z.writestr("w-2.0.data/data/share/w/data.txt", "")
        z.writestr("w-2.0.dist-info/WHEEL", "Root-Is-Purelib: true\n")
        z.writestr("w-2.0.dist-info/entry_points.txt", "[console_scripts]\nwtool = w:main\n")
    root = str(tmp_path / "env")
    os.makedirs(os.path.join(root, "site"))
    os.makedirs(os.path.join(root, "scripts"))
    put(os.path.join(root, "site", "w_mod.py"), "there before")  # overwritten by pip, never removed
    with zipfile.ZipFile(wheel) as opened:
        name, version, roots = planned_roots(opened, Scheme(root))
    assert (name, version) == ("w", "2.0")
    assert sorted(os.path.relpath(r, root) for r in roots) == [
        "data",
        os.path.join("scripts", "wtool"),
        os.path.join("site", "__pycache__"),
        os.path.join("site", "w"),
        os.path.join("site", "w-2.0.dist-info"),
    ]


def test_a_writer_we_could_not_follow_is_named_with_verify(tmp_path, capsys):
    path = str(tmp_path / ".lock.journal")
    journal = start(path)
    journal.append({"op": "blind", "why": "pip internals not found: install_wheel"})
    journal.release()
    assert restore(path, Reporter(False), HOST)
    err = capsys.readouterr().err
    assert "pid 1 on elsewhere, `pip install pkg==2.0`" in err
    assert "what it changed is not known (pip internals not found: install_wheel): run `piplockhook verify`" in err
    # A notice now, said again by every pip until verify clears it.
    assert [e["op"] for e in read(path)[1]] == ["blind"]
    for _ in range(2):
        fresh_process()
        assert restore(path, Reporter(False), HOST)
        err = capsys.readouterr().err
        assert "may still be damaged since a pip died while changing it (pid 1 on elsewhere" in err, err
        assert "run `piplockhook verify`" in err
    assert [e["op"] for e in clear_notice(path)] == ["blind"]
    assert not os.path.exists(path)


def test_a_journal_that_cannot_be_written_is_a_debug_line_and_pip_goes_on(tmp_path, monkeypatch, capsys):
    from piplockhook.pip import hook, journaling

    class Lock:
        path = str(tmp_path / "gone" / ".lock")  # its folder is missing: no journal can be created
        reporter = Reporter(True)

    class Run:
        journaling, journal, journal_end, lock = True, None, None, Lock()

    monkeypatch.setattr(journaling.Journaling, "patched", set(journaling.NEEDED))
    run = Run()
    hook().runs.append(run)
    journaling._record(lambda: [{"op": "commit"}])  # raises nothing
    assert run.journaling is False and run.journal is None
    assert "not journaling this command: FileNotFoundError" in capsys.readouterr().err


def test_a_stash_on_another_filesystem_comes_back_whole(env, monkeypatch):
    root, journal_path = env
    before = files(root)
    upgrade_until(root, journal_path, 8)
    rename = os.rename

    def across(src, dst):  # the stash in the temporary directory is on another filesystem
        if "tmpstash" in str(src):
            raise OSError(18, "Invalid cross-device link")  # EXDEV
        rename(src, dst)

    monkeypatch.setattr(os, "rename", across)
    assert restore(journal_path, Reporter(False), HOST)
    assert {k: v for k, v in files(root).items() if not k.startswith("tmpstash")} == {
        k: v for k, v in before.items() if not k.startswith("tmpstash")
    }
    assert not os.path.exists(os.path.join(root, "bin", "pkg.piplockhook-restore"))


RUN_WRITER = {"pid": 7, "host": HOST, "command": "piplockhook run -x -- make install", "since": 0, "kind": "run"}
RUN_BLIND = {"op": "blind", "why": "run does not journal what its command changes"}


def dead_run(path):
    """The journal a `piplockhook run -x` killed with SIGKILL leaves."""
    journal = Journal.start(path, RUN_WRITER)
    journal.append(RUN_BLIND)
    journal.release()


def test_a_dead_run_is_named_as_one_then_said_again_until_cleared(tmp_path, capsys):
    path = str(tmp_path / ".lock.journal")
    dead_run(path)
    restore(path, Reporter(False), HOST)
    assert capsys.readouterr().err.startswith(
        "WARNING: piplockhook: a `piplockhook run -x` command died while changing this environment (pid 7, "
        "`piplockhook run -x -- make install`, started "
    )
    fresh_process()
    restore(path, Reporter(False), HOST)
    err = capsys.readouterr().err
    assert "this environment may still be damaged since a `piplockhook run -x` command died" in err
    assert err.rstrip().endswith(
        "what it changed is not known (run does not journal what its command changes): run `piplockhook verify`"
    )


def test_a_writer_carries_a_notice_and_leaves_it_however_it_ends(tmp_path, capsys):
    path = str(tmp_path / ".lock.journal")
    dead_run(path)
    restore(path, Reporter(False), HOST)
    notice = open(path).read()
    for end in ("close", "discard"):
        journal = start(path)  # a pip that writes meanwhile: its own entries beside the notice
        journal.append({"op": "commit"})
        assert [e["op"] for e in read(path)[1]] == ["blind", "commit"]
        getattr(journal, end)()
        assert open(path).read() == notice, end
    journal = start(path)  # and one that dies: its restore keeps the notice, naming both writers
    journal.append({"op": "remove", "name": "pkg", "version": "1.0"})
    journal.release()
    fresh_process()
    capsys.readouterr()
    restore(path, Reporter(False), HOST)
    err = capsys.readouterr().err
    assert "restored this environment after a pip died while changing it (pid 1 on elsewhere" in err, err
    assert "what a `piplockhook run -x` command (pid 7, `piplockhook run -x -- make install`" in err
    assert [e["op"] for e in read(path)[1]] == ["blind"]


def test_only_a_notice_is_cleared_never_a_writers_journal(tmp_path):
    path = str(tmp_path / ".lock.journal")
    assert clear_notice(path) == []
    journal = start(path)
    journal.append({"op": "commit"})
    assert clear_notice(path) == [] and os.path.exists(path)
    with pytest.raises(FileExistsError):  # and no writer starts over it
        start(path)
    journal.close()
    assert not os.path.exists(path)


def test_what_is_pending_is_read_without_changing_anything(tmp_path):
    from piplockhook.journal.restore import JOURNAL, NOTICE, UNREADABLE, pending

    path = str(tmp_path / ".lock.journal")
    assert pending(path, HOST) == ("", {}, "")
    dead_run(path)
    before = open(path).read()
    kind, writer, _ = pending(path, HOST)
    assert (kind, writer["pid"]) == (JOURNAL, 7)  # a writer's own: living, or dead and not yet restored
    assert open(path).read() == before
    restore(path, Reporter(False), HOST)
    kind, _, said = pending(path, HOST)
    assert kind == NOTICE and said.startswith("this environment may still be damaged since a `piplockhook run -x`")
    assert said.endswith(NOT_KNOWN_RUN)
    with open(path, "w") as f:
        f.write("something else\n")
    assert pending(path, HOST)[0] == UNREADABLE


NOT_KNOWN_RUN = "what it changed is not known (run does not journal what its command changes): run `piplockhook verify`"
