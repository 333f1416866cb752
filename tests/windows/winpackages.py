"""The Windows tier's own test distributions, beside tests/support/packages.py's.

``plhwinsdist`` is an sdist (so pip's build isolation runs) whose backend,
``plh_winbackend``, is tests/support/plh_backend.py plus the optional
``prepare_metadata_for_build_wheel`` hook. Without that hook pip's
in-process helper builds the wheel while preparing metadata and then copies
it with ``shutil.copy2``, which on Windows calls ``CopyFile2``: Wine 8 does
not have it and aborts the build. Real backends (setuptools, hatchling, flit)
have the hook.
"""

import io
import os
import re
import tarfile

from plh_backend import write_wheel

WIN_SDIST = "plhwinsdist"
WIN_BACKEND = "plh-winbackend"

BACKEND = """
import os

from plh_backend import _project, build_wheel, get_requires_for_build_wheel  # noqa: F401


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version = _project()
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info))
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n")
    return info
"""


def build_all(directory):
    write_wheel(directory, WIN_BACKEND, "1.0", {"plh_winbackend.py": BACKEND})
    root = f"{WIN_SDIST}-1.0"
    files = {
        "pyproject.toml": '[build-system]\nrequires = ["plh-backend", "plh-winbackend"]\nbuild-backend = "plh_winbackend"\n',
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {WIN_SDIST}\nVersion: 1.0\n",
        "plh_project.txt": f"{WIN_SDIST} 1.0\n",
        f"{WIN_SDIST}/__init__.py": "VERSION = '1.0'\n",
    }
    with tarfile.open(os.path.join(directory, f"{root}.tar.gz"), "w:gz") as tar:
        for relative, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{root}/{relative}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def with_version(wheel, version, directory):
    """A copy of `wheel` (wrapt's, its extension included) that says it is
    `version`, in `directory`: installing it over the original replaces every
    file, as an upgrade to a real newer release does."""
    import base64
    import hashlib
    import zipfile

    name, old = os.path.basename(wheel).split("-")[:2]
    old_info, new_info = f"{name}-{old}.dist-info/", f"{name}-{version}.dist-info/"
    target = os.path.join(directory, os.path.basename(wheel).replace(f"-{old}-", f"-{version}-", 1))
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        records = []
        for item in source.infolist():
            data = source.read(item)
            path = new_info + item.filename[len(old_info) :] if item.filename.startswith(old_info) else item.filename
            if path == new_info + "METADATA":
                data = re.sub(rb"^Version: *\S+", f"Version: {version}".encode(), data, count=1, flags=re.M)
            if path == new_info + "RECORD":
                continue
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{path},sha256={digest},{len(data)}")
            out.writestr(path, data)
        records.append(f"{new_info}RECORD,,")
        out.writestr(new_info + "RECORD", "\n".join(records) + "\n")
    return target
