"""Where the lock lives, as a pure function of the interpreter and pip's options."""

import os
import sys
import sysconfig
import tempfile
from types import SimpleNamespace

from piplockhook import locations


def test_virtual_environment_locks_uvs_file(monkeypatch):
    monkeypatch.setattr(sys, "prefix", "/envs/v")
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert locations.environment_location().path == "/envs/v/.lock"


def test_other_interpreters_lock_beside_their_packages_never_in_tmp(monkeypatch):
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    where = locations.environment_location()
    # Unlike uv's fallback (a file in the temp directory), the lock lives with
    # the packages it protects, never directly in a world-writable directory.
    assert where.path == os.path.join(sysconfig.get_paths()["purelib"], ".piplockhook.lock")
    assert os.path.dirname(where.path) != tempfile.gettempdir()


def test_target_prefix_root_and_user():
    assert locations.location_for_options(SimpleNamespace(target_dir="/t")).path == "/t/.lock"
    assert locations.location_for_options(SimpleNamespace(target_dir="", prefix_path="/p")).path == "/p/.lock"
    assert locations.location_for_options(SimpleNamespace(root_path="/r")).path == "/r/.lock"
    user = locations.location_for_options(SimpleNamespace(use_user_site=True))
    assert user.path.endswith(".piplockhook.lock") and "tmp" not in user.path.split(os.sep)[:2]
    assert locations.location_for_options(SimpleNamespace(target_dir="/t"), "/o/x.lock").path == "/o/x.lock"
