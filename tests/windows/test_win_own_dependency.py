"""Issue 30: our own dependency never leaves damage on Windows. Windows cannot
delete a DLL a process has loaded, so a hooked pip that had loaded wrapt's
extension (`_wrappers.pyd`) left pip's `~rapt` stash when it upgraded or
removed wrapt. The hook takes wrapt's pure-Python classes there: upgrading,
downgrading and uninstalling wrapt, and reinstalling piplockhook, leave no
stash, no warning, and `verify` clean, in both kinds of environment. The
control loads the extension into the same pip and shows the stash."""

import glob
import os
import shutil

import pytest
from winpackages import with_version
from winprocs import winpath

pytestmark = pytest.mark.slow

RUN_PIP = "import runpy, sys; sys.argv[0] = 'pip'; runpy.run_module('pip', run_name='__main__', alter_sys=True)"
WITH_EXTENSION = "import wrapt._wrappers; " + RUN_PIP  # what the hook loaded before issue 30


@pytest.fixture(scope="module")
def other_wrapt(win_wheelhouse, tmp_path_factory):
    """(folder, version): a wrapt that says it is newer than the wheelhouse's, the extension included."""
    (wheel,) = glob.glob(os.path.join(win_wheelhouse, "wrapt-*-win_amd64.whl"))
    folder = str(tmp_path_factory.mktemp("other-wrapt"))  # not the wheelhouse: other tests keep the original
    version = os.path.basename(wheel).split("-")[1] + ".post1"
    with_version(wheel, version, folder)
    return folder, version


def stashes(win):
    return sorted(name for name in os.listdir(win.site_packages) if name.startswith("~"))


def assert_whole(win, what):
    assert stashes(win) == [], what
    listed = win.pip("list")
    assert "Ignoring invalid distribution" not in listed.stderr, (what, listed.stderr)
    verified = win.cli("verify")
    assert verified.returncode == 0, (what, verified.stdout, verified.stderr)


def test_upgrading_downgrading_and_removing_wrapt_with_the_hook_leaves_no_stash(win, other_wrapt):
    folder, newer = other_wrapt
    original = win.installed()["wrapt"]
    find = ["--find-links", winpath(folder)]
    upgraded = win.pip("install", *find, f"wrapt=={newer}", env=win.env(PIPLOCKHOOK_DEBUG="1"))
    assert "acquired exclusive lock" in upgraded.stderr, upgraded.stderr  # the hook was on, and wrote under its lock
    assert win.installed()["wrapt"] == newer
    assert_whole(win, "upgrade")
    win.pip("install", *find, f"wrapt=={original}")
    assert win.installed()["wrapt"] == original
    assert_whole(win, "downgrade")
    win.pip("uninstall", "-y", "wrapt")
    assert stashes(win) == [] and "wrapt" not in win.installed()
    win.pip("install", f"wrapt=={original}")  # the hook is inactive without it: now back
    assert_whole(win, "uninstall, then install again")


def test_reinstalling_piplockhook_with_the_hook_leaves_no_stash(win):
    result = win.pip("install", "--force-reinstall", "--no-deps", "piplockhook", env=win.env(PIPLOCKHOOK_DEBUG="1"))
    assert "acquired exclusive lock" in result.stderr, result.stderr
    assert_whole(win, "piplockhook reinstalled")


def test_a_pip_with_wraps_extension_loaded_leaves_the_stash(win, other_wrapt):
    # The control: the cause, shown. The same upgrade by a pip that has loaded
    # wrapt's extension, as the hook did before issue 30, leaves `~rapt`.
    folder, newer = other_wrapt
    original = win.installed()["wrapt"]
    args = ["install", "--find-links", winpath(folder), f"wrapt=={newer}"]
    win.py("-c", WITH_EXTENSION, *args, env=win.env(PIPLOCKHOOK="0"), check=False)
    try:
        assert any(name.startswith("~rapt") for name in stashes(win)), os.listdir(win.site_packages)
    finally:
        for name in stashes(win):
            shutil.rmtree(os.path.join(win.site_packages, name))  # from Linux: nothing is loaded here
        win.pip("install", "--force-reinstall", "--no-deps", f"wrapt=={original}")
