"""What a pip stopped while it changed files leaves, crafted on disk exactly as
pip leaves it (its stash names, its order of writing), and what verify says
and repairs: a stash that is the only copy is moved back, never removed; one
beside a complete original is removed; files no RECORD owns are seen; an
unfinished .dist-info is pip's to reinstall (tests/slow/test_verify_killed.py
makes the same states by killing real pips)."""

import itertools
import os
import shlex
import shutil
import tempfile
import zipfile

import pytest
from plh_backend import write_wheel
from test_verify_problems import record_installer

from piplockhook import verify
from piplockhook.verify import stashes, unowned


def install(tmp_path, site, name, version, files, installer="pip"):
    """A wheel's files as pip writes them: all, then INSTALLER (then RECORD: in the wheel here)."""
    with zipfile.ZipFile(write_wheel(str(tmp_path), name, version, files)) as zf:
        zf.extractall(site)
    if installer:  # and its own RECORD, which lists it
        record_installer(site, f"{name.replace('-', '_')}-{version}.dist-info", installer)


def package(name, version, count):
    files = {f"{name}/m{i}.py": f"# {version}\nVALUE = {i}\n" for i in range(count)}
    files[f"{name}/__init__.py"] = f"VERSION = {version!r}\n"
    return files


def check(site):
    return verify.find_problems([verify.Scope([site], "python -m pip install")], quick=False)


def kinds(result):
    return [(p.kind, p.distribution) for p in result.problems]


def repair(site):
    """What `verify --repair` does, without its lock: each problem's own steps."""
    for problem in check(site).problems:
        verify.apply(problem.actions)
    return check(site)


def tree(site):
    found = {}
    for folder, _, names in os.walk(site):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, site)] = f.read()
    return found


def pip_names(name):
    """pip's own AdjacentTempDirectory._generate_names (pip 21.3 to 26), the first ones."""
    for i in range(1, len(name)):
        for candidate in itertools.combinations_with_replacement(stashes.LEADING_CHARS, i - 1):
            yield "~" + "".join(candidate) + name[i:]
    for i in range(len(stashes.LEADING_CHARS)):
        for candidate in itertools.combinations_with_replacement(stashes.LEADING_CHARS, i):
            yield "~" + "".join(candidate) + name


TOOL_SCRIPT = "[console_scripts]\nplhtool = plhtool:main\n"


@pytest.mark.parametrize("name", ["plhbig", "plhbig-1.0.dist-info", "ab", "x1"])
def test_every_name_pip_gives_a_stash_is_known_and_no_other(name):
    names = list(itertools.islice(pip_names(name), 3000))
    assert all(stashes.is_stash_of(n, name) for n in names if n != name)
    assert not stashes.is_stash_of("~lhbig", "plhbigger") and not stashes.is_stash_of("plhbig", "plhbig")
    assert not stashes.is_stash_of("~xhbig", "plhbig") and not stashes.is_stash_of("~~", "plhbig")


@pytest.fixture
def upgraded(tmp_path):
    """`pip install plhbig==2.0` over 1.0, stopped after it stashed 1.0 and
    wrote 2 of 2.0's 6 files: no .dist-info of 2.0 yet (it comes last)."""
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhbig", "1.0", package("plhbig", "1.0", 5))
    before = tree(site)
    os.rename(os.path.join(site, "plhbig"), os.path.join(site, "~lhbig"))
    os.rename(os.path.join(site, "plhbig-1.0.dist-info"), os.path.join(site, "~lhbig-1.0.dist-info"))
    os.mkdir(os.path.join(site, "plhbig"))
    for name in ("m0.py", "m1.py"):
        with open(os.path.join(site, "plhbig", name), "w") as f:
            f.write("# 2.0\n")
    return site, before


