"""Pure logic of `piplockhook verify`, called directly on directories these
tests unpack from their own wheels (the fast tier; tests/slow/test_verify.py runs
the command against real pips)."""

import base64
import hashlib
import io
import os
import zipfile

import pytest
from plh_backend import _record_hash, write_wheel

from piplockhook import verify
from piplockhook.verify import distinfo


def unpack(wheel, site):
    """What a wheel install writes, minus scripts and .pyc: the wheel's files."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)


def install(tmp_path, site, name, version, files, installer="pip", **kw):
    unpack(write_wheel(str(tmp_path), name, version, files, **kw), site)
    if installer:  # pip writes it, then its own RECORD, which lists it
        record_installer(site, f"{name}-{version}.dist-info", installer)


def record_installer(site, info, installer):
    data = (installer + "\n").encode()
    with open(os.path.join(site, info, "INSTALLER"), "wb") as f:
        f.write(data)
    with open(os.path.join(site, info, "RECORD"), "a") as f:
        f.write(f"{info}/INSTALLER,{_record_hash(data)},{len(data)}\n")


def scope(site):
    return verify.Scope([site], "python -m pip install")


def kinds(result):
    return [(p.kind, p.distribution) for p in result.problems]


@pytest.mark.parametrize(
    ("name", "normal"), [("Foo_Bar", "foo-bar"), ("foo.bar", "foo-bar"), ("FOO--_.bar", "foo-bar"), ("x", "x")]
)
def test_names_are_normalized_as_pep_503_says(name, normal):
    assert distinfo.normalize(name) == normal


def test_record_rows_give_size_and_the_urlsafe_unpadded_digest(tmp_path):
    data = b"print('hi')\n" * 7
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    text = f"pkg/a.py,sha256={digest},{len(data)}\npkg/__pycache__/a.cpython-311.pyc,,\npkg-1.0.dist-info/RECORD,,\n"
    a, pyc, record = distinfo.parse_record(io.StringIO(text), str(tmp_path))
    assert (a.listed, a.algorithm, a.digest, a.size) == ("pkg/a.py", "sha256", hashlib.sha256(data).digest(), 84)
    assert a.path == os.path.join(str(tmp_path), "pkg", "a.py")
    assert (pyc.digest, pyc.size, record.algorithm) == (None, None, "")


def test_a_record_row_that_is_not_three_fields_is_named_by_its_line():
    with pytest.raises(ValueError, match="RECORD line 2 has 2 fields"):
        distinfo.parse_record(io.StringIO("a.py,,\nb.py,sha256=x\n"), "/site")
    with pytest.raises(ValueError, match="RECORD line 1 is not path,hash,size"):
        distinfo.parse_record(io.StringIO("a.py,sha256=abc,12x\n"), "/site")


def test_modules_are_found_on_disk_without_importing(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.py").write_text("raise SystemExit('imported!')\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "__init__.py").write_text("")
    (tmp_path / "ext.cpython-311-x86_64-linux-gnu.so").write_text("")
    (tmp_path / "bare").mkdir()  # a namespace package has no attribute to call
    found = lambda m: distinfo.module_present(m, [str(tmp_path / "elsewhere"), str(tmp_path)])  # noqa: E731
    assert found("a.b") and found("c")
    assert not found("a") and not found("bare") and not found("a.c") and not found("nothing")
    assert found("ext") == any(s == ".cpython-311-x86_64-linux-gnu.so" for s in distinfo.MODULE_SUFFIXES)


def test_a_clean_directory_and_every_kind_of_damage(tmp_path):
    site = str(tmp_path / "site")
    files = {f"demo/m{i}.py": f"VALUE = {i}\n" * 50 for i in range(5)}
    install(tmp_path, site, "demo", "1.0", files, entry_points="[console_scripts]\ndemo = demo.m0:main\n")
    install(tmp_path, site, "other", "2.0", {"other.py": "X = 1\n"})
    result = verify.find_problems([scope(site)], quick=False)
    assert kinds(result) == [] and result.distributions == 2
    assert result.files == 5 + 1 + 4 * 2 + 1  # and METADATA, WHEEL, RECORD, INSTALLER each; demo's entry_points.txt
    os.remove(os.path.join(site, "demo", "m0.py"))  # missing, and the console script's module with it
    with open(os.path.join(site, "demo", "m1.py"), "r+") as f:  # truncated
        f.truncate(10)
    with open(os.path.join(site, "demo", "m2.py"), "r+") as f:  # same size, other bytes
        f.write("VALUE = 9")
    os.remove(os.path.join(site, "other-2.0.dist-info", "RECORD"))
    os.mkdir(os.path.join(site, "~emo"))
    result = verify.find_problems([scope(site)], quick=False)
    assert kinds(result) == [
        ("leftover", "~emo"),  # stashes first: moving one back can repair what follows
        ("missing", "demo 1.0"),
        ("size", "demo 1.0"),
        ("hash", "demo 1.0"),
        ("entry-point", "demo 1.0"),
        ("no-record", "other 2.0"),
    ]
    leftover, missing, size, _, entry_point, no_record = result.problems
    assert missing.files == ["demo/m0.py"] and size.files == ["demo/m1.py"]
    assert missing.repair == "python -m pip install --force-reinstall --no-deps demo==1.0"
    assert "console script demo names module demo.m0, which is missing" in entry_point.line()
    info = os.path.join(site, "other-2.0.dist-info")
    assert no_record.repair == f"rm -rf {info} && python -m pip install --force-reinstall --no-deps other==2.0"
    assert leftover.repair == f"rm -rf '{os.path.join(site, '~emo')}'"
    # --quick sees what is missing or of another size, not what has another hash.
    assert "hash" not in [k for k, _ in kinds(verify.find_problems([scope(site)], quick=True))]


def test_of_two_dist_infos_the_one_whose_files_match_is_kept(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "demo", "1.0", {"demo/a.py": "A = 1\n", "demo/old.py": ""})
    install(tmp_path, site, "Demo", "2.0", {"demo/a.py": "A = 2\n"})  # written over 1.0: demo/a.py is 2.0's
    (problem,) = verify.find_problems([scope(site)], quick=False).problems
    assert (problem.kind, problem.distribution) == ("duplicate", "Demo 2.0")
    stale = os.path.join(site, "demo-1.0.dist-info")
    assert problem.repair == f"rm -rf {stale} && python -m pip install --force-reinstall --no-deps Demo==2.0"
    assert "the stale one: demo-1.0.dist-info" in problem.detail


def test_half_written_and_metadata_less_dist_infos(tmp_path):
    site = str(tmp_path / "site")
    install(tmp_path, site, "demo", "1.0", {"demo/a.py": ""})
    install(tmp_path, site, "other", "2.0", {"other.py": ""})
    os.rename(
        os.path.join(site, "demo-1.0.dist-info", "RECORD"), os.path.join(site, "demo-1.0.dist-info", "RECORDx1.tmp")
    )
    os.remove(os.path.join(site, "other-2.0.dist-info", "METADATA"))
    found = {p.kind: p for p in verify.find_problems([scope(site)], quick=False).problems}
    assert sorted(found) == ["half-written", "no-metadata"]
    assert "never finished: no RECORD, pip's RECORDx1.tmp" in found["half-written"].detail
    assert found["no-metadata"].distribution == "other 2.0"  # from the directory's name


def test_progress_is_drawn_on_a_terminal_only(tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    site = str(tmp_path / "site")
    install(tmp_path, site, "demo", "1.0", {"demo/a.py": "x" * 1000})
    shown, piped = Terminal(), io.StringIO()
    verify.find_problems([scope(site)], quick=False, progress=shown)
    verify.find_problems([scope(site)], quick=False, progress=piped)
    assert "piplockhook verify: 1/5 files, 0.0/0.0 MB" in shown.getvalue() and shown.getvalue().endswith("\r")
    assert piped.getvalue() == ""


def test_files_another_installer_changed_are_its_business(tmp_path):
    # Debian patches files after the wheel's RECORD was written (and leaves no
    # INSTALLER), conda rewrites prefixes: only what is missing counts there,
    # and pip is not the tool to repair it.
    site = str(tmp_path / "site")
    install(tmp_path, site, "debianized", "1.0", {"deb/a.py": "A = 1\n", "deb/b.py": ""}, installer="")
    install(tmp_path, site, "condaish", "2.0", {"condaish.py": "X = 1\n"}, installer="conda")
    with open(os.path.join(site, "deb", "a.py"), "w") as f:
        f.write("A = 2  # patched\n")
    with open(os.path.join(site, "condaish.py"), "w") as f:
        f.write("X = 2\n")
    assert verify.find_problems([scope(site)], quick=False).problems == []
    os.remove(os.path.join(site, "deb", "b.py"))
    (problem,) = verify.find_problems([scope(site)], quick=False).problems
    assert problem.kind == "missing" and problem.files == ["deb/b.py"]
    assert problem.repair == "reinstall debianized 1.0 with the tool that installed it (no INSTALLER file: not pip)"
