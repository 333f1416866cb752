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


def message_patterns():
    """A regex for every message text in src/piplockhook: each string (an
    f-string's fields, and the page's "…", match anything), with at least 12
    literal characters so that a bare "{x}" matches nothing."""
    import ast

    patterns = []
    for folder, _, files in os.walk(os.path.join(ROOT, "src", "piplockhook")):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.JoinedStr):
                    parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".*" for v in node.values]
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    parts = [re.escape(node.value)]
                else:
                    continue
                if sum(len(p) for p in parts if p != ".*") >= 12:
                    patterns.append(re.compile("".join(parts), re.S))
    return patterns


def test_troubleshooting_quotes_what_the_code_says():
    """Each quoted line (a `> `-blockquote of one code span) is a message of
    ours, after its prefix, that some string of the code can print; pip's own
    line is quoted as pip 23.2 prints it."""
    from piplockhook import report

    page = read("troubleshooting.md")
    quoted = [
        re.sub(r"^(``?) ?(.*?) ?\1$", r"\2", line[2:].strip()) for line in page.splitlines() if line.startswith("> ")
    ]
    assert len(quoted) >= 8
    patterns = message_patterns()
    for line in quoted:
        if line.startswith("WARNING: Ignoring invalid distribution ~"):
            continue
        text = line
        for prefix in (report.ERROR_PREFIX, report.WARNING_PREFIX, report.PREFIX):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        assert any(p.fullmatch(text) for p in patterns), f"troubleshooting.md quotes a line no code prints: {line}"
    # The page's headings are the messages a user meets, in this order.
    headings = re.findall(r"^## (.*)$", page, re.M)
    for word in ("waiting for", "timed out", "NOT locked", "running unlocked", "Ignoring invalid distribution"):
        assert any(word in heading for heading in headings), word


@pytest.mark.parametrize(
    "name", ["performance.md", "windows.md", "nfs.md", "filesystems.md", "troubleshooting.md", "files.md"]
)
def test_page_opens_with_a_one_line_summary(name):
    title, first = read(name).split("\n\n")[:2]
    assert title.startswith("# ") and first.startswith("In one line: "), name


def test_performance_page_opens_with_what_run_all_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run_all", os.path.join(ROOT, "benchmarks", "run_all.py"))
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    assert read("performance.md").startswith(run_all.INTRO), "the page's intro is run_all.INTRO"


import gen_diagram  # noqa: E402


def test_two_pips_picture_obeys_the_lock():
    """Each lane holds what COMMAND_LOCKS gives its command, in that order;
    at no moment do two lanes hold what excludes each other; a wait ends only
    when a hold of the other lane that excluded it ends (or its own lane
    moves from shared to exclusive)."""
    from piplockhook.pip import COMMAND_LOCKS

    for _, lanes, segments in gen_diagram.SCENES:
        for index, lane in enumerate(lanes):
            policy = COMMAND_LOCKS[lane.split()[1]]
            modes = [what for i, _, _, what, _ in sorted(segments, key=lambda s: s[1]) if i == index]
            held = [m for m in modes if m != "waiting"]
            assert set(held) <= {policy.run, policy.write}, (lane, held)
            assert all(m in (policy.run, policy.write) for m in held)
        holds = [s for s in segments if s[3] != "waiting"]
        for a in holds:
            for b in holds:
                if a[0] != b[0] and a[1] < b[2] and b[1] < a[2]:  # they overlap in time
                    assert a[3] == b[3] == "shared", (a, b)
        for lane_index, _start, end, what, _ in segments:
            if what == "waiting":
                after = [s for s in holds if s[0] == lane_index and s[1] == end]
                assert after, "a wait ends in a hold"
                blockers = [s for s in holds if s[0] != lane_index and s[1] < end and s[2] >= end]
                assert blockers and all("exclusive" in (s[3], after[0][3]) for s in blockers)
    assert "href" not in gen_diagram.two_pips_svg()  # nothing fetched


def test_which_lock_picture_is_what_locations_says(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from piplockhook import locations

    rows = {run: (own, uv) for run, own, uv in gen_diagram.WHICH_LOCK}
    monkeypatch.setattr(locations, "_uv_locks", lambda: (("UV", "python"),) if sys.prefix == sys.base_prefix else ())

    def lock(options=None, override=None):
        where = locations.location_for_options(options or SimpleNamespace(), override)
        return where.path, where.uv_locks

    venv = tmp_path / "venv"
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert lock() == (str(venv / ".lock"), ())
    assert rows["pip in a virtual environment"] == ("<venv>/.lock", "(the same file)")
    conda = tmp_path / "conda"
    (conda / "conda-meta").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(conda))
    monkeypatch.setattr(sys, "base_prefix", str(conda))
    assert lock() == (str(conda / ".lock"), (("UV", "python"),))
    assert rows["pip in a conda environment"] == ("<prefix>/.lock", "$TMPDIR/uv-<digest>.lock")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "system"))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "system"))
    path, uv = lock()
    assert os.path.basename(path) == locations.OWN_LOCK_NAME and uv == (("UV", "python"),)
    assert rows["pip of a system, Docker or pyenv Python"][0] == "<site-packages>/" + locations.OWN_LOCK_NAME
    monkeypatch.setattr(locations.site, "getuserbase", lambda: str(tmp_path / "userbase"))
    assert lock(SimpleNamespace(use_user_site=True)) == (str(tmp_path / "userbase" / locations.OWN_LOCK_NAME), ())
    assert rows["pip install --user"] == ("<user base>/" + locations.OWN_LOCK_NAME, "")
    for option in ("target_dir", "prefix_path"):
        assert lock(SimpleNamespace(**{option: str(tmp_path / "DIR")})) == (str(tmp_path / "DIR" / ".lock"), ())
    assert rows["pip install --target DIR (or --prefix DIR)"] == ("DIR/.lock", "(the same file)")
    assert lock(override=str(tmp_path / "PATH")) == (str(tmp_path / "PATH"), (("UV", "python"),))
    assert rows["PIPLOCKHOOK_LOCKFILE=PATH"][0] == "PATH"


@pytest.mark.parametrize("name", ["two-pips.svg", "which-lock.svg"])
def test_pictures_are_what_their_script_draws_and_shown(name):
    path = os.path.join(ROOT, "docs", name)
    draw = gen_diagram.PICTURES[path]
    with open(path, encoding="utf-8") as f:
        assert f.read() == draw(), "run: python docs/gen_diagram.py"
    import xml.etree.ElementTree as ElementTree

    ElementTree.fromstring(draw())  # well-formed: no attribute twice
    pages = [read(page) for page in os.listdir(os.path.join(ROOT, "docs")) if page.endswith(".md")]
    assert any(f"]({name})" in page for page in pages), f"no page shows {name}"
