"""piplockhook.pip.importhooks: wrapt's FunctionWrapper from its C extension
or its pure-Python wrappers alone, or a plain `import wrapt`. Each case runs in a fresh interpreter,
against stand-in wrapt packages these tests write and the wrapt installed here."""

import os
import subprocess
import sys
import textwrap

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")

PROBE = """
import sys
from piplockhook.pip.importhooks import import_wrapt, complete_wrapt
notes = []
got = import_wrapt(notes.append)
print(got.__name__, "wrapt" in sys.modules, notes)
import wrapt
complete_wrapt()
print(wrapt.FunctionWrapper is got.FunctionWrapper, hasattr(wrapt, "_wrappers") or "wrapt._wrappers" not in sys.modules)
"""


def run(tmp_path, code, **env):
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), SRC]), **env)
    environ.pop("WRAPT_DISABLE_EXTENSIONS", None) if "WRAPT_DISABLE_EXTENSIONS" not in env else None
    result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")


def test_the_installed_wrapt_gives_the_same_class_as_a_plain_import(tmp_path):
    first, second = run(tmp_path, PROBE)[:2]
    assert first.startswith("wrapt._wrappers False []") or first.startswith("wrapt "), first
    assert second == "True True", second


def test_wrapt_disable_extensions_means_the_pure_python_classes_alone(tmp_path):
    first, second = run(tmp_path, PROBE, WRAPT_DISABLE_EXTENSIONS="1")[:2]
    assert first in ("wrapt.wrappers False []", "wrapt True []"), first  # 1.x before __wrapt__: a plain import
    assert second == "True True"


def stand_in(tmp_path, files):
    package = tmp_path / "wrapt"
    package.mkdir()
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))


def test_a_wrapt_without_extension_gives_its_pure_python_classes_alone(tmp_path):
    # As wrapt 1.17 on 3.15, where no extension is built: wrapt/__init__.py never runs.
    stand_in(
        tmp_path,
        {
            "__init__.py": "from .wrappers import FunctionWrapper\nimport sys; sys.modules['plh_init_ran'] = sys\n",
            "wrappers.py": "from .exceptions import WrapperError\nclass FunctionWrapper: pass\n",
            "exceptions.py": "class WrapperError(Exception): pass\n",
        },
    )
    code = PROBE.replace('"wrapt" in sys.modules', '"plh_init_ran" in sys.modules')
    first, second = run(tmp_path, code)[:2]
    assert first == "wrapt.wrappers False []" and second == "True True"


def test_a_wrapt_with_neither_module_is_imported_plainly(tmp_path):
    stand_in(tmp_path, {"__init__.py": "class FunctionWrapper: pass\n"})
    first, second = run(tmp_path, PROBE)[:2]
    assert first == "wrapt True []" and second == "True True"


def test_a_wrapt_imported_before_is_returned_as_it_is(tmp_path):
    stand_in(tmp_path, {"__init__.py": "class FunctionWrapper: pass\n"})
    code = "import wrapt\nfrom piplockhook.pip.importhooks import import_wrapt\nprint(import_wrapt() is wrapt)"
    assert run(tmp_path, code)[0] == "True"


def test_a_missing_wrapt_raises_as_a_plain_import_would(tmp_path):
    # importhooks takes wrapt as it is imported (before pip runs); the gate catches this
    code = (
        "import sys\nsys.modules['wrapt'] = None\n"
        "try:\n    import piplockhook.pip.importhooks\nexcept ImportError as e:\n    print(type(e).__name__, e.name)"
    )
    assert run(tmp_path, code)[0] == "ModuleNotFoundError wrapt"
