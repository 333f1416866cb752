"""The docs cannot drift from the code: CLI page, configuration page."""

import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "docs"))

import gen_cli  # noqa: E402


def read(name):
    with open(os.path.join(ROOT, "docs", name)) as f:
        return f.read()


@pytest.mark.parametrize("sub", ("", *gen_cli.SUBCOMMANDS))
def test_cli_page_shows_every_option_of_help(sub):
    # argparse's layout differs a little between Python versions: compare the
    # options and subcommands, not the spacing.
    page = read("cli.md")
    help_text = gen_cli.help_text(*([sub] if sub else []))
    for option in set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", help_text)):
        assert option in page, f"{option} of `piplockhook {sub} --help` is not in docs/cli.md"
    if sub:
        assert f"## piplockhook {sub}" in page


def test_cli_page_is_what_the_generator_writes_on_this_python():
    if sys.version_info[:2] != (3, 11):
        pytest.skip("docs/cli.md is generated with Python 3.11's argparse")
    assert read("cli.md") == gen_cli.page(), "run: python docs/gen_cli.py"


def test_configuration_page_names_every_variable_and_its_exact_error():
    from piplockhook import settings

    page = read("configuration.md")
    for variable in ("PIPLOCKHOOK", "PIPLOCKHOOK_TIMEOUT", "PIPLOCKHOOK_LOCKFILE", "PIPLOCKHOOK_DEBUG"):
        assert f"`{variable}`" in page
    # Each example row of the page: the code's own message for that value.
    rows = re.findall(r"\| `(PIPLOCKHOOK\w*)=([^`]+)`.*?\| `(ERROR: [^`]+)` \|", page)
    assert {variable for variable, _, _ in rows} == {
        "PIPLOCKHOOK",
        "PIPLOCKHOOK_TIMEOUT",
        "PIPLOCKHOOK_LOCKFILE",
        "PIPLOCKHOOK_DEBUG",
    }
    for variable, value, documented in rows:
        with pytest.raises(settings.ConfigError) as raised:
            settings.read({variable: value})
        assert documented == f"ERROR: piplockhook: {raised.value}"
