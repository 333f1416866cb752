"""After waiting for the exclusive lock, pip looks again at what is installed.

Scenario: pip A resolves `plhslow` while it is not installed and builds it
(the build is held at a barrier); meanwhile pip B installs `plhslow` 0.9; then
A writes. Unlocked, A installs 1.0 beside 0.9 (two .dist-info). With the hook
B waits for A's shared lock, and whichever of the two writes second replaces
the other's version.
"""

import os

import pytest
from packages import SLOW
from procs import wait_until

pytestmark = pytest.mark.slow


def dist_infos(venv):
    return sorted(e for e in os.listdir(venv.site_packages) if e.startswith(SLOW) and e.endswith(".dist-info"))


@pytest.mark.parametrize("hook", ["on", "0"])
def test_a_distribution_installed_meanwhile_is_replaced_not_duplicated(make_venv, background, tmp_path, hook):
    venv = make_venv()
    barrier = str(tmp_path / "barrier")
    a = background(venv, "install", f"{SLOW}==1.0", PIPLOCKHOOK=hook, PLH_BUILD_BARRIER=barrier, PIPLOCKHOOK_DEBUG=1)
    wait_until(lambda: os.path.exists(barrier + ".started"), timeout=60, what="A's build to start")
    b = background(venv, "install", f"{SLOW}==0.9", PIPLOCKHOOK=hook)
    if hook == "0":
        assert b.finish()[0] == 0  # B installs 0.9 while A is still building
    else:
        b.expect("waiting for exclusive lock")  # B waits for A's shared lock
    open(barrier, "w").close()
    rc_a, out_a, err_a = a.finish()
    rc_b, out_b, err_b = b.finish()
    assert rc_a == 0 and rc_b == 0, out_a + err_a + out_b + err_b
    infos = dist_infos(venv)
    check = venv.pip("check", check=False)
    if hook == "0":
        assert infos == [f"{SLOW}-0.9.dist-info", f"{SLOW}-1.0.dist-info"], infos
    else:
        assert len(infos) == 1, infos
        assert check.returncode == 0, check.stdout
        assert "Traceback" not in err_a + err_b
