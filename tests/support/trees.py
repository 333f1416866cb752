"""Issue 28's test distributions and the tree of an environment they are compared by.

Each distribution has what a wheel can put in an environment: a package (whose
files differ between versions), a top-level module, a console script and a
data file. ``tree(venv)`` is every path they (and pip's stash) can touch, with
a hash of each file (of byte-code without its header's mtime): site-packages entries of these distributions, ``~``
folders pip stashes into, and the whole of bin/ (Scripts\\ on Windows) and share/.
"""

import hashlib
import os
import stat

from plh_backend import write_wheel

JOURNALED = ("plhj", "plhk", "plhl")  # three small distributions, 1.0 and 2.0
BIG = "plhbig"  # one package of BIG_FILES modules, 1.0 and 2.0
BIG_FILES = 3000
VERSIONS = ("1.0", "2.0")


def files_of(name, version):
    tag = version.replace(".", "_")
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{name}/common.py": f"# {name} {version}\n",
        f"{name}/only_{tag}.py": "ONLY = True\n",  # a file the other version does not have
        f"{name}/cli.py": f"def main():\n    print('{name} {version}')\n",
        f"{name}_mod.py": f"VERSION = {version!r}\n",
        f"{name}-{version}.data/data/share/{name}/data.txt": f"{name} data {version}\n",
        f"{name}-{version}.data/data/share/{name}/only_{tag}.txt": "only\n",
    }
    return files


def build(directory):
    """Write the wheels of JOURNALED and BIG into `directory`."""
    for name in JOURNALED:
        for version in VERSIONS:
            entry_points = f"[console_scripts]\n{name} = {name}.cli:main\n"
            write_wheel(directory, name, version, files_of(name, version), entry_points=entry_points)
    for version in VERSIONS:
        files = {f"{BIG}/m{i:04d}.py": f"# {version} {i}\n" + "x = 1\n" * 20 for i in range(BIG_FILES)}
        files[f"{BIG}/__init__.py"] = f"VERSION = {version!r}\n"
        write_wheel(directory, BIG, version, files)


def ours(name):
    return name.startswith("~") or any(name.startswith(d) for d in (*JOURNALED, BIG)) or name == "__pycache__"


def tree(venv):
    """{relative path: hash, "dir" or "link:<target>"} of what these distributions touch."""
    site = venv.site_packages
    roots = [os.path.join(site, n) for n in sorted(os.listdir(site)) if ours(n)]
    roots += [
        os.path.join(venv.path, d) for d in ("bin", "Scripts", "share") if os.path.isdir(os.path.join(venv.path, d))
    ]
    found = {}
    for root in roots:
        for path in [root, *_walk(root)]:
            found[os.path.relpath(path, venv.path)] = _describe(path)
    return found


def _walk(folder):
    if not os.path.isdir(folder) or os.path.islink(folder):
        return
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        yield path
        yield from _walk(path)


def _describe(path):
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "link:" + os.readlink(path)
    if stat.S_ISDIR(mode):
        return "dir"
    if path.endswith(".exe"):
        # pip's Windows launcher for a console script ends with a zip written at install
        # time (its entries' times): two installs of one wheel differ there, so only the name counts.
        return "exe"
    with open(path, "rb") as f:
        data = f.read()
    # Byte-code and RECORD name the source's mtime (the pyc header, its hash in RECORD):
    # compared without it, two installs of one wheel are the same tree.
    if path.endswith(".pyc"):
        data = data[16:]
    elif os.path.basename(path) == "RECORD":
        lines = data.decode().splitlines()
        data = "\n".join(
            line.split(",")[0] if (".pyc," in line or ".exe," in line) else line for line in lines
        ).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def differences(actual, expected):
    """The paths where two trees differ, each with what it is in each ("-": absent)."""
    paths = sorted(set(actual) | set(expected))
    return [(p, actual.get(p, "-"), expected.get(p, "-")) for p in paths if actual.get(p) != expected.get(p)]
