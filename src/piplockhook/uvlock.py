"""The lock file uv takes for an interpreter that is not a virtual environment.

For a virtual environment, ``--target DIR`` and ``--prefix DIR`` uv locks
``<dir>/.lock``, the file we lock too. For any other interpreter (a system
Python, a Docker image's, a conda environment's) uv locks
``<temp dir>/uv-<digest>.lock`` instead (``Interpreter::lock`` in
crates/uv-python/src/interpreter.rs): the temp dir is Rust's
``env::temp_dir()`` ($TMPDIR as given, else /tmp) and the digest is uv's
``cache_digest`` of the interpreter's ``sys.executable``: SeaHash over what
Rust's ``impl Hash for Path`` writes, as the hex of the little-endian u64
(crates/uv-cache-key/src/digest.rs, "stable across releases and platforms").
tests/test_uv_system.py checks the names against a real uv.

uv hashes ``sys.executable`` as the interpreter reports it, symlinks and all,
so ``python3`` and ``python3.12`` get different files: a pip locks the file of
every name in the interpreter's directories that leads to the same program.
Imported only where one of these files is wanted (the pip side of a venv never
imports it).

On Windows, Rust hashes a path's prefix first (``C:`` is ``Prefix::Disk``:
its variant index as an isize, then the upper-cased drive letter), then the
components after it, separated by ``\\`` or ``/``; the temp dir is
``GetTempPath``'s (TMP, TEMP, USERPROFILE, the Windows directory). Windows
keeps the spelling a program was started by: ``sys.executable`` is
``c:\\program files\\...`` when that is what was typed, and uv hashes it as
it is, so a pip locks the file of its own spelling and of the canonical one
(``os.path.realpath``); a third spelling (a ``--python`` typed otherwise)
names a file no pip takes. Checked against uv.exe 0.13.9 under Wine 10
(tests/test_uvlock_windows.py).
"""

from __future__ import annotations

import os
import sys

_MASK = (1 << 64) - 1
_MULTIPLIER = 0x6EED0E9DA4D94A4F
_SEEDS = (0x16F11FE89B0D677C, 0xB480A793D8E6C86C, 0x6FE2E5AAF078EBC9, 0x14F994A4C5259381)  # seahash 4


def _diffuse(x: int) -> int:
    x = (x * _MULTIPLIER) & _MASK
    x ^= (x >> 32) >> (x >> 60)
    return (x * _MULTIPLIER) & _MASK


def seahash(data: bytes) -> int:
    """seahash 4's streaming ``SeaHasher`` over `data`, default seeds."""
    a, b, c, d = _SEEDS
    whole = len(data) - len(data) % 8
    for start in range(0, whole, 8):
        a, b, c, d = b, c, d, _diffuse(a ^ int.from_bytes(data[start : start + 8], "little"))
    if whole < len(data):
        a = _diffuse(a ^ int.from_bytes(data[whole:], "little"))
    return _diffuse(a ^ b ^ c ^ d ^ len(data))


def _chunks(components: list[bytes]) -> bytes:
    # Each component's bytes, then the usize ``chunk_bits``, a rotating sum of
    # the component lengths that keeps ``a/bc`` from ``ab/c``.
    bits = 0
    for component in components:
        bits = (bits + len(component)) & _MASK
        bits = ((bits >> 2) | (bits << 62)) & _MASK
    return b"".join(components) + bits.to_bytes(8, "little")


def _rust_path_hash_input(path: bytes) -> bytes:
    """What Rust's ``impl Hash for Path`` (Unix) writes: the components
    (no separators, no ``.`` components), then their ``chunk_bits``."""
    components = [c for c in path.split(b"/") if c and c != b"."]
    if path.startswith(b"./") or path == b".":
        components.insert(0, b".")  # a leading `.` is a component; later ones are not
    return _chunks(components)


_DISK = 5  # Rust's std::path::Prefix::Disk, the sixth variant


def _rust_windows_path_hash_input(path: str) -> bytes:
    """What Rust's ``impl Hash for Path`` (Windows) writes for a drive path
    (``C:...``) or a plain one: the prefix, then the components as on Unix,
    with ``\\`` and ``/`` both separators. Other prefixes (``\\\\?\\``,
    UNC) hash as plain paths here, not as uv would: no such name is ours."""
    data = path.encode("utf-8", "surrogatepass")  # WTF-8, as an OsStr on Windows
    head = b""
    if len(data) >= 2 and data[1:2] == b":" and data[:1].isalpha():
        head = _DISK.to_bytes(8, "little") + data[:1].upper()
        data = data[2:]
    parts = data.replace(b"\\", b"/").split(b"/")
    components = [c for i, c in enumerate(parts) if c and (c != b"." or i == 0)]
    return head + _chunks(components)


def digest(path: str, windows: bool = sys.platform == "win32") -> str:
    """uv's ``cache_digest`` of a path: 16 hex digits."""
    data = _rust_windows_path_hash_input(path) if windows else _rust_path_hash_input(os.fsencode(path))
    return seahash(data).to_bytes(8, "little").hex()


def _temp_dir() -> str:
    if sys.platform == "win32":  # GetTempPath's order
        for name in ("TMP", "TEMP", "USERPROFILE"):
            if os.environ.get(name):
                return os.environ[name]
        return os.environ.get("SystemRoot", "C:\\Windows")
    return os.environ.get("TMPDIR", "/tmp")  # set but empty: uv uses the working directory


def lock_path(executable: str, temp_dir: str | None = None) -> str:
    """The file uv locks for the non-virtual interpreter `executable`."""
    if temp_dir is None:
        temp_dir = _temp_dir()
    return os.path.abspath(os.path.join(temp_dir, f"uv-{digest(executable)}.lock"))


def executable_names(executable: str = sys.executable) -> list[str]:
    """`executable` and every other name uv may know this interpreter by: the
    ``python``, ``python3``, ``python3.X`` beside it or its target, also
    through the directories of $PATH that are the same directory."""
    try:
        program = os.path.realpath(executable)
        directories = {os.path.dirname(executable), os.path.dirname(program)}
        same = {os.path.realpath(d) for d in directories}
        directories.update(d for d in os.environ.get("PATH", "").split(os.pathsep) if d and os.path.realpath(d) in same)
        basenames = {os.path.basename(executable), "python", "python3", "python%d.%d" % sys.version_info[:2]}
        found = {executable}
        for directory in directories:
            for name in basenames:
                candidate = os.path.join(directory, name)
                if os.path.realpath(candidate) == program:
                    found.add(candidate)
        return sorted(found)
    except (OSError, ValueError):  # an odd path: the name we run by still counts
        return [executable]


def interpreter_locks(executable: str = sys.executable) -> list[tuple[str, str]]:
    """[(uv's lock file, the interpreter name it is for)], in locking order."""
    if not executable:
        return []
    if sys.platform == "win32":  # the spelling it was started by, and the canonical one
        try:
            names = {executable, os.path.realpath(executable)}
        except (OSError, ValueError):
            names = {executable}
        return sorted({lock_path(name): name for name in names}.items())
    return sorted({lock_path(name): name for name in executable_names(executable)}.items())
