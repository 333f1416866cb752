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
imports it). Unix only: Windows paths hash differently, and are not done.
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


def _rust_path_hash_input(path: bytes) -> bytes:
    """What Rust's ``impl Hash for Path`` (Unix) writes: each component's bytes
    (no separators, no ``.`` components), then the usize ``chunk_bits``, a
    rotating sum of the component lengths that keeps ``a/bc`` from ``ab/c``."""
    components = [c for c in path.split(b"/") if c and c != b"."]
    if path.startswith(b"./") or path == b".":
        components.insert(0, b".")  # a leading `.` is a component; later ones are not
    bits = 0
    for component in components:
        bits = (bits + len(component)) & _MASK
        bits = ((bits >> 2) | (bits << 62)) & _MASK
    return b"".join(components) + bits.to_bytes(8, "little")


def digest(path: str) -> str:
    """uv's ``cache_digest`` of a path: 16 hex digits."""
    return seahash(_rust_path_hash_input(os.fsencode(path))).to_bytes(8, "little").hex()


def lock_path(executable: str, temp_dir: str | None = None) -> str:
    """The file uv locks for the non-virtual interpreter `executable`."""
    if temp_dir is None:
        temp_dir = os.environ.get("TMPDIR", "/tmp")  # set but empty: uv uses the working directory
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
    if sys.platform == "win32" or not executable:
        return []
    return sorted({lock_path(name): name for name in executable_names(executable)}.items())
