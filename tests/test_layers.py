"""The import rules of src/piplockhook, read from the source (AST).

Bottom to top: the startup gate asks config only once it knows the process is
pip, then installs the patches; the patches use policy, lock and
config; config names uv's lock files through uvlock (stdlib only); the lock owns the modes (policy uses them) and knows nothing of pip or
of the switches; the command line (cli, state, runner, fscheck) reads config
and lock, never the gate or the patches; nothing imports the CLI but
__main__. A new module must take its place in this table.
"""

import ast
import os

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "piplockhook")

# module: the modules of ours it may import ("__init__" is the package itself)
ALLOWED = {
    "__init__": set(),
    "_gate": {"config", "patches"},
    "uvlock": set(),
    "config": {"uvlock"},
    "_posix": set(),
    "_windows": set(),
    "report": set(),
    "lock": {"_posix", "_windows", "report"},
    "policy": {"lock"},
    "_wrapt_import": set(),
    "patches": {"_wrapt_import", "config", "lock", "policy", "report"},
    "fscheck": {"lock"},
    "runner": {"lock", "report"},
    "state": {"__init__", "config", "report"},
    "records": set(),
    "verify": {"lock", "records", "report", "state"},
    "cli": {"__init__", "config", "fscheck", "lock", "report", "runner", "state", "verify"},
    "__main__": {"cli"},
}
COMMAND_LINE = {"cli", "state", "runner", "fscheck", "records", "verify", "__main__"}
PIP_SIDE = {"_gate", "patches", "policy"}


def imports_of(module):
    """The modules of ours that `module` imports, anywhere in its body."""
    with open(os.path.join(SRC, module + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "piplockhook":
                names = [f"piplockhook.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            if name == "piplockhook":
                found.add("__init__")
            elif name.startswith("piplockhook."):
                found.add(name.split(".")[1])
    return found


def modules():
    return sorted(name[:-3] for name in os.listdir(SRC) if name.endswith(".py"))


def test_every_module_has_its_place():
    assert set(modules()) == set(ALLOWED)


@pytest.mark.parametrize("module", modules())
def test_imports_follow_the_layers(module):
    unexpected = imports_of(module) - ALLOWED.get(module, set())
    assert not unexpected, f"{module} imports {sorted(unexpected)}: not allowed by the layers (tests/test_layers.py)"


def test_the_rules_themselves_have_no_circle_and_keep_the_sides_apart():
    for module in COMMAND_LINE:
        assert not ALLOWED[module] & PIP_SIDE, module
    assert not any("cli" in allowed for module, allowed in ALLOWED.items() if module != "__main__")
    assert ALLOWED["config"] == {"uvlock"} and not ALLOWED["uvlock"] and ALLOWED["policy"] == {"lock"}

    def reach(module, seen):
        for other in ALLOWED[module]:
            assert other != module and other not in seen, f"import circle through {module} -> {other}"
            reach(other, seen | {module})

    for module in ALLOWED:
        reach(module, frozenset())


def test_the_checker_sees_every_form_of_import():
    assert imports_of("lock") == {"report", "_posix", "_windows"}
    assert imports_of("_gate") == {"config", "patches"}  # imported inside start()
    assert "__init__" in imports_of("state")
