"""Across hosts: pips on a and b share one venv on the lab's NFS export.

The lab (.ci/nfs up) is running: a server and clients a and b, /nfs/venv on
NFSv4.2 unless a test remounts. Every guest command is bounded (lab.BOUND);
barriers are files in /lab. Figures go to the terminal (-s) and to
$PLH_NFS_DIR/results.txt for the docs.
"""

import json
import os
import re
import shlex
import time

import lab
import locktable
import pytest
from lab import GUEST, LEASE, SITE, Holder, Job, run
from locktable import waiting

pytestmark = pytest.mark.nfs
# `.ci/nfs test --short` (CI) skips these: the full tier takes ~30 min here.
long = pytest.mark.skipif(os.environ.get("PLH_NFS_TIER") == "short", reason="long tier only (.ci/nfs test)")

RESULTS = os.path.join(lab.DIR, "results.txt")


def note(text):
    print(text)
    with open(RESULTS, "a") as f:
        f.write(text + "\n")


@pytest.fixture(scope="session", autouse=True)
def lab_up():
    try:
        run("a", "true", bound=60)
        run("b", "true", bound=60)
    except Exception as exc:
        pytest.exit(f"the NFS lab is not up (.ci/nfs up): {exc}", returncode=1)
    os.makedirs(lab.LAB, exist_ok=True)
    lab.install_guest_scripts()
    run("b", "pip install -q plhsmall==1.0")
    yield


@pytest.fixture(autouse=True)
def clean_lab():
    lab.clear()
    yield
    for name in os.listdir(lab.LAB):  # free any holder a failing test left
        if name.endswith(".held"):
            lab.flag(name[: -len(".held")] + ".release")


# -- check, and which mounts lock across hosts


@pytest.mark.parametrize(("kind", "crosses"), [("v4", True), ("v3", True), ("local", False)])
def test_check_and_cross_host_locks_on_each_kind_of_mount(kind, crosses):
    lab.nfs("mount", kind)
    try:
        probe = "/nfs/probe.lock"
        holder = Holder("a", "exclusive", "probe", lockpath=probe)
        seen = run("b", f"{GUEST} try shared {probe}").stdout.strip()
        holder.release()
        check = run("b", "piplockhook check", check=False)
        read_only = run("b", f"{GUEST} ro-exclusive /nfs/ro.lock").stdout.strip()
        note(
            f"mount {kind}: b's LOCK_SH|LOCK_NB while a holds LOCK_EX: {seen}; check exit {check.returncode}: "
            f"{check.stdout.splitlines()[0]}; exclusive flock on a read-only fd: {read_only}"
        )
        assert seen == ("refused EAGAIN" if crosses else "got")
        if crosses:
            assert check.returncode == 0 and "locking works" in check.stdout
        else:
            assert check.returncode == 1
            assert "locking does NOT work" in check.stdout and "local_lock=all" in check.stdout
            assert "other hosts are not excluded" in check.stdout
        assert read_only == ("refused EBADF" if kind == "v4" else "got")
    finally:
        lab.nfs("mount", "v4")


# -- the lock table across hosts: holder on a, pip on b


class PipOnB:
    """A pip on b (or `host`) in the background, its streams in /lab/NAME.out and
    .err (the face of procs.Background that tests/support/locktable.py uses)."""

    def __init__(self, args, env="", name="pip", host="b"):
        self.name = name
        self.host = host
        self.job = Job(host, f"{env}PYTHONUNBUFFERED=1 pip {args} >/lab/{name}.out 2>/lab/{name}.err")

    @property
    def lines(self):
        return {s: lab.read(f"{self.name}.{ext}").splitlines(True) for s, ext in (("stdout", "out"), ("stderr", "err"))}

    def output(self):
        return lab.read(self.name + ".out") + lab.read(self.name + ".err")

    def expect(self, pattern, timeout=120):
        """Wait (bounded) for a line of its stderr matching `pattern`; the match."""
        found = lambda: re.search(pattern, lab.read(self.name + ".err"))  # noqa: E731
        lab.wait_for(
            lambda: found() or self.job.done(), timeout, f"{pattern!r} from the pip on {self.host}, or its end"
        )
        match = found()
        assert match, f"the pip on {self.host} ended without {pattern!r}:\n{self.output()}"
        return match

    def running(self):
        return not self.job.done()

    def finish(self, timeout=180):
        status, _, _ = self.job.wait(timeout)
        return status, lab.read(self.name + ".out"), lab.read(self.name + ".err")

    def kill(self):
        self.job.kill()


