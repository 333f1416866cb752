"""The modules of ours a pip process imports, stated once: tests/fast/test_layers.py
follows the imports from the gate through the source, and
tests/slow/test_pip_imports.py watches a real hooked pip load them."""

ROOT = "__init__"  # the package piplockhook itself

# What a venv's pip process imports of ours (uvlock too, outside venvs; lock.holders
# and lock.nesting's ancestry check only when it waits or nests): each module costs
# it ~0.3-0.6 M instructions (benchmarks/pip_overhead.py).
PIP_PROCESS = {
    ROOT,
    "_gate",
    "state",
    "settings",
    "report",
    "locations",
    "uvlock",
    "lock",
    "lock._posix",
    "lock._windows",
    "lock.environment",
    "lock.nesting",
    "lock.holderfiles",
    "lock.holders",
    "pip",
    "pip.patches",
    "pip.command",
    "pip.working_set",
    "pip.importhooks",
    "pip.wrapt_import",
}
