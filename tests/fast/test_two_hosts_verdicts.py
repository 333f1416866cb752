"""check --hold and --probe (cli/twohosts.py): the token, the verdict and the
lines, and a probe in process against a lock held on another descriptor (on
one host: the holder's host name is made another's). The real processes, and
their signals, are tests/slow/test_two_hosts.py's; real hosts, tests/nfs's."""

import os

import pytest

from piplockhook.cli import base_command as codes
from piplockhook.cli import main, twohosts
from piplockhook.cli.twohosts import EXCLUDED, NOT_EXCLUDED, Token, parse_token, token_text, verdict
from piplockhook.lock import primitive
from piplockhook.lock.holderfiles import HOLDER_BYTE

TOKEN = Token("plh-a", 4242, 1700000000.5)


@pytest.fixture(autouse=True)
def no_settings(monkeypatch):
    for variable in [v for v in os.environ if v.startswith("PIPLOCKHOOK")]:
        monkeypatch.delenv(variable)


def test_a_token_reads_back_as_written():
    assert token_text(TOKEN) == "piplockhook-probe 1\nhost=plh-a\npid=4242\nsince=1700000000.500\nend\n"
    assert parse_token(token_text(TOKEN)) == TOKEN


@pytest.mark.parametrize(
    "text",
    [
        "",  # emptied by a holder that ended
        "piplockhook-probe 1\nhost=plh-a\npid=4242\n",  # not all there yet
        "piplockhook-probe 2\nhost=plh-a\npid=4242\nsince=1.0\nend\n",  # a format we do not know
        "piplockhook-holder 1\nhost=plh-a\npid=4242\nsince=1.0\nend\n",
        "piplockhook-probe 1\nhost=\npid=4242\nsince=1.0\nend\n",
        "piplockhook-probe 1\nhost=plh-a\npid=x\nsince=1.0\nend\n",
        "piplockhook-probe 1\nhost=plh-a\nsince=1.0\nend\n",
    ],
)
def test_no_token_in_what_is_not_one_whole(text):
    assert parse_token(text) is None


@pytest.mark.parametrize(
    "got_shared, got_exclusive, expected",
    [
        (False, False, EXCLUDED),
        (False, None, EXCLUDED),  # a read-only descriptor: shared alone was asked
        (True, False, NOT_EXCLUDED),
        (False, True, NOT_EXCLUDED),
        (True, True, NOT_EXCLUDED),
        (True, None, NOT_EXCLUDED),
    ],
)
def test_the_verdict(got_shared, got_exclusive, expected):
    assert verdict(got_shared, got_exclusive) == expected


def test_the_lines_of_each_verdict():
    path, lock = "/nfs/venv/.lock.probe", "/nfs/venv/.lock"
    (excluded,) = twohosts.probe_lines(path, lock, TOKEN, "plh-b", False, False, "FIX")
    assert excluded.startswith(
        "these hosts exclude each other: /nfs/venv/.lock.probe, held by pid 4242 on plh-a, was refused here (plh-b), "
        "shared and exclusive: "
    )
    not_excluded, hint = twohosts.probe_lines(path, lock, TOKEN, "plh-b", True, False, "FIX")
    assert not_excluded.startswith("these hosts do NOT exclude each other: ")
    assert "was granted here (plh-b), shared: " in not_excluded
    assert hint == "  hint: FIX"
    read_only = twohosts.probe_lines(path, lock, TOKEN, "plh-b", False, None, "FIX")
    assert "refused here (plh-b), shared (exclusive not asked: read-only here)" in read_only[0]


def hold_in_process(lock, token, locked=True):
    """The probe file as --hold leaves it while it holds (or, not `locked`, as a killed holder leaves it)."""
    fd = primitive.open_lock_file(twohosts.probe_path(lock), True)
    os.write(fd, token_text(token).encode())
    if locked:
        assert primitive.try_lock(fd, True, HOLDER_BYTE)
    return fd


def probe_here(capsys, monkeypatch, lock, here, locked=True):
    """(exit status, stdout, stderr) of --probe on host `here` against TOKEN's holder."""
    monkeypatch.setattr(twohosts, "host_name", lambda: here)
    fd = hold_in_process(lock, TOKEN, locked)
    try:
        code = main(["check", "--probe", "--lockfile", lock])
    finally:
        os.close(fd)
    return (code, *capsys.readouterr())


@pytest.mark.parametrize("locked, code", [(True, codes.EXIT_OK), (False, codes.EXIT_FAILED)])
def test_a_probe_against_a_holder_of_another_host(capsys, monkeypatch, tmp_path, locked, code):
    lock = str(tmp_path / ".lock")
    got, out, err = probe_here(capsys, monkeypatch, lock, "plh-b", locked)
    assert got == code
    assert err == ""
    first = "these hosts exclude each other" if locked else "these hosts do NOT exclude each other"
    assert out.startswith(f"{first}: {lock}.probe, held by pid 4242 on plh-a, was ")
    assert out.count("\n") == (1 if locked else 2)
    again = primitive.open_lock_file(lock + ".probe", False)
    try:
        assert primitive.try_lock(again, True)  # the probe let go of all it got
    finally:
        os.close(again)


def test_a_holder_that_ends_while_this_host_probes(capsys, monkeypatch, tmp_path):
    # Granted, but the token is gone when read again under the lock: the holder ended, nothing is proven.
    tokens = iter([TOKEN, None])
    monkeypatch.setattr(twohosts, "read_token", lambda path: next(tokens))
    lock = str(tmp_path / ".lock")
    code, out, err = probe_here(capsys, monkeypatch, lock, "plh-b", locked=False)
    assert (code, out) == (codes.EXIT_USAGE, "")
    assert err.startswith(f"ERROR: piplockhook: check: the holder of {lock}.probe ended while this host probed: ")


def test_a_probe_on_the_holder_s_host_proves_nothing(capsys, monkeypatch, tmp_path):
    lock = str(tmp_path / ".lock")
    code, out, err = probe_here(capsys, monkeypatch, lock, "plh-a")
    assert (code, out) == (codes.EXIT_USAGE, "")
    assert err == (
        f"ERROR: piplockhook: check: {lock}.probe is held by pid 4242 on plh-a, this host: one host proves nothing "
        "across hosts; probe from another host that reaches this environment (see piplockhook check --help)\n"
    )


@pytest.mark.parametrize("there", ["", "empty"])
def test_a_probe_without_a_holder(capsys, tmp_path, there):
    lock = str(tmp_path / ".lock")
    if there:  # as a holder leaves it for the instant between emptying and removing it
        open(lock + ".probe", "w").close()
    assert main(["check", "--probe", "--lockfile", lock]) == codes.EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"ERROR: piplockhook: check: no piplockhook check --hold holds {lock}.probe: start `piplockhook check --hold "
        f"--lockfile {lock}` on the other host first, then probe here (see piplockhook check --help)\n"
    )


def test_a_probe_file_this_user_may_not_write_is_not_held(capsys, monkeypatch, tmp_path):
    # Another user's (a holder of theirs that was killed): opened read-only, it could hold no token.
    lock = str(tmp_path / ".lock")
    monkeypatch.setattr(primitive, "read_only", lambda fd: True)
    assert main(["check", "--hold", "--lockfile", lock]) == codes.EXIT_FAILED
    assert capsys.readouterr() == (
        "",
        f"ERROR: piplockhook: {lock}.probe is not writable for this user: its owner may hold it, or remove it\n",
    )
