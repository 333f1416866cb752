"""Pure logic, called directly: the command table, the switches, the nesting
marker and the filesystem warnings (the fast tier: `pytest -m "not slow"`)."""

import os

import pytest

from piplockhook import config, fscheck, lock, policy
from piplockhook.fscheck import Mount, local_only, warnings_for
from piplockhook.lock import EXCLUSIVE, SHARED, STRENGTH

# -- policy: which lock each pip command takes


@pytest.mark.parametrize(
    ("command", "run", "write"),
    [
        ("install", SHARED, EXCLUSIVE),
        ("uninstall", EXCLUSIVE, None),
        ("list", SHARED, None),
        ("inspect", SHARED, None),
        ("download", None, None),
        ("lock", None, None),
        ("a-command-pip-adds-later", SHARED, None),
    ],
)
def test_command_table(command, run, write):
    assert policy.policy_for(command) == policy.Policy(run, write)


def test_dry_run_reads_and_unknown_internals_lock_more():
    assert policy.policy_for("install", dry_run=True) == policy.READ
    assert policy.policy_for("install", can_escalate=False) == policy.Policy(EXCLUSIVE, None)
    assert policy.policy_for("uninstall", can_escalate=False) == policy.Policy(EXCLUSIVE, None)


def test_modes_are_ordered_by_strength():
    assert STRENGTH[SHARED] < STRENGTH[EXCLUSIVE]


# -- config: one parser per variable


@pytest.mark.parametrize("word", ["0", "off", "FALSE", " no "])
def test_off_words_opt_out(word):
    env = {"PIPLOCKHOOK": word}
    assert config.opted_out(env) and not config.hook_wanted(env) and config.load(env).enabled is False


def test_a_bad_switch_still_hooks_pip_so_that_pip_can_report_it():
    env = {"PIPLOCKHOOK": "soon"}
    assert config.hook_wanted(env)
    with pytest.raises(config.ConfigError, match="PIPLOCKHOOK='soon' is not valid"):
        config.load(env)


def test_default_comes_from_the_disabled_marker(tmp_path):
    assert config.default_enabled(str(tmp_path))
    (tmp_path / config.DISABLED_MARKER).touch()
    assert not config.default_enabled(str(tmp_path))


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "1e999", "soon", ""])
def test_bad_timeouts(raw):
    with pytest.raises(config.ConfigError, match="PIPLOCKHOOK_TIMEOUT"):
        config.parse_timeout(raw)


def test_timeouts():
    assert config.timeout({}) is None and config.timeout({"PIPLOCKHOOK_TIMEOUT": " 2.5 "}) == 2.5


def test_lockfile_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert config.lockfile({}) is None and config.lockfile({"PIPLOCKHOOK_LOCKFILE": "  "}) is None
    assert config.lockfile({"PIPLOCKHOOK_LOCKFILE": "~/x.lock"}) == os.path.join(str(tmp_path), "x.lock")
    assert config.lockfile({"PIPLOCKHOOK_LOCKFILE": "a/x.lock"}) == os.path.join(str(tmp_path), "a", "x.lock")
    with pytest.raises(config.ConfigError, match=r"--lockfile=.* not a directory"):
        config.parse_lockfile(str(tmp_path), "--lockfile")


def test_debug_switch():
    assert config.debug({"PIPLOCKHOOK_DEBUG": "1"}) and not config.debug({})
    with pytest.raises(config.ConfigError, match="PIPLOCKHOOK_DEBUG"):
        config.debug({"PIPLOCKHOOK_DEBUG": "loud"})


# -- nesting: the marker children inherit


def test_nesting_records_round_trip():
    value = lock.with_record("", "/v/.lock", SHARED)
    value = lock.with_record(value, "/w/.lock", EXCLUSIVE)
    assert lock.parse_marker(value) == {"/v/.lock": (os.getpid(), SHARED), "/w/.lock": (os.getpid(), EXCLUSIVE)}
    assert lock.parse_marker(lock.with_record(value, "/v/.lock", EXCLUSIVE))["/v/.lock"] == (os.getpid(), EXCLUSIVE)


def test_malformed_records_are_ignored():
    assert lock.parse_marker("garbage\nx shared /p\n12 shared\n\n") == {}


def test_only_an_ancestor_counts(monkeypatch):
    monkeypatch.setenv(lock.MARKER, lock.with_record("", "/v/.lock", SHARED))
    assert lock.ancestor_mode("/v/.lock") == SHARED  # this process
    assert lock.ancestor_mode("/other/.lock") is None
    monkeypatch.setenv(lock.MARKER, f"{2**22 + 12345} exclusive /v/.lock")  # no such process
    assert lock.ancestor_mode("/v/.lock") is None


# -- fscheck: where locks may not be seen from other hosts


@pytest.mark.parametrize(
    ("fstype", "options", "says"),
    [
        ("ext4", "rw,relatime", None),
        ("nfs4", "rw,local_lock=none", "NFS"),
        ("lustre", "rw", "Lustre without the flock"),
        ("lustre", "rw,flock", None),
        ("cifs", "rw", "SMB"),
        ("fuse.sshfs", "rw", "fuse.sshfs"),
    ],
)
def test_filesystem_warnings(fstype, options, says):
    warnings = warnings_for(Mount("/m", fstype, options))
    assert (warnings == []) if says is None else (len(warnings) == 1 and says in warnings[0])
    assert warnings_for(None) == []


@pytest.mark.parametrize(
    ("fstype", "options", "says"),
    [
        ("nfs4", "rw,vers=4.2,local_lock=all", "local_lock=all"),
        ("nfs", "rw,vers=3,local_lock=flock", "local_lock=flock"),
        ("nfs", "rw,vers=3,nolock", "nolock"),
        ("nfs4", "rw,vers=4.2,local_lock=none", None),
        ("nfs", "rw,vers=3,local_lock=none", None),
        ("ext4", "rw,nolock", None),
    ],
)
def test_mounts_keeping_locks_on_this_host_fail_the_check(fstype, options, says, monkeypatch, tmp_path):
    mount = Mount("/m", fstype, options)
    why = local_only(mount)
    assert (why is None) if says is None else (says in why and "other hosts" in why)
    if says:
        assert warnings_for(mount) == []  # the failure says it, once
    monkeypatch.setattr(fscheck, "mount_of", lambda path: mount)
    works, problem = fscheck.contend(str(tmp_path))
    assert works == (says is None)
    assert (problem == "") if says is None else (says in problem)
