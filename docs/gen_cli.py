"""Write docs/cli.md from the command's own --help texts.

python docs/gen_cli.py       (tests/test_docs.py checks the page against --help)
"""

import contextlib
import io
import os

from piplockhook.cli import build_parser

HERE = os.path.dirname(os.path.abspath(__file__))
SUBCOMMANDS = ("run", "status", "enable", "disable", "check", "verify")

INTRO = """\
# Command line

`piplockhook` (also `python -m piplockhook`) is installed with the package.
Usage errors print one `ERROR:` line and exit with status 2.

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
