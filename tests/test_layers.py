"""The import rules of src/piplockhook, read from the source (AST).

Bottom to top: the lock (filelock with _posix/_windows, holders,
holderrecords, nesting, envlock) knows nothing of pip and reads no setting (envlock names
the Settings and LockLocation types only for the type checker); settings and
locations say what the environment asks for; the pip side (_gate,
pipwrappers, pipcommand, importhooks, policy) uses all of them;
the command line (cli, status, runner, fscheck, verify, records) reads
settings, locations and the lock, never the pip side; nothing imports the
CLI but __main__. A new module must take its place in this table.
"""

import ast
import functools
import os

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "piplockhook")

# module: the modules of ours it may import at run time ("__init__" is the package itself)
ALLOWED = {
    "__init__": set(),
    "__main__": {"cli"},
    "process": set(),
    "settings": set(),
    "uvlock": set(),
    "_posix": set(),
    "_windows": set(),
    "filelock": {"_posix", "_windows"},
    "holders": {"_windows", "report"},
    "holderrecords": {"filelock", "holders", "report"},
    "report": {"process"},
    "nesting": {"filelock", "holders", "process"},
    "envlock": {"filelock", "holderrecords", "holders", "nesting", "report"},
    "locations": {"filelock", "uvlock"},
    "policy": {"filelock"},
    "_wrapt_import": set(),
    "importhooks": {"_wrapt_import", "report", "settings"},
    "pipcommand": {"envlock", "filelock", "locations", "policy", "process", "report", "settings"},
    "pipwrappers": {"_wrapt_import", "filelock", "importhooks", "pipcommand", "policy", "report", "settings"},
    "_gate": {"pipwrappers", "process", "settings"},
    "fscheck": {"filelock"},
    "runner": {"envlock", "report"},
    "status": {"__init__", "holderrecords", "holders", "locations", "settings"},
    "records": set(),
    "scopes": set(),
    "findings": set(),
    "verify": {"envlock", "filelock", "findings", "records", "report", "scopes", "status"},
    "cli": {
        "__init__",
        "envlock",
        "filelock",
        "fscheck",
        "locations",
        "report",
        "runner",
        "settings",
        "status",
        "verify",
    },
}
# Imported only under `if TYPE_CHECKING:` (never at run time).
TYPES_ONLY = {"envlock": {"holders", "locations", "settings"}, "holderrecords": {"holders"}}
LOCK = {"filelock", "_posix", "_windows", "holders", "holderrecords", "nesting", "envlock"}
COMMAND_LINE = {"cli", "status", "runner", "fscheck", "records", "scopes", "findings", "verify", "__main__"}
# What a venv's pip process imports of ours (uvlock only outside venvs): each
# module costs it ~0.3-0.6 M instructions (benchmarks/pip_overhead.py).
PIP_PROCESS = {
    "__init__",
    "_gate",
    "process",
    "settings",
    "pipwrappers",
    "pipcommand",
    "importhooks",
    "_wrapt_import",
    "policy",
    "envlock",
    "filelock",
    "_posix",
    "_windows",
    "nesting",
    "holders",
    "holderrecords",
    "report",
    "locations",
    "uvlock",
}


def _is_type_checking(node):
    return isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"


@functools.cache
def imports_of(module, types_only=False):
    """The modules of ours that `module` imports anywhere in its body, at run
    time (or, with `types_only`, inside its `if TYPE_CHECKING:` blocks only)."""
    with open(os.path.join(SRC, module + ".py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    guarded = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if (id(node) in guarded) != types_only:
            continue
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
    typing_only = imports_of(module, types_only=True) - TYPES_ONLY.get(module, set())
    assert not typing_only, f"{module} imports {sorted(typing_only)} for types: not in TYPES_ONLY"


def _reach(start, graph):
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        for other in graph[module] - seen:
            seen.add(other)
            todo.append(other)
    return seen


def test_the_code_has_no_import_circle():
    graph = {module: imports_of(module) for module in modules()}
    for module in graph:
        assert module not in _reach(module, graph), f"an import circle goes through {module}"


def test_the_lock_knows_nothing_of_pip_or_of_the_settings():
    graph = {module: imports_of(module) for module in modules()}
    for module in LOCK:
        reached = _reach(module, graph) | {module}
        assert reached <= LOCK | {"process", "report"}, (module, sorted(reached - LOCK))


def test_the_command_line_never_reaches_the_pip_side():
    graph = {module: imports_of(module) for module in modules()}
    pip_only = {"_gate", "pipwrappers", "pipcommand", "importhooks", "_wrapt_import", "policy"}
    for module in COMMAND_LINE:
        assert not (_reach(module, graph) & pip_only), module
    assert [m for m in modules() if "cli" in graph[m]] == ["__main__"]


def test_a_pip_process_imports_the_modules_the_cost_is_counted_for():
    # The gate's imports, followed through the code: a new arrow that pulls
    # the command line (verify, status, ...) into every pip process fails here.
    graph = {module: imports_of(module) for module in modules()}
    assert _reach("_gate", graph) | {"_gate", "__init__"} == PIP_PROCESS


def test_the_checker_sees_every_form_of_import():
    assert imports_of("filelock") == {"_posix", "_windows"}  # under `if sys.platform`
    assert imports_of("_gate") == {"process", "settings", "pipwrappers"}  # inside start()
    assert "__init__" in imports_of("status")  # `import piplockhook`
    assert imports_of("envlock", types_only=True) == {"holders", "locations", "settings"}
    assert "uvlock" in imports_of("locations")  # inside a function
