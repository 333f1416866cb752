"""What installing the wheel puts at startup, and what it costs non-pip processes."""

import os
import sys

import pytest

pytestmark = pytest.mark.slow

PROBE = "import sys; print(sorted(m for m in sys.modules if m.startswith(('piplockhook','wrapt'))))"
# A script named `pip` looks like pip to the gate: it counts the import hooks
# that the gate registered (pip.patches.install adds one finder per call).
GUARDS = "import sys; print(sum(type(f).__name__ == 'ImportHooks' for f in sys.meta_path))"


def test_wheel_drops_the_pth_line_and_no_start_file(venv):
    site = venv.site_packages
    with open(os.path.join(site, "piplockhook.pth")) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("import sys;")
    # A PEP 829 .start would make every Python 3.15 start ~1.7x slower
    # (benchmarks/startup.py); the .pth line runs through 3.17.
    assert not os.path.exists(os.path.join(site, "piplockhook.start"))


def run_as_pip(venv, tmp_path, code):
    folder = tmp_path / "as-pip"
    folder.mkdir(exist_ok=True)
    (folder / "pip").write_text(code)
    return venv.run([venv.python, str(folder / "pip")]).stdout.strip()


def test_this_python_runs_the_startup_file_the_wheel_ships(venv, tmp_path):
    """Fails on the first Python that stops running .pth import lines (PEP 829:
    3.18) while the wheel still ships no piplockhook.start: protection must
    never vanish silently."""
    ships_start = os.path.exists(os.path.join(venv.site_packages, "piplockhook.start"))
    assert ships_start or sys.version_info[:2] < (3, 18), (
        "PEP 829: from Python 3.18 import lines in .pth files are ignored; ship piplockhook.start "
        "(piplockhook:start) for this Python, see docs/startup.md"
    )
    # And the gate really ran in a pip process, exactly once (venvs run .pth
    # lines twice up to 3.14, cpython#75723), and in no other process.
    assert run_as_pip(venv, tmp_path, GUARDS) == "1"
    assert venv.run([venv.python, "-c", GUARDS]).stdout.strip() == "0"


@pytest.mark.skipif(sys.version_info < (3, 15), reason="PEP 829 .start files arrive in Python 3.15")
def test_the_gate_is_ready_to_be_a_pep_829_start_entry(make_venv, tmp_path):
    """What a wheel shipping `piplockhook.start` would do on 3.15+: the .start
    entry replaces the .pth line, locks pip, runs the gate once, and loads
    nothing beyond the package (the gate) in other processes."""
    venv = make_venv()
    with open(os.path.join(venv.site_packages, "piplockhook.start"), "w") as f:
        f.write("piplockhook:start\n")
    result = venv.pip("list", env=venv.env(PIPLOCKHOOK_DEBUG="1"))
    assert f"acquired shared lock {venv.lock_path}" in result.stderr
    assert run_as_pip(venv, tmp_path, GUARDS) == "1"
    assert venv.run([venv.python, "-c", PROBE]).stdout.strip() == "['piplockhook']"
    assert venv.run([venv.python, "-c", GUARDS]).stdout.strip() == "0"
    status = venv.run([os.path.join(venv.bin, "piplockhook"), "status"]).stdout
    assert "active: every pip run" in status
    os.remove(os.path.join(venv.site_packages, "piplockhook.pth"))  # the .start alone is enough
    assert run_as_pip(venv, tmp_path, GUARDS) == "1"


@pytest.mark.parametrize(
    "args",
    [
        ["-c", PROBE],
        ["-I", "-c", PROBE],
    ],
)
def test_non_pip_processes_load_nothing_of_ours(venv, args):
    result = venv.run([venv.python, *args])
    assert result.stdout.strip() == "[]"
    assert result.stderr == ""


def test_script_and_repl_load_nothing_of_ours(venv, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(PROBE)
    assert venv.run([venv.python, str(script)]).stdout.strip() == "[]"
    assert venv.run([venv.python, "-"], input=PROBE).stdout.strip() == "[]"


def pip_entry_points(venv):
    major_minor = venv.run([venv.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).stdout.strip()
    return {
        "pip": [os.path.join(venv.bin, "pip")],
        "pip3": [os.path.join(venv.bin, "pip3")],
        f"pip{major_minor}": [os.path.join(venv.bin, f"pip{major_minor}")],
        "python -m pip": [venv.python, "-m", "pip"],
        "python -Im pip": [venv.python, "-Im", "pip"],
        "python -mpip": [venv.python, "-mpip"],
    }


def test_every_way_of_starting_pip_takes_the_lock(venv):
    for name, command in pip_entry_points(venv).items():
        result = venv.run([*command, "list"], env=venv.env(PIPLOCKHOOK_DEBUG="1"))
        assert f"acquired shared lock {venv.lock_path}" in result.stderr, name
        assert f"released shared lock {venv.lock_path}" in result.stderr, name


def test_opt_out_loads_nothing_and_locks_nothing(venv):
    for word in ("0", "off", "false", "no", "OFF"):
        result = venv.pip("list", env=venv.env(PIPLOCKHOOK=word, PIPLOCKHOOK_DEBUG="1"))
        assert "piplockhook:" not in result.stderr, word


@pytest.mark.parametrize("word", ["1", "on", "true", "yes"])
def test_opt_in_words(venv, word):
    result = venv.pip("list", env=venv.env(PIPLOCKHOOK=word, PIPLOCKHOOK_DEBUG="1"))
    assert "acquired shared lock" in result.stderr


def lock_events(venv):
    stderr = venv.pip("list", env=venv.env(PIPLOCKHOOK_DEBUG="1")).stderr
    return [line.split()[1] for line in stderr.splitlines() if line.startswith("piplockhook:")]


def test_uninstalling_piplockhook_with_the_hook_active_removes_its_files(make_venv):
    venv = make_venv()
    site = venv.site_packages
    events = lock_events(venv)
    result = venv.pip("uninstall", "-y", "piplockhook", env=venv.env(PIPLOCKHOOK_DEBUG="1"))
    assert "acquired exclusive lock" in result.stderr
    assert "released exclusive lock" in result.stderr  # after its own files were gone
    assert "Traceback" not in result.stderr
    assert not os.path.exists(os.path.join(site, "piplockhook.pth"))
    assert not os.path.exists(os.path.join(site, "piplockhook.start"))
    assert not os.path.exists(os.path.join(site, "piplockhook"))
    # Reinstalling (an upgrade path: the old version's files vanish under the lock).
    venv.pip("install", "piplockhook")
    again = venv.pip("install", "--force-reinstall", "--no-deps", "piplockhook", env=venv.env(PIPLOCKHOOK_DEBUG="1"))
    assert "acquired exclusive lock" in again.stderr and "Traceback" not in again.stderr
    assert lock_events(venv) == events  # hooked once, as before: not twice, not lost
