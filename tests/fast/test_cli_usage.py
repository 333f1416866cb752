"""The command line's own lines, in process: one prefix word, help that
works, and the exit-code table. Only what returns before a lock is taken or a
file changed runs here; the rest is tests/slow/test_cli_endings.py."""

import os
import re

import pytest

from piplockhook.cli import COMMANDS, build_parser, main
from piplockhook.cli import base_command as codes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def no_settings(monkeypatch):
    for variable in [v for v in os.environ if v.startswith("PIPLOCKHOOK")]:
        monkeypatch.delenv(variable)


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bare_piplockhook_and_help_print_the_help_and_succeed(capsys):
    top = build_parser().format_help()
    assert run_main(capsys) == (codes.EXIT_OK, top, "")
    assert run_main(capsys, "help") == (codes.EXIT_OK, top, "")
    assert "help      show the help of piplockhook, or of COMMAND" in top


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_command_is_the_command_s_own_help(capsys, name):
    code, out, err = run_main(capsys, "help", name)
    assert (code, err) == (codes.EXIT_OK, "")
    assert out.startswith(f"usage: piplockhook {name}")
    assert run_main(capsys, name, "--help") == (codes.EXIT_OK, out, "")


@pytest.mark.parametrize(
    "argv, line",
    [
        (["nope"], "ERROR: piplockhook: argument COMMAND: invalid choice: 'nope' (choose from "),
        (["--bogus"], "ERROR: piplockhook: unrecognized arguments: --bogus (see piplockhook --help)"),
        (["help", "nope"], "ERROR: piplockhook: help: argument COMMAND: invalid choice: 'nope' (choose from "),
        (
            ["verify", "--bogus"],
            "ERROR: piplockhook: verify: unrecognized arguments: --bogus (see piplockhook verify --help)",
        ),
        (
            ["verify", "--target", "/a", "--path", "/b"],
            "ERROR: piplockhook: verify: argument --path: not allowed with ",
        ),
        (["run"], "ERROR: piplockhook: run: no COMMAND to run (see piplockhook run --help)"),
        (["status", "x"], "ERROR: piplockhook: status: unrecognized arguments: x (see piplockhook status --help)"),
        (["run", "--timeout", "soon", "true"], "ERROR: piplockhook: --timeout='soon' is not valid: "),
        (
            ["check", "--hold", "--probe"],
            "ERROR: piplockhook: check: argument --probe: not allowed with argument --hold",
        ),
        (
            ["check", "--seconds", "5"],
            "ERROR: piplockhook: check: --seconds is for --hold (see piplockhook check --help)",
        ),
        (["check", "--probe", "--seconds", "5"], "ERROR: piplockhook: check: --seconds is for --hold"),
        (["check", "--hold", "--seconds", "0"], "ERROR: piplockhook: check: argument --seconds: '0' is not a number"),
        (["check", "--hold", "--seconds", "soon"], "ERROR: piplockhook: check: argument --seconds: 'soon' is not a"),
    ],
)
def test_usage_errors_are_one_line_with_one_prefix_word(capsys, argv, line):
    code, out, err = run_main(capsys, *argv)
    assert (code, out) == (codes.EXIT_USAGE, "")
    assert err.count("\n") == 1 and err.startswith(line), err
    if "is not valid" not in line:  # a usage error says where the help is; a bad value is the settings' line
        assert err.rstrip().endswith("--help)"), err


def test_a_missing_directory_for_verify(capsys, tmp_path):
    missing = str(tmp_path / "missing")
    code, out, err = run_main(capsys, "verify", "--path", missing)
    assert (code, out) == (codes.EXIT_USAGE, "")
    assert err == f"ERROR: piplockhook: verify: --path {missing}: not a directory (see piplockhook verify --help)\n"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_setting_stops_every_command_before_it_starts(capsys, monkeypatch, tmp_path, command):
    monkeypatch.setenv("PIPLOCKHOOK_LOCKFILE", str(tmp_path / "locks") + os.sep)
    code, out, err = run_main(capsys, command, *(["true"] if command == "run" else []))
    assert (code, out) == (codes.EXIT_USAGE, "")
    assert err == (
        f"ERROR: piplockhook: PIPLOCKHOOK_LOCKFILE={str(tmp_path / 'locks') + os.sep!r} is not valid: "
        "expected a file path, not a directory\n"
    )
    assert os.listdir(tmp_path) == []  # neither `locks` nor a file of that name


def test_the_exit_code_table_names_every_code():
    with open(os.path.join(ROOT, "docs", "cli.md")) as f:
        page = f.read()
    table = page.split("## Exit status", 1)[1].split("\n\n```", 1)[0]
    documented = set(re.findall(r"^\| ([\d+N, ]+) \|", table, re.M))
    for name in dir(codes):
        if name.startswith("EXIT_"):
            value = str(getattr(codes, name))
            assert any(value in re.split(r"[ ,+]+", row) for row in documented), f"{name}={value} not in the table"


@pytest.mark.parametrize("command", [["run", "--", "true"], ["verify", "--quick"]])
def test_an_os_error_is_one_line_and_exit_1(capsys, tmp_path, command):
    # A lock path below a file: makedirs' OSError was a traceback before cli.main caught it.
    (tmp_path / "file").write_text("")
    below = str(tmp_path / "file" / "x.lock")
    code, out, err = run_main(capsys, command[0], "--lockfile", below, *command[1:])
    assert (code, out) == (codes.EXIT_FAILED, "")
    assert err == f"ERROR: piplockhook: {tmp_path / 'file'}: File exists\n"
