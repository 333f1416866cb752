"""Issue 28's kill-point sweep, for any platform's interpreter: a pip killed at
every step of its journal (PIPLOCKHOOK_TEST_JOURNAL_KILL, read only by the
journal: step 2j-1 is just before entry j is written, 2j just after it is
durable, the last just before the journal is removed) until it runs to its
end. After each kill the next `pip list` restores, and the tree (trees.tree:
paths and hashes of site-packages, the scripts folder, share/, RECORDs) must
be one of what pip leaves when the command fails there: the state before it,
then after each distribution it finished, in its order, never going back.

`venv` is tests/support/procs.py's Venv (Linux: killed by SIGKILL) or
tests/windows/winprocs.py's WinPython (Windows: TerminateProcess); both have
``pip(*args, env=, check=)``, ``env(**extra)``, ``path``, ``site_packages``.
"""

import os
import shutil

import trees

CASES = {
    # case: (installed before, the command)
    "install-new": ([], ["install", "plhj==1.0"]),
    "upgrade": (["plhj==1.0"], ["install", "plhj==2.0"]),
    "downgrade": (["plhj==2.0"], ["install", "plhj==1.0"]),
    "force-reinstall": (["plhj==1.0"], ["install", "--force-reinstall", "--no-deps", "plhj==1.0"]),
    "uninstall": (["plhj==1.0"], ["uninstall", "-y", "plhj"]),
    "three": (["plhj==1.0", "plhk==1.0", "plhl==1.0"], ["install", "plhj==2.0", "plhk==2.0", "plhl==2.0"]),
}
RESTORED = "WARNING: piplockhook: restored this environment after a pip died while changing it"
SCRIPTS = ("bin", "Scripts")  # where a wheel's console scripts go (POSIX, Windows)


def unhooked(venv, *args):
    return venv.pip(*args, env=venv.env(PIPLOCKHOOK="0"))


def set_state(venv, specs):
    """Exactly `specs` of the test distributions installed, over whatever a kill
    left: what they own (``owned``) removed, then installed by an unhooked pip the
    first time and copied back from what it installed after that (the same tree,
    byte for byte, in a fraction of the time: plhbig is 3000 modules to compile)."""
    for path in owned(venv, venv.path):
        full = os.path.join(venv.path, path)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)
    key = (venv.path, tuple(specs))
    if key in _SAVED:
        _copy(owned(venv, _SAVED[key]), _SAVED[key], venv.path)
        return
    if specs:
        unhooked(venv, "install", "--no-deps", *specs)
    _SAVED[key] = f"{venv.path}-state-{len(_SAVED)}"
    shutil.rmtree(_SAVED[key], ignore_errors=True)  # another session's
    _copy(owned(venv, venv.path), venv.path, _SAVED[key])


_SAVED = {}  # (venv path, specs): a folder laid out as the venv, with what set_state installed


def owned(venv, root):
    """The paths, relative to `root` (the venv, or a copy laid out as it), of what the test
    distributions and pip's stashes of them own: site-packages entries, share/, console scripts."""
    found = ["share"] if os.path.isdir(os.path.join(root, "share")) else []
    for folder in (os.path.relpath(venv.site_packages, venv.path), *SCRIPTS):
        if os.path.isdir(os.path.join(root, folder)):
            found += [os.path.join(folder, n) for n in sorted(os.listdir(os.path.join(root, folder))) if trees.ours(n)]
    return found


def _copy(paths, source, target):
    for path in paths:
        os.makedirs(os.path.dirname(os.path.join(target, path)), exist_ok=True)
        if os.path.isdir(os.path.join(source, path)) and not os.path.islink(os.path.join(source, path)):
            shutil.copytree(os.path.join(source, path), os.path.join(target, path), symlinks=True)
        else:
            shutil.copy2(os.path.join(source, path), os.path.join(target, path), follow_symlinks=False)


def expected_trees(venv, before, command):
    """The trees pip leaves when `command` fails after 0, 1, ... of its distributions."""
    set_state(venv, before)
    states = [trees.tree(venv)]
    if command[0] == "uninstall":
        unhooked(venv, *command)
        return [*states, trees.tree(venv)]
    out = unhooked(venv, *command).stdout
    order = out.split("Installing collected packages: ")[-1].splitlines()[0].split(", ")  # pip's order
    versions = dict(spec.split("==") for spec in command if "==" in spec)
    set_state(venv, before)
    for project in order:
        unhooked(venv, "install", "--no-deps", f"{project}=={versions[project]}")
        states.append(trees.tree(venv))
    return states


def kill_at(venv, command, step):
    return venv.pip(*command, env=venv.env(PIPLOCKHOOK_TEST_JOURNAL_KILL=step), check=False)


def sweep(venv, case, killed_status):
    """Kill the case's command at every journal step; return (the number of kill points,
    the trees pip leaves when it fails: for ``control``).
    `killed_status`: the exit status of a pip so killed (-9 for SIGKILL; 15 on Windows)."""
    before, command = CASES[case]
    states = expected_trees(venv, before, command)
    set_state(venv, before)
    journal = venv.lock_path + ".journal"
    reached, said, step = [], 0, 0
    while True:
        step += 1
        result = kill_at(venv, command, step)
        killed = result.returncode == killed_status
        assert killed or result.returncode == 0, (result.returncode, result.stderr)
        listed = venv.pip("list")
        said += RESTORED in listed.stderr
        assert "Traceback" not in listed.stderr, listed.stderr
        assert not os.path.exists(journal), f"step {step}: the journal is still there: {listed.stderr}"
        actual = trees.tree(venv)
        matches = [i for i, state in enumerate(states) if actual == state]
        assert matches, f"{case}, killed at step {step}: " + "\n".join(
            f"{p}: {a} (expected {e})" for p, a, e in trees.differences(actual, states[0])[:20]
        )
        reached.append(max(matches))
        assert reached == sorted(reached), f"{case}: went back to an earlier state at step {step}: {reached}"
        if not killed:
            break
        if max(matches) != 0:
            set_state(venv, before)
    assert reached[-1] == len(states) - 1  # the unkilled run finished
    assert said > 0
    print(f"{case}: {step - 1} kill points, states reached {reached}, 0 differences")
    return step - 1, states


def control(venv, case, kill_points, states):
    """The same kills with each journal removed before the next pip (as code that
    writes none): the first kill point that leaves a tree none of `states` (``sweep``'s),
    or None. Tried from the middle of the journal outwards, where a half-done
    replacement lies, and stopped at the first damage: the claim is that damage happens."""
    before, command = CASES[case]
    journal = venv.lock_path + ".journal"
    middle = kill_points // 2
    for step in sorted(range(2, kill_points, 2), key=lambda s: abs(s - middle)):
        set_state(venv, before)
        kill_at(venv, command, step)
        if os.path.exists(journal):
            os.unlink(journal)
        venv.pip("list")
        if trees.tree(venv) not in states:
            set_state(venv, before)
            return step
    return None
