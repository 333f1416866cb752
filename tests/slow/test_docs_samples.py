"""Every code sample of README.md and docs/ is run here, or compared with what
the code really prints, so that none can rot. CLAIMS says which test covers
which sample; a new sample no test claims fails test_every_sample_is_claimed.
"""

import glob
import os
import pkgutil
import re
import shlex
import shutil
import signal
import subprocess
import sys

import pytest
from procs import TIMEOUT, Background

import piplockhook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "docs"))

import gen_diagram  # noqa: E402

# The samples are the docs' business, checked once, in the main run (README's
# Python and pip). The cells of the pip matrix (PLH_TEST_PIP set: tox, and the
# 3.14/3.15 runs of .ci/sid) ask whether that pip is locked, which the other
# modules answer; skipping the samples there keeps CI within its 30 minutes.
main_run_only = pytest.mark.skipif(
    bool(os.environ.get("PLH_TEST_PIP")),
    reason="docs samples are checked in the main run, not in every pip-matrix cell",
)
LOCKPROBE = os.path.join(ROOT, "tests", "support", "lockprobe.py")
HELP_PAGES = ("", "run ", "status ", "enable ", "disable ", "check ", "verify ")

# Each fenced block, by its page and a line it contains, and the test that
# runs or checks it.
CLAIMS = [
    ("README.md", 'python -m pip install ".[test]"', "test_readme.py: .ci/run runs these two lines"),
    ("README.md", "$ piplockhook status", "test_status_sample_is_what_status_prints"),
    ("README.md", "sleep 10 &", "test_the_demonstration_shows_pip_waiting"),
    ("README.md", "piplockhook: acquired shared lock after waiting", "test_the_demonstration_shows_pip_waiting"),
    ("README.md", "piplockhook run -- make -j8 install", "test_command_lines_run"),
    ("README.md", "PIPLOCKHOOK=0 pip install x", "test_getting_started_switches"),
    ("README.md", "pip uninstall -y piplockhook", "test_uninstalling_leaves_what_the_pages_say"),
    ("docs/files.md", "pip uninstall -y piplockhook", "test_uninstalling_leaves_what_the_pages_say"),
    ("docs/files.md", "lambda.zip", "test_bundle_recipe_keeps_the_lock_files_out"),
    ("docs/index.md", "python -m pip install dist/piplockhook-*.whl", "test_installing_it_locks_pip"),
    ("docs/how-it-works.md", "piplockhook: waiting for shared lock on", "test_the_demonstration_shows_pip_waiting"),
    ("docs/index.md", "piplockhook status", "test_installing_it_locks_pip"),
    ("docs/index.md", "sleep 10 &", "test_the_demonstration_shows_pip_waiting"),
    ("docs/index.md", "PIPLOCKHOOK=0 pip install x", "test_getting_started_switches"),
    ("docs/how-it-works.md", "import sys;exec(", "test_startup_files_are_the_shipped_ones"),
    ("docs/startup.md", "import sys;exec(", "test_startup_files_are_the_shipped_ones"),
    ("docs/startup.md", "piplockhook:start", "test_startup_files_are_the_shipped_ones"),
    ("docs/configuration.md", "ERROR: piplockhook: timed out", "test_timeout_sample_is_what_pip_prints"),
    *[
        (
            "docs/cli.md",
            f"$ piplockhook {sub}--help",
            "test_docs.py compares it with --help; test_command_lines_run runs its examples",
        )
        for sub in HELP_PAGES
    ],
    ("docs/recipes.md", "make -j4", "test_makefile_recipe_runs_its_pips_at_once"),
    ("docs/recipes.md", "./configure-step.sh", "test_command_lines_run"),
    ("docs/recipes.md", "PIPLOCKHOOK_TIMEOUT=900", "test_command_lines_run"),
    ("docs/recipes.md", "setup.py develop", "test_command_lines_run"),
    ("docs/performance.md", "operations,", "test_performance_page_is_what_run_all_writes"),
    ("docs/verify.md", "$ piplockhook verify", "test_verify_sample_is_what_verify_prints"),
    ("docs/journal.md", "restored this environment after a pip died", "test_the_restore_line_is_the_one_the_docs_show"),
    (
        "docs/filesystems.md",
        "is NFS mounted with local_lock=all",
        "test_filesystems.py: the lab's NFS lines, word for word",
    ),
    ("docs/journal.md", "a `piplockhook run -x` command died", "test_run_journal.py: test_the_lines_are_the_docs_ones"),
    (
        "docs/filesystems.md",
        "on plh-server",
        "tests/nfs/test_nfs.py: test_a_pip_on_the_file_server_and_a_pip_on_a_client_exclude_each_other",
    ),
    (
        "docs/filesystems.md",
        "exclusively as pid",
        "test_two_hosts.py: test_a_holder_on_another_host_excludes_a_probe_here",
    ),
    (
        "docs/filesystems.md",
        "these hosts exclude each other: /nfs",
        "test_two_hosts.py: test_a_holder_on_another_host_excludes_a_probe_here",
    ),
    (
        "docs/filesystems.md",
        "do NOT exclude each other: /nfs",
        "test_two_hosts.py: test_a_holder_whose_lock_does_not_reach_here",
    ),
]


