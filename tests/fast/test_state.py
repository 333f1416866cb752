"""Pure logic of what `piplockhook status` reports."""

from piplockhook.cli.status import startup_problem


def test_startup_problem_follows_pep_829s_timeline(tmp_path):
    site = str(tmp_path)
    assert "piplockhook.pth is missing" in startup_problem(site, (3, 11))
    (tmp_path / "piplockhook.pth").write_text("import sys\n")
    for version in ((3, 9), (3, 14), (3, 15), (3, 17)):
        assert startup_problem(site, version) == "", version
    assert "Python 3.18 ignores import lines in .pth files" in startup_problem(site, (3, 18))
    (tmp_path / "piplockhook.start").write_text("piplockhook:start\n")
    assert startup_problem(site, (3, 18)) == ""
    (tmp_path / "piplockhook.pth").unlink()
    assert startup_problem(site, (3, 15)) == ""
    assert "piplockhook.pth is missing" in startup_problem(site, (3, 14))  # no .start before 3.15