def test_a_stash_whose_original_is_half_written_is_moved_back_never_removed(upgraded):
    site, before = upgraded
    result = check(site)
    assert kinds(result) == [("stash", "plhbig 1.0"), ("stash", "plhbig 1.0")]  # not `unowned`: moved back over
    folder, info = result.problems
    assert "~lhbig-1.0.dist-info of plhbig-1.0.dist-info, the only copy (the original is missing)" in info.detail
    assert "the only copy (the original holds only files no RECORD lists" in folder.detail
    stash, original = os.path.join(site, "~lhbig"), os.path.join(site, "plhbig")
    assert folder.repair == f"rm -rf {original} && mv {shlex.quote(stash)} {original}"
    assert not any(a.verb == "remove" and "~" in a.path for p in result.problems for a in p.actions)
    assert "`piplockhook verify --repair` makes 2 of them itself" in result.summary()
    assert repair(site).problems == [] and tree(site) == before


def test_an_unfinished_new_dist_info_goes_with_the_move_back(upgraded, tmp_path):
    # Stopped later: every file of 2.0 and its METADATA written, not INSTALLER nor RECORD.
    site, before = upgraded
    with zipfile.ZipFile(write_wheel(str(tmp_path), "plhbig", "2.0", package("plhbig", "2.0", 5))) as zf:
        zf.extractall(site)
    os.remove(os.path.join(site, "plhbig-2.0.dist-info", "RECORD"))
    result = check(site)
    assert kinds(result) == [("stash", "plhbig 1.0"), ("stash", "plhbig 1.0")]
    assert result.problems[1].actions[0] == verify.Action("remove", os.path.join(site, "plhbig-2.0.dist-info"))
    assert repair(site).problems == [] and tree(site) == before


def test_a_new_version_stopped_before_its_installer_file_is_not_complete(upgraded, tmp_path):
    # Stopped after the wheel's own RECORD was written (it lists every file of
    # 2.0, all there) and before INSTALLER: not 2.0 complete, but 1.0 moved back.
    site, before = upgraded
    shutil.rmtree(os.path.join(site, "plhbig"))
    install(tmp_path, site, "plhbig", "2.0", package("plhbig", "2.0", 5), installer="")
    result = check(site)
    assert kinds(result) == [("stash", "plhbig 1.0"), ("stash", "plhbig 1.0")]
    assert repair(site).problems == [] and tree(site) == before


def test_a_new_version_stopped_while_pip_wrote_its_record_is_not_complete(upgraded, tmp_path):
    site, before = upgraded
    shutil.rmtree(os.path.join(site, "plhbig"))
    install(tmp_path, site, "plhbig", "2.0", package("plhbig", "2.0", 5))  # INSTALLER written
    with open(os.path.join(site, "plhbig-2.0.dist-info", "RECORDk3j4.tmp"), "w") as f:
        f.write("plhbig/__init__.py,")  # pip's own RECORD, cut short
    assert kinds(check(site)) == [("stash", "plhbig 1.0"), ("stash", "plhbig 1.0")]
    assert repair(site).problems == [] and tree(site) == before


def test_a_new_version_stopped_before_pip_wrote_its_own_record_is_not_complete(upgraded, tmp_path):
    # INSTALLER written, RECORD still the wheel's (pip's own lists INSTALLER, scripts, .pyc).
    site, _ = upgraded
    shutil.rmtree(os.path.join(site, "plhbig"))
    install(tmp_path, site, "plhbig", "2.0", package("plhbig", "2.0", 5), installer="")
    with open(os.path.join(site, "plhbig-2.0.dist-info", "INSTALLER"), "w") as f:
        f.write("pip\n")
    assert kinds(check(site)) == [("stash", "plhbig 1.0"), ("stash", "plhbig 1.0")]
    shutil.rmtree(os.path.join(site, "~lhbig-1.0.dist-info"))  # then whose ~lhbig is cannot be told
    kept, unfinished = check(site).problems
    assert (kept.kind, kept.actions) == ("stash", []) and "kept: plhbig 2.0 is half-written there" in kept.detail
    assert unfinished.kind == "half-written" and "RECORD still the wheel's" in unfinished.detail


