"""piplockhook._wrapt_import: wrapt imported without the asyncio it does not
need then (issue 22). Each case runs in a fresh interpreter (asyncio and wrapt
must not be loaded before), against stand-in wrapt packages these tests write,
and against the wrapt installed here. The real-venv side is in
tests/slow/test_wrapt_asyncio.py."""

import os
import subprocess
import sys
import textwrap

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")

# The one statement the stand-in answers: wrapt >= 2.2's synchronization.py.
LIKE_WRAPT_22 = {
    "__init__.py": "from .synchronization import run_sync, uses\n",
    "synchronization.py": """
        import asyncio
        import sys

        def uses():
            return asyncio

        def run_sync(coro):
            return asyncio.run(coro)
        """,
}
STAND_IN_CASES = {
    # wrapt < 2.2 never imports asyncio
    "no asyncio": {
        "__init__.py": "from .synchronization import uses\n",
        "synchronization.py": "def uses(): return None\n",
    },
    # a wrapt that needs asyncio while it is imported: resolved at once
    "touches it at import": {
        "__init__.py": "from .synchronization import uses\n",
        "synchronization.py": "import asyncio\nLOCK = asyncio.Lock\ndef uses(): return asyncio\n",
    },
    # other forms of import are not ours to answer
    "from asyncio import": {
        "__init__.py": "from .synchronization import uses\n",
        "synchronization.py": "from asyncio import Lock\nimport asyncio as aio\ndef uses(): return Lock\n",
    },
    "another module": {**LIKE_WRAPT_22, "__init__.py": "import asyncio\nfrom .synchronization import uses\n"},
}

PRELUDE = """
import builtins, sys, types
original_import = builtins.__import__
from piplockhook.pip.wrapt_import import import_wrapt, stand_in_of
notes = []
wrapt = import_wrapt(notes.append)
assert builtins.__import__ is original_import, "__import__ left replaced"
getattr(wrapt, "uses", None)  # its submodule is deferred (issue 22): loaded on this first read
assert builtins.__import__ is original_import, "__import__ left replaced"
"""


def run(tmp_path, files, code):
    if files is not None:
        package = tmp_path / "wrapt"
        package.mkdir()
        for name, text in files.items():
            (package / name).write_text(textwrap.dedent(text))
    path = [str(tmp_path), SRC] if files is not None else [SRC]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), PIPLOCKHOOK="0")
    script = textwrap.dedent(PRELUDE) + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_asyncio_waits_for_its_first_use_and_a_later_import_gets_the_real_module(tmp_path):
    out = run(
        tmp_path,
        LIKE_WRAPT_22,
        """
        assert "asyncio" not in sys.modules and not notes
        stand_in = stand_in_of()
        assert stand_in is not None and wrapt.uses() is stand_in
        assert "asyncio" not in sys.modules, "sys.modules must never hold the stand-in"
        import asyncio
        assert type(asyncio) is types.ModuleType and asyncio.__file__ and sys.modules["asyncio"] is asyncio
        import importlib; assert importlib.import_module("asyncio") is asyncio
        async def double(x):
            return 2 * x
        assert wrapt.run_sync(double(21)) == 42
        assert wrapt.uses() is asyncio and stand_in_of() is None, "the real module replaces the stand-in"
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


def test_the_first_use_loads_asyncio_when_nobody_has(tmp_path):
    out = run(
        tmp_path,
        LIKE_WRAPT_22,
        """
        async def answer():
            return 42
        assert wrapt.run_sync(answer()) == 42
        assert type(sys.modules["asyncio"]) is types.ModuleType and wrapt.uses() is sys.modules["asyncio"]
        print(repr(stand_in_of()))
        """,
    )
    assert out.split() == ["None"]


@pytest.mark.parametrize("case", STAND_IN_CASES)
def test_other_wrapts_work_as_before(tmp_path, case):
    out = run(
        tmp_path,
        STAND_IN_CASES[case],
        """
        assert not notes, notes
        assert stand_in_of() is None
        used = wrapt.uses()
        assert used is None or used is sys.modules["asyncio"] or used is sys.modules["asyncio"].Lock, used
        print("asyncio" in sys.modules)
        """,
    )
    assert out.split() == [str(case != "no asyncio")]


def _with_a_synchronization_that_checks_its_asyncio():
    """LIKE_WRAPT_22, whose synchronization fails (at import) with the stand-in for asyncio."""
    files = dict(LIKE_WRAPT_22)
    files["synchronization.py"] = (
        textwrap.dedent(files["synchronization.py"])
        + "import types\nassert type(asyncio) is types.ModuleType, 'not the real asyncio'\n"
    )
    return files


def test_a_failure_of_the_trick_falls_back_to_a_plain_import_with_a_debug_line(tmp_path):
    # A wrapt that checks its asyncio's type while it is imported fails with
    # the stand-in; the plain import after it succeeds.
    files = _with_a_synchronization_that_checks_its_asyncio()
    out = run(
        tmp_path,
        files,
        """
        assert len(notes) == 1 and "not the real asyncio" in notes[0] and "plainly" in notes[0], notes
        assert type(wrapt.uses()) is types.ModuleType and wrapt.uses() is sys.modules["asyncio"]
        assert sys.modules["wrapt.synchronization"] is sys.modules["wrapt"].synchronization
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


def test_a_missing_wrapt_raises_as_a_plain_import_would(tmp_path):
    code = """
    import builtins, sys
    sys.modules["wrapt"] = None  # as if not installed
    original = builtins.__import__
    from piplockhook.pip.wrapt_import import import_wrapt
    notes = []
    try:
        import_wrapt(notes.append)
    except ImportError as exc:
        print(type(exc).__name__, exc.name, builtins.__import__ is original, notes)
    """
    env = dict(os.environ, PYTHONPATH=SRC, PIPLOCKHOOK="0")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["ModuleNotFoundError", "wrapt", "True", "[]"], result.stderr


def test_a_wrapt_imported_before_is_returned_as_it_is(tmp_path):
    code = """
    import sys, types
    sys.modules["wrapt"] = marker = types.ModuleType("wrapt")
    from piplockhook.pip.wrapt_import import import_wrapt
    print(import_wrapt() is marker, "asyncio" in sys.modules)
    """
    env = dict(os.environ, PYTHONPATH=SRC, PIPLOCKHOOK="0")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "False"], result.stderr


