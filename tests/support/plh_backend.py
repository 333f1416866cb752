"""A tiny PEP 517 build backend, shipped by the tests as a local wheel.

Test sdists name it in ``build-system.requires``, so installing them makes pip
start its build-isolation child (``__pip-runner__.py install --prefix ...``)
without touching the network. The tests also use ``write_wheel`` directly to
make their local wheels.
"""

import base64
import hashlib
import os
import time
import zipfile


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def write_wheel(directory, name, version, files, requires=(), entry_points=""):
    """Write a pure-Python wheel of `files` ({path: text or bytes}), with
    `entry_points` as its entry_points.txt; return its path."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    entries = dict(files)
    entries[f"{info}/METADATA"] = metadata
    entries[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: piplockhook-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if entry_points:
        entries[f"{info}/entry_points.txt"] = entry_points
    record = []
    path = os.path.join(directory, f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name_in_wheel, text in sorted(entries.items()):
            data = text if isinstance(text, bytes) else text.encode()
            whl.writestr(name_in_wheel, data)
            record.append(f"{name_in_wheel},{_record_hash(data)},{len(data)}")
        record.append(f"{info}/RECORD,,")
        whl.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


def _project():
    # plh_project.txt: "name version" on one line; the package is the folder named after it.
    with open("plh_project.txt") as f:
        name, version = f.read().split()
    return name, version


def get_requires_for_build_wheel(config_settings=None):
    return []


def _barrier():
    # Tests hold a build here: the backend says it started, then waits
    # (bounded) for the test to let it go.
    barrier = os.environ.get("PLH_BUILD_BARRIER")
    if not barrier:
        return
    open(barrier + ".started", "w").close()
    for _ in range(6000):
        if os.path.exists(barrier):
            return
        time.sleep(0.01)
    raise RuntimeError("build barrier not released within 60s")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _barrier()
    name, version = _project()
    package = name.replace("-", "_")
    files = {}
    for folder, _, names in os.walk(package):
        for filename in names:
            if filename.endswith(".py"):
                with open(os.path.join(folder, filename)) as f:
                    files[os.path.join(folder, filename).replace(os.sep, "/")] = f.read()
    return os.path.basename(write_wheel(wheel_directory, name, version, files))
