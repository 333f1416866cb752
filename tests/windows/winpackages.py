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