def test_a_stash_beside_a_complete_new_version_is_removed(upgraded, tmp_path):
    # Stopped after 2.0 was written whole (RECORD last), before pip deleted the stash.
    site, _ = upgraded
    shutil.rmtree(os.path.join(site, "plhbig"))
    install(tmp_path, site, "plhbig", "2.0", package("plhbig", "2.0", 5))
    result = check(site)
    assert kinds(result) == [("leftover", "plhbig 1.0"), ("leftover", "plhbig 1.0")]
    folder, info = result.problems
    assert info.detail.endswith("not needed: plhbig 2.0 is installed complete in its place")
    assert folder.detail.endswith("not needed: its original is there, complete (plhbig 2.0)")
    assert folder.repair == f"rm -rf {shlex.quote(os.path.join(site, '~lhbig'))}"
    assert repair(site).problems == [] and sorted(os.listdir(site)) == ["plhbig", "plhbig-2.0.dist-info"]


def test_a_stash_is_kept_while_the_version_beside_it_is_damaged(upgraded, tmp_path):
    site, _ = upgraded
    shutil.rmtree(os.path.join(site, "plhbig"))
    install(tmp_path, site, "plhbig", "2.0", package("plhbig", "2.0", 5))
    os.remove(os.path.join(site, "plhbig", "m3.py"))
    result = check(site)
    kept = [p for p in result.problems if p.kind == "stash"]
    assert len(kept) == 2 and not any(p.actions for p in kept)
    assert "kept: plhbig 2.0 is installed there too and damaged" in kept[0].detail
    assert kept[0].repair == "python -m pip install --force-reinstall --no-deps plhbig==2.0"
    assert os.path.isdir(os.path.join(site, "~lhbig"))  # and nothing changed