def test_the_real_wrapt_synchronizes_coroutines_and_threads(tmp_path):
    pytest.importorskip("wrapt")
    out = run(
        tmp_path,
        None,
        """
        version = tuple(int(p) for p in wrapt.__version__.split(".")[:2])
        assert "wrapt.synchronization" not in sys.modules and "wrapt.decorators" not in sys.modules
        synchronized = wrapt.synchronized  # deferred: its first read imports it, with the stand-in
        assert synchronized is sys.modules["wrapt.synchronization"].synchronized
        assert (stand_in_of() is not None) == (version >= (2, 2)), (wrapt.__version__, stand_in_of())
        assert "asyncio" not in sys.modules or version < (2, 2)

        @wrapt.synchronized
        def plain(x):
            return x + 1

        assert plain(1) == 2
        import asyncio

        @wrapt.synchronized
        async def twice(x):
            await asyncio.sleep(0)
            return 2 * x

        async def main():
            return await asyncio.gather(twice(1), twice(2))

        assert asyncio.run(main()) == [2, 4]
        assert stand_in_of() is None and "asyncio" in sys.modules
        print("ok", wrapt.__version__)
        """,
    )
    assert out.split()[0] == "ok"


def test_the_real_wrapt_defers_the_submodules_piplockhook_does_not_use(tmp_path):
    pytest.importorskip("wrapt")
    out = run(
        tmp_path,
        None,
        """
        from piplockhook.pip.wrapt_import import DEFERRED, complete_wrapt
        loaded = {n for n in sys.modules if n.startswith("wrapt.")}
        assert not loaded & {"wrapt." + sub for sub in DEFERRED}, loaded
        assert "__getattr__" in vars(wrapt) and "decorator" in dir(wrapt) and "caching" in dir(wrapt)
        wrapt.decorator = mine = object()  # set by someone meanwhile: stays theirs
        import wrapt.weakrefs  # a direct import works (plainly), and is the module wrapt's names come from
        assert wrapt.WeakFunctionProxy is wrapt.weakrefs.WeakFunctionProxy
        assert wrapt.weakrefs is sys.modules["wrapt.weakrefs"]
        class Mine(wrapt.ObjectProxy):  # subclassing a deferred class works
            pass
        assert isinstance(Mine(1), wrapt.ObjectProxy)
        try:
            wrapt.no_such_name
        except AttributeError as exc:
            assert "no_such_name" in str(exc)
        complete_wrapt()
        assert "__getattr__" not in vars(wrapt) and "__dir__" not in vars(wrapt)
        assert all(name in vars(wrapt) for name in wrapt.__all__), "every name bound, as a plain import binds them"
        assert wrapt.decorator is mine and wrapt.lru_cache is sys.modules["wrapt.caching"].lru_cache
        assert "asyncio" not in sys.modules, "synchronization came through the stand-in"
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


def test_a_deferred_submodule_that_fails_with_the_stand_in_is_imported_plainly(tmp_path):
    files = _with_a_synchronization_that_checks_its_asyncio()
    out = run(
        tmp_path,
        files,
        """
        assert len(notes) == 1 and "wrapt.synchronization" in notes[0] and "plainly" in notes[0], notes
        assert wrapt.uses() is sys.modules["asyncio"]
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


# wrapt 2.x's layout: __wrapt__ takes six names from the pure-Python wrappers,
# then the same names from the C extension _wrappers (a .py file stands in for it here).
NAMES = ("BoundFunctionWrapper", "CallableObjectProxy", "FunctionWrapper", "PartialCallableObjectProxy")
LIKE_WRAPT_25 = {
    "__init__.py": "from .__wrapt__ import FunctionWrapper, BaseObjectProxy\n",
    "__wrapt__.py": """
        import os
        from .wrappers import BoundFunctionWrapper, CallableObjectProxy, FunctionWrapper
        from .wrappers import ObjectProxy as BaseObjectProxy
        from .wrappers import PartialCallableObjectProxy
        if not os.environ.get("WRAPT_DISABLE_EXTENSIONS"):
            try:
                from ._wrappers import BoundFunctionWrapper, CallableObjectProxy, FunctionWrapper
                from ._wrappers import ObjectProxy as BaseObjectProxy
                from ._wrappers import PartialCallableObjectProxy
            except ImportError:
                pass
        """,
    "wrappers.py": "".join(f"class {n}: where = 'pure'\n" for n in (*NAMES, "ObjectProxy")),
    "_wrappers.py": "".join(f"class {n}: where = 'c'\n" for n in (*NAMES, "ObjectProxy")),
}
WRAPPERS_CASES = {
    # (what changes in LIKE_WRAPT_25, environment, is wrappers deferred, where
    # FunctionWrapper and BaseObjectProxy come from: as with a plain import)
    "the extension answers": ({}, {}, True, ("c", "c")),
    "no extension": ({"_wrappers.py": "raise ImportError('no C here')\n"}, {}, False, ("pure", "pure")),
    "an extension without a name": (
        {"_wrappers.py": "".join(f"class {n}: where = 'c'\n" for n in NAMES)},
        {},
        False,
        ("c", "pure"),
    ),
    "extensions disabled": ({}, {"WRAPT_DISABLE_EXTENSIONS": "1"}, False, ("pure", "pure")),
    "an extension that imports wrappers itself (wrapt 2.2)": (
        {"_wrappers.py": "from . import wrappers\n" + LIKE_WRAPT_25["_wrappers.py"]},
        {},
        False,
        ("c", "c"),
    ),
}


@pytest.mark.parametrize("case", WRAPPERS_CASES)
def test_the_pure_python_wrappers_wait_only_where_the_extension_answers(tmp_path, case, monkeypatch):
    changes, env, deferred, where = WRAPPERS_CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = run(
        tmp_path,
        {**LIKE_WRAPT_25, **changes},
        f"""
        assert not notes, notes
        assert ("wrapt.wrappers" not in sys.modules) == {deferred}, sorted(sys.modules)
        assert (wrapt.FunctionWrapper.where, wrapt.BaseObjectProxy.where) == {where!r}
        assert wrapt.wrappers is sys.modules["wrapt.wrappers"]  # a first read imports it
        assert (wrapt.FunctionWrapper.where, wrapt.BaseObjectProxy.where) == {where!r}, "the classes stay"
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


def test_a_placeholder_left_for_the_pure_python_wrappers_drops_the_trick(tmp_path):
    # __wrapt__ keeps one name from wrappers that it never takes from the
    # extension: the placeholder for it must never reach anyone.
    files = dict(LIKE_WRAPT_25)
    files["__wrapt__.py"] = "from .wrappers import ObjectProxy as Kept\n" + textwrap.dedent(files["__wrapt__.py"])
    files["_wrappers.py"] += "Kept = ObjectProxy\n"
    out = run(
        tmp_path,
        files,
        """
        assert len(notes) == 1 and "plainly" in notes[0] and "Kept" in notes[0], notes
        assert sys.modules["wrapt.__wrapt__"].Kept.where == "pure" and wrapt.FunctionWrapper.where == "c"
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


def test_the_real_wrapt_keeps_its_extension_classes_and_loads_the_rest_on_first_read(tmp_path):
    pytest.importorskip("wrapt")
    out = run(
        tmp_path,
        None,
        """
        import importlib
        deferred = "wrapt.wrappers" not in sys.modules
        assert not notes, notes
        assert wrapt.FunctionWrapper.__module__ != "wrapt.wrappers" or not deferred
        assert {"wrapt.patches", "wrapt.importer"}.isdisjoint(sys.modules), "piplockhook needs neither"
        assert wrapt.wrap_function_wrapper is importlib.import_module("wrapt.patches").wrap_function_wrapper
        assert callable(wrapt.when_imported) and wrapt.wrappers is sys.modules["wrapt.wrappers"]
        print("deferred" if deferred else "loaded", wrapt.__version__)
        """,
    )
    assert out.split()[0] in ("deferred", "loaded")