def read(page):
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return f.read()


def all_blocks(page):
    return re.findall(r"^```[\w-]*\n(.*?)^```", read(page), re.S | re.M)


def block(page, needle):
    (found,) = [b for b in all_blocks(page) if needle in b]
    return found


def loosen(sample, venv_path):
    """A regex for one line of sample output: the docs' /home/me/venv is this
    venv, a number is any number, `...` anything, spaces any whitespace."""
    out = []
    for part in re.split(r"(/home/me/venv|\.\.\.|\d+(?:\.\d+)*| +)", sample):
        if part == "/home/me/venv":
            out.append(re.escape(venv_path))
        elif part == "...":
            out.append(".*")
        elif re.fullmatch(r"\d+(?:\.\d+)*", part):
            out.append(r"\d+(?:\.\d+)*")
        elif part and not part.strip():
            out.append(r"\s+")
        else:
            out.append(re.escape(part))
    return "".join(out)


def env_in(venv, **env):
    environment = venv.env(**env)
    environment["PATH"] = venv.bin + os.pathsep + environment["PATH"]
    return environment


def run_in(venv, script, cwd=None, **env):
    return subprocess.run(
        ["bash", "-c", script], env=env_in(venv, **env), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def test_every_sample_is_claimed():
    pages = [
        "README.md",
        *sorted(f"docs/{name}" for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md")),
    ]
    for page in pages:
        for sample in all_blocks(page):
            claims = [c for c in CLAIMS if c[0] == page and c[1] in sample]
            assert len(claims) == 1, f"{page}: no test (or more than one) claims this sample:\n{sample}"
    for page, needle, _ in CLAIMS:
        assert len([b for b in all_blocks(page) if needle in b]) == 1, f"{page}: no single sample has {needle!r}"


def test_startup_files_are_the_shipped_ones():
    with open(os.path.join(ROOT, "src", "piplockhook.pth")) as f:
        pth = f.read().strip()
    assert block("docs/how-it-works.md", "import sys;exec(").strip() == pth
    assert block("docs/startup.md", "import sys;exec(").strip() == pth
    # The .start entry the page shows (not shipped yet) names the real gate.
    assert pkgutil.resolve_name(block("docs/startup.md", "piplockhook:start").strip()) is piplockhook.start


@pytest.mark.slow
@main_run_only
@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_demonstration_shows_pip_waiting(venv, page):
    result = run_in(venv, block(page, "sleep 10 &"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"piplockhook: acquired shared lock after waiting [5-9]\.\ds", result.stderr)
    assert re.search(r"held by pid \d+ \(exclusive, running \ds\): .*piplockhook run -- sleep 10", result.stderr)
    output = (result.stderr + result.stdout).splitlines()
    for line in block("README.md", "piplockhook: acquired shared lock after waiting").splitlines():
        if line != "...":
            assert any(re.fullmatch(loosen(line, venv.path), out) for out in output), (line, output)
    # how-it-works.md shows the same two lines (its holder an uninstalling pip).
    waiting, acquired = block("docs/how-it-works.md", "piplockhook: waiting for shared lock on").splitlines()
    assert re.fullmatch(
        r"piplockhook: waiting for shared lock on (\S+) \(\1/\.lock\), held by pid \d+ \(exclusive, running \d+s\): .*",
        waiting,
    )
    assert re.fullmatch(r"piplockhook: acquired shared lock after waiting \d+\.\ds", acquired)


@pytest.mark.slow
@main_run_only
def test_status_sample_is_what_status_prints(venv):
    command, *sample = block("README.md", "$ piplockhook status").splitlines()
    venv.pip("list")  # README's venv has seen a pip run: its lock file exists (else status says "not created yet")
    result = run_in(venv, command[2:])
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert len(printed) == len(sample), printed
    for line, out in zip(sample, printed):
        assert re.fullmatch(loosen(line, venv.path), out), (line, out)


@pytest.mark.slow
@main_run_only
def test_installing_it_locks_pip(make_venv, wheelhouse, tmp_path):
    fresh = make_venv(hook=False)
    # The wheel line, where `python -m build` left the wheel (dist/); the
    # checkout line is README's first step, which CI runs as written.
    (line,) = [x for x in block("docs/index.md", "dist/piplockhook-*.whl").splitlines() if "dist/" in x]
    (tmp_path / "dist").mkdir()
    (wheel,) = [name for name in os.listdir(wheelhouse) if name.startswith("piplockhook-")]
    shutil.copy(os.path.join(wheelhouse, wheel), tmp_path / "dist")
    install = run_in(fresh, line, cwd=str(tmp_path))
    assert install.returncode == 0, install.stderr
    status = run_in(fresh, block("docs/index.md", "piplockhook status"))
    assert "active: every pip run in this environment takes the lock" in status.stdout
    assert "acquired shared lock" in run_in(fresh, "pip list", PIPLOCKHOOK_DEBUG="1").stderr


@pytest.mark.slow
@main_run_only
@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_getting_started_switches(venv, page):
    # Each line with `pip list` in place of `pip install x`, then what it did.
    lines = [
        line.split("#")[0].strip().replace("pip install x", "pip list")
        for line in block(page, "PIPLOCKHOOK=0 pip install x").splitlines()
    ]
    try:
        for line in filter(None, lines):
            result = run_in(venv, line, PIPLOCKHOOK_DEBUG="1")
            assert result.returncode == 0, (line, result.stderr)
            if line.startswith("PIPLOCKHOOK=0"):
                assert "acquired" not in result.stderr
            if line.startswith("PIPLOCKHOOK=1"):
                assert "acquired shared lock" in result.stderr
                assert "default: off" in run_in(venv, "piplockhook status").stdout
    finally:
        run_in(venv, "piplockhook enable")
    assert "default: on" in run_in(venv, "piplockhook status").stdout


@pytest.mark.slow
@main_run_only
def test_timeout_sample_is_what_pip_prints(venv, holder):
    sample = block("docs/configuration.md", "ERROR: piplockhook: timed out").strip()
    seconds = re.search(r"after ([\d.]+)s", sample).group(1)
    holding = holder(venv.lock_path)
    holding.hold("exclusive")
    result = venv.pip("install", "plhsmall", env=venv.env(PIPLOCKHOOK_TIMEOUT=seconds), check=False)
    assert result.returncode == 1
    assert any(re.fullmatch(loosen(sample, venv.path), line) for line in result.stderr.splitlines()), result.stderr
    holding.release()
    assert "plhsmall" not in venv.installed()


@pytest.mark.slow
@main_run_only
def test_bad_values_print_what_the_configuration_page_shows(venv):
    rows = re.findall(r"\| `(PIPLOCKHOOK\w*)=([^`]+)`(.*?)\| `(ERROR: [^`]+)` \|", read("docs/configuration.md"))
    assert len(rows) == 4
    for variable, value, more, documented in rows:
        for other in [value, *re.findall(r"`([^`]+)`", more)]:
            result = venv.pip("install", "plhsmall", env=venv.env(**{variable: other}), check=False)
            assert (result.returncode, result.stderr.strip()) == (2, documented.replace(f"'{value}'", f"'{other}'"))
    assert "plhsmall" not in venv.installed()


@pytest.mark.slow
@main_run_only
def test_verify_sample_is_what_verify_prints(venv):
    """The page's environment, broken as races break one: pip B installs
    plhdemo 2.0 over A's 1.0 without seeing it, a file of plhtool is gone, and
    an uninstall of plhsmall was killed after it moved the package aside."""
    site = venv.site_packages
    venv.pip("install", "plhdemo==1.0", "plhtool", "plhsmall==1.0")
    venv.pip("install", "--no-deps", "--ignore-installed", "plhdemo==2.0")
    os.remove(os.path.join(site, "plhtool", "cli.py"))
    os.rename(os.path.join(site, "plhsmall"), os.path.join(site, "~lhsmall"))
    sample = block("docs/verify.md", "$ piplockhook verify")
    try:
        for command, *expected in [part.splitlines() for part in re.split(r"^\$ ", sample, flags=re.M)[1:]]:
            result = run_in(venv, command)
            printed = result.stdout.splitlines()
            assert len(printed) == len(expected), (command, result.stdout)
            for line, out in zip(expected, printed):
                assert re.fullmatch(loosen(line, venv.path), out), (line, out)
    finally:
        verify = run_in(venv, "piplockhook verify")
        for line in verify.stdout.splitlines()[:-1]:
            assert run_in(venv, line.split("; repair: ", 1)[1]).returncode == 0, line
    assert run_in(venv, "piplockhook verify").returncode == 0


def test_diagram_is_what_its_script_draws():
    with open(gen_diagram.PATH) as f:
        assert f.read() == gen_diagram.svg(), "run: python docs/gen_diagram.py"
    assert "](install-phases.svg)" in read("docs/how-it-works.md")


@pytest.mark.slow
@main_run_only
def test_diagram_is_the_lock_sequence_of_a_real_install(venv):
    expected = [
        ("acquired" if kind == "lock" else "released", mode) for kind, mode, _ in gen_diagram.STEPS if kind != "work"
    ]
    result = venv.pip("install", "plhsmall", env=venv.env(PIPLOCKHOOK_DEBUG="1"))
    venv.pip("uninstall", "-y", "plhsmall")
    events = re.findall(
        rf"piplockhook: (acquired|skipped|building|released) (shared|exclusive) lock "
        rf"{re.escape(venv.lock_path)}\b",
        result.stderr,
    )
    # Older pips import pkg_resources before the command starts: that scan
    # holds the lock on its own first (acquired, building, released). A scan
    # under the command's lock is "skipped" (nested), then "building".
    text = " ".join(f"{event}:{mode}" for event, mode in events)
    text = re.sub(r"acquired:(\w+) building:\1 released:\1 ?", "", text)
    text = re.sub(r"(skipped|building):\w+ ?", "", text)
    assert text.split() == [f"{event}:{mode}" for event, mode in expected], result.stderr


def command_lines(page):
    if page == "docs/cli.md":  # the lines under "example(s):" in each --help
        return [
            line
            for sample in all_blocks(page)
            if "example" in sample
            for line in re.findall(r"^  (\S.*)$", sample.split("example", 1)[1], re.M)
        ]
    if page == "README.md":
        return block(page, "piplockhook run -- make -j8 install").splitlines()
    return [
        line for sample in re.findall(r"^```sh\n(.*?)^```", read(page), re.S | re.M) for line in sample.splitlines()
    ]


def workdir_for_samples(folder):
    """What the samples' commands run, as stand-ins that record the lock's mode:
    a configure step, a build script, make targets, pytest, a setup.py."""
    probe = f"{shlex.quote(sys.executable)} {shlex.quote(LOCKPROBE)}"
    scripts = {
        "configure-step.sh": f"#!/bin/sh\nexec {probe} configure-step\n",
        "build.sh": f"#!/bin/sh\nexec {probe} build\n",
        "Makefile": f"install docs:\n\t{probe} make-$@\n",
        "pytest.py": f"import subprocess\nsubprocess.run({[sys.executable, LOCKPROBE, 'pytest']!r}, check=True)\n",
        "setup.py": f"import subprocess\nsubprocess.run({[sys.executable, LOCKPROBE, 'setup.py']!r}, check=True)\n",
        "requirements.txt": "plhsmall\n",
    }
    if not shutil.which("make"):  # a machine without make: a make that only runs the probe
        scripts["bin/make"] = f"#!/bin/sh\nexec {probe} make\n"
    os.makedirs(os.path.join(folder, "bin"))
    for name, text in scripts.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(folder, name), 0o755)


@pytest.mark.slow
@main_run_only
@pytest.mark.parametrize("page", ["README.md", "docs/cli.md", "docs/recipes.md"])
def test_command_lines_run(make_venv, wheelhouse, tmp_path, page):
    """Every command line of the page, as written; the placeholder absolute
    paths (/shared, /nfs) are moved under a temporary directory, where the
    venv that `piplockhook check` is shown checking exists, and /shared not."""
    venv = make_venv()
    os.makedirs(tmp_path / "nfs" / "venv")
    work = str(tmp_path / "work")
    os.makedirs(os.path.join(work, "dist"))
    workdir_for_samples(work)
    for wheel in glob.glob(os.path.join(wheelhouse, "piplockhook-*.whl")):  # as `python -m build` leaves it
        shutil.copy(wheel, os.path.join(work, "dist"))
    log = str(tmp_path / "probe.log")
    lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in command_lines(page)]
    assert lines
    holding = []  # a `check --hold` line runs until the `check --probe` line after it has run
    try:
        for line in filter(None, lines):
            run_command_line(venv, tmp_path, work, log, line, holding)
    finally:
        for holder in holding:
            holder.kill()


def run_command_line(venv, tmp_path, work, log, line, holding):
    """One line of test_command_lines_run."""
    line = re.sub(r"(?<=[\s=])/(?=\w)", str(tmp_path) + "/", line)
    argv = shlex.split(line)
    if argv[:3] == ["piplockhook", "check", "--hold"]:
        # As if on another host, so that the probe line proves something on this one
        env = env_in(venv, PIPLOCKHOOK_TEST_HOST="plh-other")
        holding.append(Background(["bash", "-c", f"PATH={shlex.quote(work)}/bin:$PATH; exec {line}"], env))
        holding[-1].expect(r"^holding ", stream="stdout")
        return
    lock = venv.lock_path
    if "--lockfile" in argv:
        lock = argv[argv.index("--lockfile") + 1]
    result = run_in(
        venv,
        f"PATH={shlex.quote(work)}/bin:$PATH; {line}",
        cwd=work,
        PROBE_LOG=log,
        PROBE_LOCK=lock,
        PIPLOCKHOOK_DEBUG="1",
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, (line, result.stdout, result.stderr)
    if argv[:2] == ["piplockhook", "run"]:
        options = argv[2 : argv.index("--")]
        with open(log) as f:
            recorded = f.read().split()[-1]
        assert recorded == ("shared" if {"-s", "--shared"} & set(options) else "exclusive"), line
    if "pip install" in line:
        assert re.search(r"acquired (shared|exclusive) lock", result.stderr), (line, result.stderr)
    if "['active']" in line:
        assert result.stdout.strip() == "True", line
    if line in ("piplockhook disable", "piplockhook enable"):
        default = "off" if line.endswith("disable") else "on"
        assert f"default: {default}" in run_in(venv, "piplockhook status").stdout, line
    if argv[:3] == ["piplockhook", "check", "--probe"]:
        assert result.stdout.startswith("these hosts exclude each other: "), (line, result.stdout)
        holder = holding.pop()
        holder.proc.send_signal(signal.SIGTERM)
        assert holder.finish(timeout=30)[0] == 0, holder.output()


@pytest.mark.slow
@main_run_only
@pytest.mark.skipif(not shutil.which("make"), reason="no make on this machine")
def test_makefile_recipe_runs_its_pips_at_once(make_venv, tmp_path):
    venv = make_venv()
    (tmp_path / "Makefile").write_text(block("docs/recipes.md", "make -j4"))
    (tmp_path / "requirements-a.txt").write_text("plhdemo\n")
    (tmp_path / "requirements-b.txt").write_text("plhsmall\n")
    result = run_in(venv, "make -j4", cwd=str(tmp_path), PIPLOCKHOOK_DEBUG="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {"plhdemo", "plhsmall"} <= set(venv.installed())
    # Each of the three pips wrote under the exclusive lock.
    assert result.stderr.count(f"acquired exclusive lock {venv.lock_path} ") == 3, result.stderr


@pytest.mark.slow
@main_run_only
def test_performance_page_is_what_run_all_writes(wheelhouse, tmp_path):
    """benchmarks/run_all.py --quick (every benchmark, few repetitions) writes
    a page of the same shape as docs/performance.md: same sections, tables and
    rows, stress results in the same form."""
    page = str(tmp_path / "performance.md")
    env = dict(os.environ, PLH_WHEELHOUSE=wheelhouse, TMPDIR=str(tmp_path))
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run_all.py"), "--quick", "--output", page],
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    with open(page) as f:
        written = f.read()

    def shape(text):
        # P1 has a row per Python measured (one with --quick): labels compare
        # with digits as N, each distinct label once.
        rows = [line.split("|")[1] for line in text.splitlines() if line.startswith("| ")]
        headings = [line for line in text.splitlines() if line.startswith("#")]
        return headings, list(dict.fromkeys(re.sub(r"\d+", "N", row) for row in rows))

    assert shape(written) == shape(read("docs/performance.md"))
    stress = r"(hook|PIPLOCKHOOK=0): \d+ operations, \d+/\d+ rounds with problems, \d+s in all"
    for text in (written, block("docs/performance.md", "operations,")):
        assert len(re.findall(rf"^{stress}$", text, re.M)) == 2


def dot_files(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


@pytest.mark.slow
@main_run_only
@pytest.mark.parametrize("page", ["README.md", "docs/files.md"])
def test_uninstalling_leaves_what_the_pages_say(make_venv, page):
    """files.md's table for a venv, then its uninstall line: the package, its
    .pth and the disabled marker go; .lock and .lock.turnstile stay, and pip is
    no longer locked."""
    venv = make_venv()
    assert run_in(venv, "pip list").returncode == 0
    assert dot_files(venv.path) == [".lock", ".lock.turnstile"]
    assert "`<venv>/.lock`, `<venv>/.lock.turnstile`" in read("docs/files.md")
    assert run_in(venv, "piplockhook disable").returncode == 0
    (line,) = block(page, "pip uninstall -y piplockhook").strip().splitlines()
    result = run_in(venv, line, PIPLOCKHOOK="1", PIPLOCKHOOK_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert f"acquired exclusive lock {venv.lock_path} " in result.stderr  # under the lock to the end
    assert not [n for n in os.listdir(venv.site_packages) if n.startswith("piplockhook")]
    assert "wrapt" in venv.installed()
    assert dot_files(venv.path) == [".lock", ".lock.turnstile"]
    for name in dot_files(venv.path):
        assert os.path.getsize(os.path.join(venv.path, name)) == 0
    assert "acquired" not in run_in(venv, "pip list", PIPLOCKHOOK_DEBUG="1").stderr


@pytest.mark.slow
@main_run_only
@pytest.mark.skipif(not shutil.which("zip"), reason="no zip on this machine")
def test_bundle_recipe_keeps_the_lock_files_out(venv, tmp_path):
    """files.md: --target leaves DIR/.lock and DIR/.lock.turnstile; the zip
    line packs everything else; with PIPLOCKHOOK_LOCKFILE nothing of ours is
    in the folder; --dry-run --target creates no folder at all."""
    import zipfile

    (tmp_path / "requirements.txt").write_text("plhsmall\n")
    install, pack, elsewhere = block("docs/files.md", "lambda.zip").strip().splitlines()
    package = tmp_path / "build" / "package"
    for line in (install, pack):
        result = run_in(venv, line, cwd=str(tmp_path), PIPLOCKHOOK_DEBUG="1")
        assert result.returncode == 0, (line, result.stderr)
    assert dot_files(package) == [".lock", ".lock.turnstile"]
    names = zipfile.ZipFile(tmp_path / "build" / "lambda.zip").namelist()
    assert any(name.startswith("plhsmall") for name in names), names
    assert not [name for name in names if ".lock" in name], names
    shutil.rmtree(tmp_path / "build")
    result = run_in(venv, elsewhere, cwd=str(tmp_path), PIPLOCKHOOK_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert f"acquired exclusive lock {tmp_path}/build/package.lock " in result.stderr
    assert dot_files(package) == []
    assert sorted(os.listdir(tmp_path / "build")) == ["package", "package.lock", "package.lock.turnstile"]
    # The page's --dry-run sentence: no folder, no lock file, nothing said.
    dry = run_in(venv, "pip install --dry-run --target dry plhsmall", cwd=str(tmp_path))
    assert dry.returncode == 0 and "piplockhook" not in dry.stderr, dry.stderr
    assert not os.path.exists(tmp_path / "dry")
