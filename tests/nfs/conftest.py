"""The NFS tier: real pips on two hosts of the lab `.ci/nfs` boots.

Collected only when PLH_NFS=1 (`.ci/nfs test` sets it, with the lab up); the
normal `python -m pytest` run does not see these files at all.
"""

import os

collect_ignore_glob = [] if os.environ.get("PLH_NFS") == "1" else ["test_*.py"]


def pytest_configure(config):
    config.addinivalue_line("markers", "nfs: needs the three-host NFS lab (.ci/nfs test)")
