"""uv's lock-file name for a non-virtual Windows interpreter, as pure logic
(fast tier, on any platform): Rust's Windows ``impl Hash for Path``."""

import pytest

from piplockhook import uvlock


@pytest.mark.parametrize(
    ("executable", "digest"),
    [
        # Files uv.exe 0.13.9 created under Wine 10.0 (Debian sid), run with
        # `uv pip install --python <this path>` for the official embeddable
        # CPython 3.13.2: uv hashes the spelling it was given, case and all.
        ("Z:\\tmp\\winpy\\python.exe", "ca078d85789c932f"),
        ("c:\\program files\\python 3.13\\python.exe", "5f64c4436dc1a07a"),
    ],
)
def test_digests_that_uv_exe_produced(executable, digest):
    assert uvlock.digest(executable, windows=True) == digest


def test_windows_paths_hash_by_components_and_drive():
    digest = uvlock.digest("C:\\Python313\\python.exe", windows=True)
    assert uvlock.digest("c:/Python313//./python.exe", windows=True) == digest  # drive letter upper-cased
    assert uvlock.digest("C:\\python313\\python.exe", windows=True) != digest  # the rest keeps its case, as uv does
    assert uvlock.digest("\\Python313\\python.exe", windows=True) != digest  # no drive: no prefix
    assert uvlock.digest("C:\\Python313\\python.exe", windows=False) != digest  # one component on Unix
