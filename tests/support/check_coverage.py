"""The fast tier's floor: line coverage of the lock and of the pip side.

    coverage run --source=src/piplockhook -m pytest -m "not slow"
    python tests/support/check_coverage.py   # tox run -e cov does both

The fast tier is what a change is checked with in seconds: the core must not
be checked only by the slow tier's real pips.
"""

import os
import sys

import coverage

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "piplockhook")
FLOORS = {
    # group: (modules, the lowest line coverage allowed, in per cent)
    "the lock": (
        ["lock/__init__", "lock/environment", "lock/holders", "lock/holderfiles", "lock/_posix"],
        70.0,
    ),
    "the pip side": (
        ["__init__", "pip/patches", "pip/importhooks", "pip/__init__"],
        50.0,
    ),
}


def main() -> int:
    data = coverage.Coverage(data_file=sys.argv[1] if len(sys.argv) > 1 else ".coverage")
    data.load()
    failed = False
    for group, (modules, floor) in FLOORS.items():
        statements = missing = 0
        for module in modules:
            _, lines, _, missed, _ = data.analysis2(os.path.join(SRC, module + ".py"))
            statements += len(lines)
            missing += len(missed)
        covered = 100.0 * (statements - missing) / statements
        verdict = "ok" if covered >= floor else "BELOW THE FLOOR"
        print(f"{group} ({', '.join(modules)}): {covered:.1f}% of {statements} lines (floor {floor:.0f}%): {verdict}")
        failed = failed or covered < floor
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
