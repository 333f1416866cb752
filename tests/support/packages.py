"""The local wheels and sdists the tests install (built by the tests, no network)."""

import io
import os
import tarfile

from plh_backend import write_wheel

# A project with many files, in three versions whose file sets differ, so that
# upgrades and downgrades remove and add files (what concurrent pips break).
DEMO = "plhdemo"
DEMO_VERSIONS = ("1.0", "2.0", "3.0")
SMALL = "plhsmall"
SMALL_VERSIONS = ("1.0", "2.0")
BACKEND = "plh-backend"
SDIST = "plhsdist"
SLOW = "plhslow"  # an sdist (1.0) whose build the tests can hold, and a wheel (0.9)
TOOL = "plhtool"  # a console script `plhtool` whose target is the module plhtool.cli

VERIFY = '''
import os
VERSION = {version!r}
MODULES = {modules!r}


def verify():
    """Raise if any file of this version is missing (a half-removed install)."""
    here = os.path.dirname(__file__)
    missing = [m for m in MODULES if not os.path.exists(os.path.join(here, m + ".py"))]
    if missing:
        raise RuntimeError(f"{{__name__}} {{VERSION}}: {{len(missing)}} files missing")
    return VERSION
'''


def demo_files(package, version, count):
    modules = [f"mod_{i:03d}_{version.replace('.', '_')}" if i % 3 == 0 else f"mod_{i:03d}" for i in range(count)]
    files = {
        f"{package}/{m}.py": f"# {package} {version} {m}\nVALUE = {i}\n" + "#" * 2000 + "\n"
        for i, m in enumerate(modules)
    }
    files[f"{package}/__init__.py"] = VERIFY.format(version=version, modules=modules)
    return files


def build_all(directory):
    """Write every test distribution into `directory`."""
    for i, version in enumerate(DEMO_VERSIONS):
        write_wheel(directory, DEMO, version, demo_files(DEMO, version, 150 + 50 * i))
    for version in SMALL_VERSIONS:
        write_wheel(directory, SMALL, version, demo_files(SMALL, version, 3))
    with open(os.path.join(os.path.dirname(__file__), "plh_backend.py")) as f:
        write_wheel(directory, BACKEND, "1.0", {"plh_backend.py": f.read()})
    write_sdist(directory, SDIST, "1.0")
    write_sdist(directory, SLOW, "1.0")
    write_wheel(directory, SLOW, "0.9", {f"{SLOW}/__init__.py": "VERSION = '0.9'\n"})
    write_wheel(
        directory,
        TOOL,
        "1.0",
        {f"{TOOL}/__init__.py": "", f"{TOOL}/cli.py": "def main():\n    print('plhtool works')\n"},
        entry_points=f"[console_scripts]\n{TOOL} = {TOOL}.cli:main\n",
    )


def write_sdist(directory, name, version):
    """An sdist whose build needs `plh-backend`, i.e. pip's build isolation."""
    root = f"{name}-{version}"
    files = {
        "pyproject.toml": f'[build-system]\nrequires = ["{BACKEND}"]\nbuild-backend = "plh_backend"\n',
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "plh_project.txt": f"{name} {version}\n",
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
    }
    path = os.path.join(directory, f"{root}.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for relative, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{root}/{relative}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path