class CrossHostTier:
    """The lock table's rows with piplockhook's own holder on a and the pip
    on b (see locktable's tier)."""

    bound = 120
    instant = 1.0  # the shared lock beside the holder: two round trips to the server, emulated
    scratch = "/tmp/dl"

    def __init__(self):
        self.pips = []

    def have(self, version):
        run("b", f"pip install -q {locktable.PROJECT}=={version}")

    def version(self):  # as the other host sees it
        for line in run("a", "PIPLOCKHOOK=0 pip freeze").stdout.split():
            if line.startswith(locktable.PROJECT + "=="):
                return line.split("==")[1]
        return None

    def hold(self, mode):
        return Holder("a", mode, "row", pip_style=True)

    def holding(self):
        return run("b", f"{GUEST} probe").stdout.strip()

    def start(self, argv, env):
        pip = PipOnB(shlex.join(argv), "".join(f"{k}={v} " for k, v in env.items()))
        self.pips.append(pip)
        return pip

    def blocked(self, pip):
        # Not a sleep and a look: b's kernel shows the pip inside flock(2) on the lock.
        sleeper = run("b", f"{GUEST} blocked").stdout  # "PID COMMAND LINE"
        assert "/bin/pip " in sleeper, sleeper

    def pkg_resources_at_start(self, command):
        probe = f"PIPLOCKHOOK=0 python -c {shlex.quote(locktable.STARTS_PKG_RESOURCES)} {command}"
        return run("b", probe).stdout.strip() == "True"


# `.ci/nfs test --short` runs these rows (and their PIPLOCKHOOK=0 controls); the others are long.
SHORT = {
    "exclusive-held/list/waits-shared",
    "exclusive-held/install-plhsmall==2.0/waits-shared",
    "shared-held/install-plhsmall==2.0/waits-exclusive",
}
assert SHORT <= {row.id for row in locktable.ROWS}, "a short row is no longer in the table"


@pytest.mark.parametrize(("row", "hook"), locktable.cases(lambda row: () if row.id in SHORT else [long]))
def test_a_pip_on_b_waits_for_a_holder_on_a(row, hook):
    tier = CrossHostTier()
    try:
        locktable.check_row(tier, row, hook)
    finally:
        for pip in tier.pips:
            pip.kill()


@long
def test_uv_pip_on_a_waits_for_pip_on_b():
    run("b", "pip install -q uv", bound=300)
    holder = Holder("b", "exclusive", "uvh", pip_style=True)
    job = Job(
        "a",
        "uv pip install --python /nfs/venv/bin/python --offline --no-index --find-links /wheels "
        "plhsmall==1.0 >/lab/uv.out 2>/lab/uv.err",
    )
    try:
        time.sleep(15)
        assert not job.done(), lab.read("uv.err")
        holder.release()
        status, _, _ = job.wait(180)
        assert status == 0, lab.read("uv.err")
        note(
            f"uv pip on a while pip's holder on b held the lock: waited, then exit 0; uv said: "
            f"{lab.read('uv.err').strip().splitlines()[:2]}"
        )
    finally:
        job.kill()


# -- the cross-host stress


WORKERS, OPS = 3, int(os.environ.get("PLH_NFS_STRESS_OPS", "4"))


def _stress_round(hook, seed):
    start = time.monotonic()
    command = f"{GUEST} stress {{}} {WORKERS} {OPS} {1 if hook else 0}"
    jobs = [Job(h, command.format(seed + i), bound=1200) for i, h in enumerate("ab")]
    results = [job.wait(1260) for job in jobs]
    wall = time.monotonic() - start
    problems = {}
    for host, (status, out, err) in zip("ab", results):
        assert status == 0, err
        found = json.loads(out)
        for k, v in found["problems"].items():
            problems[k] = problems.get(k, 0) + v
        with open(os.path.join(lab.DIR, f"stress-samples-{'hook' if hook else 'nohook'}-{host}.txt"), "w") as f:
            f.write("\n\n".join(found["samples"]))
    integrity = json.loads(run("b", f"{GUEST} integrity").stdout)
    return wall, problems, integrity


@long
@pytest.mark.timeout(2400)
def test_cross_host_stress_is_clean_with_the_hook_and_broken_without():
    ops = 2 * WORKERS * OPS
    run("b", f"{GUEST} repair")
    try:
        _stress_both(ops)
    finally:
        run("b", f"{GUEST} repair")