def test_an_uninstall_stopped_after_the_package_moved_is_moved_back(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhsmall", "1.0", package("plhsmall", "1.0", 3))
    before = tree(site)
    os.rename(os.path.join(site, "plhsmall"), os.path.join(site, "~lhsmall"))
    result = check(site)
    assert kinds(result) == [("stash", "plhsmall 1.0")]  # its files missing: what the move brings back
    stash = shlex.quote(os.path.join(site, "~lhsmall"))
    assert result.problems[0].repair == f"mv {stash} {os.path.join(site, 'plhsmall')}"
    assert repair(site).problems == [] and tree(site) == before


def test_an_empty_stash_and_one_no_record_names(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhsmall", "1.0", package("plhsmall", "1.0", 1))
    os.mkdir(os.path.join(site, "~lhsmall"))  # made by pip, which was stopped before the move
    os.mkdir(os.path.join(site, "~nknown"))
    with open(os.path.join(site, "~nknown", "data"), "w") as f:
        f.write("someone's\n")
    result = check(site)
    assert kinds(result) == [("leftover", "~lhsmall"), ("unowned", "~nknown")]
    empty, unknown = result.problems
    assert "empty (pip made it and was stopped before it moved anything in)" in empty.detail
    assert unknown.actions == [] and "of nothing a RECORD lists" in unknown.detail
    assert unknown.repair == f"if nothing needs it: rm -rf {shlex.quote(unknown.path)}"
    assert kinds(repair(site)) == [("unowned", "~nknown")]
    assert os.path.exists(os.path.join(site, "~nknown", "data"))


def test_a_stash_pip_was_deleting_when_it_was_stopped(tmp_path):
    # pip deletes its stashes once the command is done; stopped in the middle,
    # the .dist-info stash may have lost its RECORD: nothing to move back.
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhsmall", "1.0", package("plhsmall", "1.0", 1))
    shutil.rmtree(os.path.join(site, "plhsmall"))
    os.rename(os.path.join(site, "plhsmall-1.0.dist-info"), os.path.join(site, "~lhsmall-1.0.dist-info"))
    os.remove(os.path.join(site, "~lhsmall-1.0.dist-info", "RECORD"))
    (problem,) = check(site).problems
    assert problem.kind == "leftover" and "pip was deleting it when it was stopped" in problem.detail
    assert repair(site).problems == [] and os.listdir(site) == []


def test_a_nested_stash_in_a_shared_namespace_folder(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "ns-a", "1.0", {"ns/alpha/__init__.py": "A = 1\n"})
    install(tmp_path, site, "ns-b", "1.0", {"ns/beta/__init__.py": "B = 1\n"})
    os.rename(os.path.join(site, "ns", "alpha"), os.path.join(site, "ns", "~lpha"))  # ns/ is not all ns-a's
    result = check(site)
    assert kinds(result) == [("stash", "ns-a 1.0")] and result.problems[0].path == os.path.join(site, "ns", "~lpha")
    assert repair(site).problems == []


def test_an_unfinished_dist_info_without_installer_is_reinstalled_with_pip(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhnew", "1.0", package("plhnew", "1.0", 2), installer="")
    os.remove(os.path.join(site, "plhnew-1.0.dist-info", "RECORD"))
    (problem,) = check(site).problems  # its files are not reported apart: the reinstall writes them
    info = os.path.join(site, "plhnew-1.0.dist-info")
    assert (problem.kind, problem.distribution) == ("half-written", "plhnew 1.0")
    assert "no INSTALLER, no RECORD (pip was stopped)" in problem.detail
    assert problem.repair == f"rm -rf {info} && python -m pip install --force-reinstall --no-deps plhnew==1.0"
    assert problem.actions == []  # needs the wheel: the user's to run


def test_a_fresh_install_stopped_before_its_scripts_and_installer_file(tmp_path):
    site, scripts = str(tmp_path / "site"), str(tmp_path / "bin")
    os.makedirs(scripts)
    with zipfile.ZipFile(
        write_wheel(str(tmp_path), "plhtool", "1.0", {"plhtool.py": "def main(): pass\n"}, entry_points=TOOL_SCRIPT)
    ) as zf:
        zf.extractall(site)  # the wheel's RECORD too: pip had yet to compile, write the script, INSTALLER
    scope = verify.Scope([site], "python -m pip install", scripts=scripts)
    (problem,) = verify.find_problems([scope], quick=False).problems
    assert (problem.kind, problem.distribution) == ("half-written", "plhtool 1.0")
    assert "no INSTALLER, and its console script plhtool never written (pip was stopped)" in problem.detail
    assert problem.repair.endswith(" && python -m pip install --force-reinstall --no-deps plhtool==1.0")
    with open(os.path.join(scripts, "plhtool"), "w") as f:  # written: then only INSTALLER is missing, as
        f.write("#!/bin/sh\n")  # another tool leaves it (legacy installers never wrote one)
    assert verify.find_problems([scope], quick=False).problems == []


def test_a_file_in_pips_temporary_stash_is_moved_back_only_if_it_is_the_one_record_lists(tmp_path, monkeypatch):
    # A top-level module (and a console script) goes to $TMPDIR/pip-uninstall-*/ when removed.
    site, temp = str(tmp_path / "site"), tmp_path / "tmp"
    install(tmp_path, site, "plhone", "1.0", {"plhone.py": "VALUE = 1\n"})
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (temp / "pip-uninstall-abc123").mkdir(parents=True)
    (temp / "pip-uninstall-xyz789").mkdir()
    (temp / "pip-uninstall-xyz789" / "plhone.py").write_text("VALUE = 2\n")  # another file of that name
    os.rename(os.path.join(site, "plhone.py"), temp / "pip-uninstall-abc123" / "plhone.py")
    (problem,) = check(site).problems
    assert (problem.kind, problem.files) == ("stash", ["plhone.py"])
    assert "the only copy in pip's stash in its temporary folder" in problem.detail
    stashed = temp / "pip-uninstall-abc123" / "plhone.py"
    assert problem.actions == [verify.Action("copy", str(stashed), os.path.join(site, "plhone.py"))]
    assert problem.repair == f"cp -p {stashed} {os.path.join(site, 'plhone.py')}"
    assert repair(site).problems == [] and stashed.exists()  # copied: it may be a live pip's of elsewhere
    os.remove(os.path.join(site, "plhone.py"))
    with open(stashed, "a") as f:
        f.write("# changed\n")
    (problem,) = check(site).problems  # not the file RECORD lists: a reinstall, nothing copied
    assert (problem.kind, problem.actions) == ("missing", [])


def test_files_no_record_owns_and_what_is_never_reported(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "plhsmall", "1.0", package("plhsmall", "1.0", 1))
    quiet = {
        "__pycache__/x.cpython-311.pyc": "",
        "other-tool.pth": "import os\n",
        ".lock": "",
        "sitecustomize.py": "",
        "README.txt": "",
        "not-a-module.py": "",
        "legacy-1.0.egg-info/top_level.txt": "legacy\n",
        "legacy/__init__.py": "",
        "Old_Thing-2.0.egg-info/PKG-INFO": "",
        "old_thing.py": "",
        "debianized-1.0.dist-info/METADATA": "Name: debianized\nVersion: 1.0\n",
        "debianized-1.0.dist-info/INSTALLER": "debian\n",
        "debianized-1.0.dist-info/top_level.txt": "deb\n",
        "deb/__init__.py": "",
        "dev.egg-link": "/src/dev\n",
        "plhsmall/__pycache__/stray.cpython-311.pyc": "",
        "plhsmall/written_by_a_program.py": "",  # inside an owned folder: never
    }
    for relative, text in quiet.items():
        os.makedirs(os.path.dirname(os.path.join(site, relative)), exist_ok=True)
        with open(os.path.join(site, relative), "w") as f:
            f.write(text)
    # (a .dist-info with no RECORD is a problem of its own, as before: not its files)
    assert [p.line() for p in check(site).problems if p.kind != "no-record"] == []
    os.makedirs(os.path.join(site, "plhbig", "sub"))
    for relative in ("plhbig/__init__.py", "plhbig/sub/m.py", "loose.py"):
        with open(os.path.join(site, relative), "w") as f:
            f.write("")
    result = check(site)
    result.problems = [p for p in result.problems if p.kind != "no-record"]
    assert kinds(result) == [("unowned", "loose.py"), ("unowned", "plhbig")]
    assert result.problems[1].detail.startswith("a folder of 2 files that no installed RECORD lists (left by a pip")
    assert result.problems[1].repair.endswith(f"; if none: rm -rf {os.path.join(site, 'plhbig')}")
    assert not any(p.actions for p in result.problems)  # maybe someone's only copy: never removed by verify
    assert "`piplockhook verify --repair`" not in result.summary()
    assert "debianized 1.0: debianized-1.0.dist-info has no RECORD" in check(site).problems[0].line()


def test_module_names_of_entries():
    assert unowned.module_name("pkg", True) == "pkg" and unowned.module_name("mod.py", False) == "mod"
    assert unowned.module_name("not-a-pkg", True) == "" and unowned.module_name("data.txt", False) == ""
    assert unowned.module_name("1abc.py", False) == ""


def test_a_move_back_never_replaces_what_appeared_meanwhile(tmp_path):
    stash, original = str(tmp_path / "~lhbig"), str(tmp_path / "plhbig")
    os.mkdir(stash)
    os.mkdir(original)
    with pytest.raises(verify.RepairError, match=r"exists: .* was not moved back over it"):
        verify.apply([verify.Action("move", stash, original)])
    assert os.path.isdir(stash)
