"""The import rules of src/piplockhook, read from the source (AST).

The folders are the layers, bottom to top:

    base       settings, uvlock, filesystems                   (stdlib only; filesystems: check's table)
    voice      report                                          (the lines we write)
    journal    journal/     a writer's journal and its restore: files, not pip, not the lock
    lock       lock/        knows nothing of pip and reads no setting
    where      locations    which lock file a run takes
    pip/ and verify/        side by side: neither imports the other
    cli/ and the gate       the command line, and the package itself: the startup gate
    __main__

The rules: a module imports only from its own layer or below; pip/ and
verify/ never import each other; the lock reaches nothing above it (settings
and locations only for the type checker); the command line never reaches the
pip side; nothing outside cli/ but __main__ imports it; no circle; and a pip
process imports exactly the modules its cost is counted for (PIP_PROCESS,
here from the source and, in tests/slow/test_pip_imports.py, in a real
hooked pip). A new module needs no entry: its folder gives its layer.
"""

import ast
import functools
import os

import pytest
from layers import PIP_PROCESS, ROOT  # tests/support: the slow tier checks the same set in a real pip

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "piplockhook")

BASE = {"settings", "uvlock", "filesystems"}
RANK = {
    "base": 0,
    "voice": 1,
    "journal": 2,
    "lock": 3,
    "where": 4,
    "pip": 5,
    "verify": 5,
    "cli": 6,
    "gate": 6,
    "__main__": 7,
}


def modules():
    """Every module, by its dotted name under piplockhook ("lock.environment";
    a package by its own name, "lock"; the top package is ROOT)."""
    found = []
    for folder, _dirs, files in os.walk(SRC):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), SRC)[:-3].replace(os.sep, ".")
                found.append(ROOT if rel == "__init__" else rel.removesuffix(".__init__"))
    return sorted(found)


def _file_of(module):
    parts = [] if module == ROOT else module.split(".")
    path = os.path.join(SRC, *parts)
    return os.path.join(path, "__init__.py") if os.path.isdir(path) else path + ".py"


def layer(module):
    top = module.split(".")[0]
    if module == ROOT:
        return "gate"
    if module in BASE:
        return "base"
    if module == "report":
        return "voice"
    if module == "locations":
        return "where"
    return top


def _parents(module):
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _is_type_checking(node):
    return isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"


def _ours(dotted):
    """'piplockhook.lock.environment' -> 'lock.environment'; None if not ours."""
    if dotted == "piplockhook":
        return ROOT
    if dotted.startswith("piplockhook."):
        return dotted[len("piplockhook.") :]
    return None


@functools.cache
def imports_of(module, types_only=False):
    """The modules of ours that `module` imports anywhere in its body, at run
    time (or, with `types_only`, inside its `if TYPE_CHECKING:` blocks only),
    with the packages an import of a submodule runs first."""
    with open(_file_of(module), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    guarded = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    known = set(modules())
    found = set()
    for node in ast.walk(tree):
        if (id(node) in guarded) != types_only:
            continue
        if isinstance(node, ast.Import):
            names = [_ours(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = _ours(node.module)
            if base is None:
                continue
            # `from piplockhook.lock import holders, EXCLUSIVE`: a submodule, or a name of the package
            names = []
            for alias in node.names:
                sub = alias.name if base == ROOT else f"{base}.{alias.name}"
                names.append(sub if sub in known else base)
        else:
            continue
        for name in names:
            if name is not None:
                found |= {name} | _parents(name)
    found.discard(ROOT)  # every import of ours runs the package (the gate, stdlib only) first
    found.discard(module)
    return found - _parents(module) if module != ROOT else found


def _graph():
    return {module: imports_of(module) for module in modules()}


def _reach(start, graph):
    seen, todo = set(), [start]
    while todo:
        for other in graph[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen


def test_every_module_is_in_a_layer():
    assert {layer(m) for m in modules()} <= set(RANK), sorted(m for m in modules() if layer(m) not in RANK)


@pytest.mark.parametrize("module", modules())
def test_a_module_imports_from_its_own_layer_or_below(module):
    above = {m for m in imports_of(module) if RANK[layer(m)] > RANK[layer(module)]}
    assert not above, f"{module} ({layer(module)}) imports {sorted(above)} from a layer above it"
    beside = {m for m in imports_of(module) if RANK[layer(m)] == RANK[layer(module)] and layer(m) != layer(module)}
    assert not beside, f"{module} imports its sibling layer: {sorted(beside)}"


def test_the_gate_never_imports_the_command_line():
    assert not any(layer(m) == "cli" for m in _reach(ROOT, _graph()))


def test_the_code_has_no_import_circle():
    graph = _graph()
    for module in graph:
        assert module not in _reach(module, graph), f"an import circle goes through {module}"


def test_the_lock_knows_nothing_of_pip_or_of_the_settings():
    graph = _graph()
    for module in (m for m in graph if layer(m) == "lock"):
        reached = _reach(module, graph)
        # the journal (below it) knows nothing of pip or of the settings either
        assert {layer(m) for m in reached} <= {"lock", "journal", "voice", "base"}, (module, sorted(reached))
        assert "settings" not in reached, module
        # settings and locations name their types for the type checker only
        assert imports_of(module, types_only=True) <= {"settings", "locations", "lock.holders"}, module


def test_the_command_line_never_reaches_the_pip_side():
    graph = _graph()
    for module in (m for m in graph if layer(m) in ("cli", "verify")):
        assert not {m for m in _reach(module, graph) if layer(m) in ("pip", "gate")}, module


def test_nothing_but_main_imports_the_command_line():
    importers = {m for m, imported in _graph().items() if "cli" in imported and layer(m) != "cli"}
    assert importers == {"__main__"}


def test_a_pip_process_imports_the_modules_the_cost_is_counted_for():
    # The gate's imports, followed through the code: a new arrow that pulls
    # the command line (verify, status, ...) into every pip process fails here.
    assert _reach(ROOT, _graph()) | {ROOT} == PIP_PROCESS


def test_the_checker_sees_every_form_of_import():
    assert imports_of("lock") == {"lock._posix", "lock._windows"}  # under `if sys.platform`
    assert imports_of(ROOT) == {"settings", "pip", "pip.patches"}  # inside start()
    assert imports_of("cli.status") >= {"lock", "lock.holders"}  # `from piplockhook.lock import holders`
    assert imports_of("lock.environment", types_only=True) == {"lock.holders", "locations", "settings"}
    assert "uvlock" in imports_of("locations")  # inside a function


def test_every_test_module_has_its_own_name():
    # pytest imports test modules by their basename (no packages here): two
    # tiers with one name stop the whole suite's collection.
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    names = [
        name for _, _, files in os.walk(tests) for name in files if name.startswith("test_") and name.endswith(".py")
    ]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