def _stress_both(ops):
    wall, problems, integrity = _stress_round(True, 100)
    note(
        f"stress with the hook: 2 hosts x {WORKERS} workers x {OPS} ops = {ops} operations in {wall:.0f} s; "
        f"operation failures {problems}; verify/pip check {integrity}"
    )
    assert problems == {} and integrity == {}
    wall0, problems0, integrity0 = _stress_round(False, 200)
    note(
        f"stress with PIPLOCKHOOK=0: {ops} operations in {wall0:.0f} s; operation failures {problems0}; "
        f"verify/pip check {integrity0}"
    )
    assert problems0 or integrity0, "the unlocked control round broke nothing: no race shown"


# -- who holds it, named across hosts (holder files)


def _records(host):
    return run(host, "ls -a /nfs/venv | grep -e '^.lock.holder-' -e '^.nfs' || true").stdout.split()


def test_a_pip_on_b_names_the_holder_on_a_by_host_and_pid():
    holder = Holder("a", "exclusive", "named", pip_style=True)
    pid = run("a", "pgrep -of 'piplockhook run -x'").stdout.strip()
    pip = PipOnB("list")
    try:
        line = pip.expect(waiting() + ".*").group(0)
        note(f"a pip on b waiting for a holder on a: {line}")
        assert f"held by pid {pid} on plh-a (exclusive, running " in line and "piplockhook run -x" in line
    finally:
        holder.release()
    assert pip.finish()[0] == 0, pip.output()
    assert _records("a") == [] and _records("b") == []  # no record, no .nfs* file left


# -- the file server's own pips (issue 31): the server mounts its export at /nfs too


@pytest.mark.parametrize(("holder_host", "pip_host"), [("server", "b"), ("b", "server")])
def test_a_pip_on_the_file_server_and_a_pip_on_a_client_exclude_each_other(holder_host, pip_host):
    # nfsd holds a client's lock as a POSIX lock on the server, which a flock
    # there never meets: the lock's OFD part does (lock/_posix.py).
    holder = Holder(holder_host, "exclusive", "srv", pip_style=True)
    pid = run(holder_host, "pgrep -of 'piplockhook run -x'").stdout.strip()
    pip = PipOnB("list", host=pip_host)
    try:
        line = pip.expect(waiting() + ".*").group(0)
        note(f"a pip on {pip_host} waiting for a holder on {holder_host}: {line}")
        assert f"held by pid {pid} on plh-{holder_host} (exclusive, running " in line
        if holder_host == "server":  # docs/filesystems.md shows this line
            assert re.fullmatch(_sample_pattern("docs/filesystems.md", "on plh-server"), line), line
    finally:
        holder.release()
    assert pip.finish()[0] == 0, pip.output()


