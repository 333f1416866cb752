"""The modules of ours a pip process imports, stated once: tests/fast/test_layers.py
follows the imports from the gate through the source, and
tests/slow/test_pip_imports.py watches a real hooked pip load them."""

ROOT = "__init__"  # the package piplockhook itself: the startup gate

# What a venv's pip process imports of ours (uvlock too, outside venvs; lock.holders
# only when it waits, or an ancestor's hold is marked; pip.writing and lock.holders
# only in a command that writes): each module costs it ~0.25-1 M instructions
# (benchmarks/pip_overhead.py).
PIP_PROCESS = {
    ROOT,
    "settings",
    "report",
    "locations",
    "uvlock",
    "lock",
    "lock._posix",
    "lock._windows",
    "lock.environment",
    "lock.holderfiles",
    "lock.holders",
    "pip",
    "pip.patches",
    "pip.importhooks",
    "pip.writing",
    # issue 28: a writing pip's journal (pip install/uninstall import it; a reading pip
    # only where it finds a journal to restore)
    "pip.journaling",
    "journal",
    "journal.restore",
    "journal.wheelplan",
}
