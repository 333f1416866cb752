"""`piplockhook disable` survives an upgrade or a reinstall of piplockhook,
and not its uninstall (SPEC §4): real pips, our real wheel and a copy of it
with a higher version."""

import glob
import json
import os
import zipfile

import pytest
from plh_backend import write_wheel

pytestmark = pytest.mark.slow

MARKER = "piplockhook.disabled"


def cli(venv, *args, **env):
    return venv.run([os.path.join(venv.bin, "piplockhook"), *args], env=venv.env(**env), check=False)


def bumped(wheel, version, directory):
    """A copy of our wheel whose version is `version` (files, requirements and entry points kept)."""
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        files = {n: whl.read(n) for n in names if not n.startswith(info + "/")}
        metadata = whl.read(f"{info}/METADATA").decode()
        entry_points = whl.read(f"{info}/entry_points.txt").decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    requires = [r for r in requires if "extra ==" not in r]
    return write_wheel(str(directory), "piplockhook", version, files, requires=requires, entry_points=entry_points)


def state(venv):
    """(the marker exists, a RECORD of ours lists it, status's default)."""
    site = venv.site_packages
    records = glob.glob(os.path.join(site, "piplockhook-*.dist-info", "RECORD"))
    listed = any(f"{MARKER},," in open(r).read().splitlines() for r in records)
    default = json.loads(cli(venv, "status", "--json").stdout)["default"]
    return os.path.exists(os.path.join(site, MARKER)), listed, default


def test_disable_says_what_undoes_it(venv):
    result = cli(venv, "disable")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"piplockhook: off by default for pip in {venv.site_packages} ({os.path.join(venv.site_packages, MARKER)})",
        "piplockhook: PIPLOCKHOOK=1 locks one run; `piplockhook enable` undoes this",
        "piplockhook: kept when piplockhook is upgraded or reinstalled; `pip uninstall piplockhook` removes it",
    ]
    assert cli(venv, "enable").returncode == 0


def test_disable_survives_a_reinstall_and_an_upgrade_but_not_an_uninstall(make_venv, wheelhouse, tmp_path):
    venv = make_venv()
    (ours,) = glob.glob(os.path.join(wheelhouse, "piplockhook-*.whl"))
    assert cli(venv, "disable").returncode == 0
    assert state(venv) == (True, True, "off")
    # A reinstall, the hook off (the default here): the marker is written again.
    result = venv.pip("install", "--force-reinstall", "--no-deps", ours)
    assert "piplockhook" not in result.stderr, result.stderr
    assert state(venv) == (True, True, "off")
    # The same with PIPLOCKHOOK=1 (a locked install), then with PIPLOCKHOOK=0.
    venv.pip("install", "--force-reinstall", "--no-deps", ours, env=venv.env(PIPLOCKHOOK="1"))
    assert state(venv) == (True, True, "off")
    venv.pip("install", "--force-reinstall", "--no-deps", ours, env=venv.env(PIPLOCKHOOK="0"))
    assert state(venv) == (True, True, "off")
    # An upgrade to a higher version of our wheel.
    result = venv.pip("install", bumped(ours, "99.0", tmp_path))
    assert "piplockhook" not in result.stderr, result.stderr
    assert "piplockhook-99.0.dist-info" in os.listdir(venv.site_packages)
    assert state(venv) == (True, True, "off")
    assert cli(venv, "verify", "--quick").returncode == 0  # the marker is ours, listed: nothing amiss
    # Uninstalling leaves nothing of `disable` behind; a new install is on.
    venv.pip("uninstall", "-y", "piplockhook")
    assert not [e for e in os.listdir(venv.site_packages) if e.startswith("piplockhook")]
    venv.pip("install", ours)
    assert state(venv) == (False, False, "on")


def test_an_install_of_something_else_leaves_the_default_alone(venv):
    assert cli(venv, "disable").returncode == 0
    venv.pip("install", "plhsmall==1.0")
    assert state(venv) == (True, True, "off")
    assert cli(venv, "enable").returncode == 0
    venv.pip("install", "--force-reinstall", "--no-deps", "piplockhook")
    assert state(venv) == (False, False, "on")
