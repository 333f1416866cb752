"""Write docs/cli.md from the command's own --help texts.

python docs/gen_cli.py       (tests/test_docs.py checks the page against --help)
"""

import contextlib
import io
import os

from piplockhook.cli import build_parser
from piplockhook.cli.base_command import (
    EXIT_CANCELLED,
    EXIT_CANNOT_EXECUTE,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_PIPE_CLOSED,
    EXIT_SIGNAL_BASE,
    EXIT_USAGE,
)

HERE = os.path.dirname(os.path.abspath(__file__))
SUBCOMMANDS = ("run", "status", "enable", "disable", "check", "verify")

INTRO = f"""\
# Command line

`piplockhook` (also `python -m piplockhook`) is installed with the package.
`piplockhook help COMMAND` is `piplockhook COMMAND --help`; `piplockhook` alone
and `piplockhook help` print the help below and exit {EXIT_OK}.

Its lines read as pip's own, with one prefix word: errors
`ERROR: piplockhook: ...` (a usage error names the command and where its help
is: `ERROR: piplockhook: verify: --path /x: not a directory (see piplockhook
verify --help)`), warnings `WARNING: piplockhook: ...`, and what it tells you
`piplockhook: ...`. A traceback is a bug: please report it.

## Exit status

The same event ends every command with the same status, and with pip's own
where pip has the event: pip exits 1 for an error (a lock timed out, Ctrl-C)
and 2 for a usage error.

| status | when | commands |
| --- | --- | --- |
| {EXIT_OK} | done, and all is as it should be | every command |
| {EXIT_FAILED} | what it checks does not hold: locking does not work here, problems were found | `check`, `verify` |
| {EXIT_FAILED} | a pip run here is NOT locked (not active, or the lock cannot be had) | `status` |
| {EXIT_FAILED} | the lock was not had: timed out (`--timeout`, `PIPLOCKHOOK_TIMEOUT`) or cannot be used (one `ERROR:` line, as pip's) | `run`, `verify` |
| {EXIT_FAILED} | the file system refused (`disable` cannot write its marker; a path that cannot be read): one `ERROR:` line | every command |
| {EXIT_FAILED} | `check --probe`: pips on that host and this one do NOT exclude each other; `check --hold`: another holds the probe file already | `check` |
| {EXIT_CANCELLED} | Ctrl-C: `ERROR: Operation cancelled by user`, as pip (`check --hold` ends with {EXIT_OK} on Ctrl-C or SIGTERM: its way to end) | every command (`run` forwards it to a running COMMAND) |
| {EXIT_PIPE_CLOSED} | stdout's reader went away (`piplockhook verify --json` piped into `head -1`): nothing more is written | every command |
| {EXIT_USAGE} | a usage error, or a bad setting (`PIPLOCKHOOK*`, `--timeout`, `--lockfile`): one `ERROR:` line, nothing changed | every command |
| {EXIT_USAGE} | `check --probe` can prove nothing: no `check --hold` holds the probe file, or it holds it on this same host | `check` |
| N | COMMAND's own exit status | `run` |
| {EXIT_CANNOT_EXECUTE}, {EXIT_NOT_FOUND} | COMMAND cannot be executed, is not found (as a shell) | `run` |
| {EXIT_SIGNAL_BASE}+N | COMMAND was ended by signal N | `run` |

"""


def help_text(*args: str) -> str:
    os.environ["COLUMNS"] = "100"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser().parse_args([*args, "--help"])
    return out.getvalue().rstrip()


def page() -> str:
    parts = [INTRO, "```\n$ piplockhook --help\n" + help_text() + "\n```\n"]
    for sub in SUBCOMMANDS:
        parts.append(f"\n## piplockhook {sub}\n\n```\n$ piplockhook {sub} --help\n{help_text(sub)}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    with open(os.path.join(HERE, "cli.md"), "w") as f:
        f.write(page())
    print("wrote docs/cli.md")
