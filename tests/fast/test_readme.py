"""README's first steps are what CI runs, word for word."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def first_steps():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    section = text.split("## First steps", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_first_steps_are_two_commands_and_ci_runs_them():
    commands = first_steps()
    assert len(commands) == 2
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        ci_lines = [line.strip() for line in f]
    for command in commands:
        assert command in ci_lines
