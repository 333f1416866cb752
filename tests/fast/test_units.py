"""Pure logic, called directly: the command table, the switches, the nesting
marker (the fast tier: `pytest -m "not slow"`)."""

import os

import pytest

from piplockhook import pip as policy
from piplockhook import settings
from piplockhook.lock import EXCLUSIVE, SHARED, environment

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


# -- settings: one reader, one parser per kind of value


@pytest.mark.parametrize("word", ["0", "off", "FALSE", " no "])
def test_off_words_opt_out(word):
    env = {"PIPLOCKHOOK": word}
    read = settings.read(env)
    assert read.opted_out and not read.enabled and not settings.hook_wanted(env)


def test_a_bad_switch_still_hooks_pip_so_that_pip_can_report_it():
    env = {"PIPLOCKHOOK": "soon"}
    assert settings.hook_wanted(env)
    with pytest.raises(settings.ConfigError, match="PIPLOCKHOOK='soon' is not valid") as raised:
        settings.read(env)
    assert (raised.value.variable, raised.value.value) == ("PIPLOCKHOOK", "soon")


def test_default_comes_from_the_disabled_marker(tmp_path):
    assert settings.default_enabled(str(tmp_path))
    (tmp_path / settings.DISABLED_MARKER).touch()
    assert not settings.default_enabled(str(tmp_path))


@pytest.mark.parametrize("raw", ["-1", "nan", "inf", "1e999", "soon"])
def test_bad_timeouts(raw):
    with pytest.raises(settings.ConfigError, match="PIPLOCKHOOK_TIMEOUT"):
        settings.read({"PIPLOCKHOOK_TIMEOUT": raw})


def test_timeouts_and_where_they_come_from():
    assert settings.read({}).timeout is None
    assert settings.read({"PIPLOCKHOOK_TIMEOUT": " 2.5 "}).timeout == 2.5
    read = settings.read({"PIPLOCKHOOK_TIMEOUT": "9"}, timeout_option="0.3")
    assert (read.timeout, read.timeout_source) == (0.3, "--timeout")  # the option wins
    assert settings.read({"PIPLOCKHOOK_TIMEOUT": "9"}).timeout_source == "PIPLOCKHOOK_TIMEOUT"


def test_an_option_and_its_variable_give_the_same_words():
    with pytest.raises(settings.ConfigError) as by_variable:
        settings.read({"PIPLOCKHOOK_TIMEOUT": "x"})
    with pytest.raises(settings.ConfigError) as by_option:
        settings.read({}, timeout_option="x")
    assert str(by_option.value) == str(by_variable.value).replace("PIPLOCKHOOK_TIMEOUT", "--timeout")


def test_lockfile_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert settings.read({}).lockfile is None and settings.read({"PIPLOCKHOOK_LOCKFILE": "  "}).lockfile is None
    assert settings.read({"PIPLOCKHOOK_LOCKFILE": "~/x.lock"}).lockfile == os.path.join(str(tmp_path), "x.lock")
    assert settings.read({"PIPLOCKHOOK_LOCKFILE": "a/x.lock"}).lockfile == os.path.join(str(tmp_path), "a", "x.lock")
    assert settings.read({}, lockfile_option="~/y.lock").lockfile == os.path.join(str(tmp_path), "y.lock")
    with pytest.raises(settings.ConfigError, match=r"--lockfile=.* not a directory"):
        settings.read({}, lockfile_option=str(tmp_path))


@pytest.mark.parametrize("raw", ["new/", "new/.", "new/..", ".", "..", "new" + os.sep + os.sep])
def test_a_lockfile_ending_as_a_directory_is_one(raw, tmp_path, monkeypatch):
    # abspath("new/") is ".../new": without this check pip locked a file named `new`.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(settings.ConfigError) as raised:
        settings.read({"PIPLOCKHOOK_LOCKFILE": raw})
    assert str(raised.value) == f"PIPLOCKHOOK_LOCKFILE={raw!r} is not valid: expected a file path, not a directory"
    assert os.listdir(tmp_path) == []
    assert settings.read({"PIPLOCKHOOK_LOCKFILE": "new/.x"}).lockfile == os.path.join(str(tmp_path), "new", ".x")


def test_debug_lines_say_what_happened(capsys):
    from piplockhook.report import Reporter

    reporter = Reporter(debug=True)
    reporter.debug("unlocked", SHARED, "/v/.lock", "lock unavailable: cannot create /v/.lock")
    reporter.debug("skipped", EXCLUSIVE, "", "PIPLOCKHOOK opts this run out")
    reporter.debug("released", SHARED, "/v/.lock")
    assert capsys.readouterr().err.splitlines() == [
        # not "unlocked shared lock", which reads as "released"
        "piplockhook: running unlocked, without the shared lock /v/.lock (lock unavailable: cannot create /v/.lock)",
        "piplockhook: skipped exclusive lock (PIPLOCKHOOK opts this run out)",  # no path: no double space
        "piplockhook: released shared lock /v/.lock",
    ]


def test_debug_switch():
    assert settings.read({"PIPLOCKHOOK_DEBUG": "1"}).debug and not settings.read({}).debug
    with pytest.raises(settings.ConfigError, match="PIPLOCKHOOK_DEBUG"):
        settings.read({"PIPLOCKHOOK_DEBUG": "loud"})
    assert not settings.debug_wanted({"PIPLOCKHOOK_DEBUG": "loud"})  # before the settings are read


# -- nesting: the marker children inherit


def test_nesting_marker_round_trip():
    value = environment.with_hold("", "/v/.lock", SHARED)
    value = environment.with_hold(value, "/w/.lock", EXCLUSIVE)
    assert environment.parse_marker(value) == {"/v/.lock": (os.getpid(), SHARED), "/w/.lock": (os.getpid(), EXCLUSIVE)}
    assert environment.parse_marker(environment.with_hold(value, "/v/.lock", EXCLUSIVE))["/v/.lock"] == (
        os.getpid(),
        EXCLUSIVE,
    )


def test_malformed_records_are_ignored():
    assert environment.parse_marker("garbage\nx shared /p\n12 shared\n\n") == {}


def test_only_an_ancestor_counts(monkeypatch):
    monkeypatch.setenv(environment.MARKER, environment.with_hold("", "/v/.lock", SHARED))
    assert environment.ancestor_mode("/v/.lock") == SHARED  # this process
    assert environment.ancestor_mode("/other/.lock") is None
    monkeypatch.setenv(environment.MARKER, f"{2**22 + 12345} exclusive /v/.lock")  # no such process
    assert environment.ancestor_mode("/v/.lock") is None