def _sample_pattern(page, needle):
    """The docs' line with `needle` as a pattern: a number is any number, `...` anything."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", page), encoding="utf-8") as f:
        (sample,) = [line for line in f.read().splitlines() if needle in line]
    parts = re.split(r"(\.\.\.|\d+)", sample)
    return "".join(".*" if p == "..." else r"\d+" if p.isdigit() else re.escape(p) for p in parts)


def test_a_flock_alone_on_the_file_server_does_not_exclude_a_client():
    # The control, and what uv (flock only) does on a file server: a plain
    # flock on the server leaves a client's pip unlocked beside it.
    holder = Holder("server", "exclusive", "plain")
    try:
        took = run("b", f"{GUEST} try shared").stdout.strip()
        listed = run("b", "PIPLOCKHOOK_DEBUG=1 pip list 2>&1", bound=300).stdout
    finally:
        holder.release()
    note(f"a plain flock held on the server: b's LOCK_SH|LOCK_NB: {took}; b's pip list waited: {'waiting' in listed}")
    assert took == "got" and "waiting" not in listed and "acquired shared lock" in listed


# -- the two-host check users run (issue 31): check --hold on one host, --probe on another


@pytest.mark.parametrize(
    ("kind", "holder_host", "probe_host", "excluded"),
    [("v4", "a", "b", True), ("local", "a", "b", False), ("v4", "server", "b", True), ("v4", "b", "server", True)],
)
def test_the_two_host_check_says_whether_the_hosts_exclude_each_other(kind, holder_host, probe_host, excluded):
    lab.nfs("mount", kind)
    hold = Job(holder_host, "piplockhook check --hold --seconds 300 >/lab/hold.out 2>/lab/hold.err")
    try:
        lab.wait_for(lambda: lab.read("hold.out").startswith("holding ") or hold.done(), 120, "check --hold")
        assert not hold.done(), lab.read("hold.err")
        probe = run(probe_host, "piplockhook check --probe", check=False)
        mount = "NFSv4.2" if kind == "v4" else "NFSv3 local_lock=all"
        note(
            f"check --hold on {holder_host}, --probe on {probe_host} ({mount}): exit {probe.returncode}: {probe.stdout.strip()}"
        )
        assert probe.returncode == (0 if excluded else 1), (probe.stdout, probe.stderr)
        assert (
            "these hosts exclude each other" if excluded else "these hosts do NOT exclude each other"
        ) in probe.stdout
        assert f"on plh-{holder_host}" in probe.stdout
    finally:
        run(holder_host, "pkill -INT -f 'check --hold' || true")
        status, _, _ = hold.wait(120)
        lab.nfs("mount", "v4")
    assert status == 0, lab.read("hold.err")


# -- the server restarts; a holder host crashes


@long
def test_nfsd_restarted_while_a_lock_is_held_reclaims_it():
    holder = Holder("a", "exclusive", "rec")
    start = time.monotonic()
    run("server", "rpc.nfsd 0 && sleep 1 && rpc.nfsd 4")
    during = run("b", f"{GUEST} try shared").stdout.strip()
    time.sleep(LEASE + 5)  # the grace period is over
    after = run("b", f"{GUEST} try shared").stdout.strip()
    held = run("a", "grep -c FLOCK /proc/locks; ls /lab").stdout
    assert not holder.job.done()
    holder.release()
    free = run("b", f"{GUEST} try exclusive").stdout.strip()
    note(
        f"nfsd restarted while a held LOCK_EX: b's LOCK_SH|LOCK_NB right after: {during}; "
        f"after grace ({LEASE} s) + 5 s: {after}; after a released: {free} ({time.monotonic() - start:.0f} s)"
    )
    assert during == "refused EAGAIN" and after == "refused EAGAIN", held
    assert free == "got"


MARGIN = 15  # seconds beyond two lease periods (the laundromat runs once a lease)


def test_a_holder_hosts_crash_frees_the_lock_within_the_lease_and_b_restores_its_changes():
    run("b", f"{GUEST} repair")
    run("b", "pip install -q plhdemo==1.0")
    watch = Job("a", f"{GUEST} watch-mid-install {SITE} '~lhdemo'")
    pip = Job("a", "pip install plhdemo==3.0 >/lab/crash.out 2>/lab/crash.err")
    lab.wait_for(lambda: os.path.exists(lab.path("mid")) or os.path.exists(lab.path("missed")), 240, "mid-install")
    assert os.path.exists(lab.path("mid")), "pip finished before the watcher saw it mid-install"
    lab.nfs("crash", "a")
    crashed = time.monotonic()
    pip.kill()
    watch.kill()
    try:
        got = run("b", f"{GUEST} acquire exclusive", bound=180).stdout.strip()
        after = time.monotonic() - crashed
        note(
            f"a crashed holding LOCK_EX mid-install (lease {LEASE} s): b's blocking flock {got} s, "
            f"{after:.1f} s after the crash as the host saw it"
        )
        assert after <= 2 * LEASE + MARGIN
        stale = _records("b")
        status = run("b", "piplockhook status").stdout
        note(
            f"a's holder file after the crash: {stale}; b's status: {[x for x in status.splitlines() if x.startswith('held by')]}; then {_records('b')}"
        )
        assert len(stale) == 1 and "held by: nobody" in status and _records("b") == []
        # a's journal (issue 28) lies beside the lock on the export: b's first command
        # that takes the lock puts back what a's pip had changed, in one line.
        verify = run("b", "piplockhook verify --json", check=False)
        restored = [x for x in verify.stderr.splitlines() if "restored this environment after a pip died" in x]
        note(f"b's first locking command after the crash (verify): {restored}")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert json.loads(verify.stdout)["problems"] == []
        assert len(restored) == 1 and " on plh-a, " in restored[0] and "back: plhdemo 1.0" in restored[0]
        assert "plhdemo==1.0" in run("b", "PIPLOCKHOOK=0 pip freeze").stdout
        run("b", "pip install -q plhdemo==3.0")  # and pip works on
        assert "plhdemo==3.0" in run("b", "PIPLOCKHOOK=0 pip freeze").stdout
    finally:
        lab.nfs("boot", "a")
        lab.nfs("mount", "v4", "a")
