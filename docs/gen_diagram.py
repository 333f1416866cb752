"""Write the docs' pictures, plain SVGs (no JavaScript, no CDN), so they show
offline, on a forge and in any browser:

- docs/install-phases.svg: one `pip install`, phase by phase, and the lock
  mode it holds in each (STEPS);
- docs/two-pips.svg: two pips meeting, install beside list and install beside
  uninstall, on a time line (SCENES);
- docs/which-lock.svg: which lock file a pip takes, by kind of environment
  (WHICH_LOCK).

    python docs/gen_diagram.py

tests/slow/test_docs_samples.py checks that each file is what this writes and
that STEPS is the sequence of lock events of a real install;
tests/fast/test_docs.py checks SCENES against the lock's rules and
WHICH_LOCK against src/piplockhook/locations.py.
"""

from __future__ import annotations

import os
from xml.sax.saxutils import escape

# (kind, mode, text): "lock"/"unlock" are arrows to the lock file, "work" a
# phase of pip's own under the mode held then. Lines split at "\n".
STEPS = [
    ("lock", "shared", "turnstile, then shared lock"),
    ("work", "shared", "resolve, download, build wheels\n(other pips may read and build too)"),
    ("unlock", "shared", "release shared"),
    ("lock", "exclusive", "turnstile held, exclusive lock"),
    ("work", "exclusive", "re-check what is installed now"),
    ("work", "exclusive", "remove old versions, write new files"),
    ("unlock", "exclusive", "release"),
]

COLORS = {"shared": "#bbdefb", "exclusive": "#ffcc80"}
WIDTH, PIP_X, LOCK_X, LINE = 640, 110, 470, 18
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="13"'


def text(
    x: float, y: float, body: str, anchor: str = "middle", extra: str = "", size: int = 13, family: str = ""
) -> str:
    font = FONT.replace('"13"', f'"{size}"')
    if family:
        font = font.replace("Helvetica, Arial, sans-serif", family)
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}" {font}{extra}>{escape(body)}</text>'


def svg() -> str:
    top = 70
    shapes, y, held_since = [], top, {}
    for kind, mode, label in STEPS:
        lines = label.split("\n")
        if kind == "work":
            height = LINE * len(lines) + 12
            shapes.append(
                f'<rect x="{PIP_X - 90}" y="{y}" width="{LOCK_X - PIP_X + 30}" height="{height}" '
                f'rx="4" fill="#fffde7" stroke="#9e9e9e"/>'
            )
            for i, line in enumerate(lines):
                shapes.append(text(PIP_X - 80, y + 20 + i * LINE, line, anchor="start"))
            y += height + 14
            continue
        y += 22
        dash = ' stroke-dasharray="6 4"' if kind == "unlock" else ""
        shapes.append(text((PIP_X + LOCK_X) / 2, y - 8, label))
        shapes.append(
            f'<line x1="{PIP_X}" y1="{y}" x2="{LOCK_X - 10}" y2="{y}" stroke="#424242"{dash} marker-end="url(#arrow)"/>'
        )
        if kind == "lock":
            held_since[mode] = y
        else:
            start = held_since.pop(mode)
            shapes.insert(
                0,
                f'<rect x="{LOCK_X - 8}" y="{start}" width="16" height="{y - start}" '
                f'fill="{COLORS[mode]}" stroke="#616161"/>',
            )
            shapes.append(
                text(LOCK_X + 16, (start + y) / 2 + 4, f"{mode} lock held", anchor="start", extra=' font-weight="bold"')
            )
        y += 14
    height = y + 30
    header = [
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#424242"/></marker></defs>',
    ]
    for x, name in ((PIP_X, "pip install"), (LOCK_X, "<venv>/.lock")):
        header.append(f'<rect x="{x - 70}" y="14" width="140" height="32" rx="4" fill="#e8eaf6" stroke="#3f51b5"/>')
        header.append(text(x, 35, name))
        header.append(f'<line x1="{x}" y1="46" x2="{x}" y2="{height - 14}" stroke="#9e9e9e"/>')
    body = "\n".join(header + shapes)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="One pip install, phase by phase">\n'
        f"<title>One pip install, phase by phase, and its lock mode in each</title>\n{body}\n</svg>\n"
    )


HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "install-phases.svg")

# Two pips meeting. Each scene: a title, its lanes (the pip commands) and
# their segments (lane, start, end, what: "shared"/"exclusive" held, or
# "waiting"; a label), on a time line from 0 to SCENE_END.
SCENES = [
    (
        "pip install beside pip list",
        ["pip install", "pip list"],
        [
            (0, 0.0, 4.5, "shared", "resolve, download, build"),
            (0, 4.5, 5.5, "waiting", "waits"),
            (0, 5.5, 8.0, "exclusive", "re-check, write"),
            (1, 1.0, 5.5, "shared", "lists (reads beside it)"),
            (1, 6.5, 8.0, "waiting", "waits"),
            (1, 8.0, 9.5, "shared", "lists"),
        ],
    ),
    (
        "pip install beside pip uninstall",
        ["pip install", "pip uninstall"],
        [
            (1, 0.0, 3.0, "exclusive", "removes"),
            (0, 0.5, 3.0, "waiting", "waits"),
            (0, 3.0, 6.5, "shared", "resolve, download, build"),
            (1, 5.0, 6.5, "waiting", "queues"),
            (1, 6.5, 8.0, "exclusive", "removes"),
            (0, 6.5, 8.0, "waiting", "waits"),
            (0, 8.0, 10.0, "exclusive", "re-check, write"),
        ],
    ),
]
SCENE_END = 10.0
WAIT_COLOR = "#eeeeee"
TWO_PIPS_PATH = os.path.join(HERE, "two-pips.svg")

# Which lock file a pip run takes: (the run, piplockhook's own file, uv's file
# that it also takes, "" where none).
WHICH_LOCK = [
    ("pip in a virtual environment", "<venv>/.lock", "(the same file)"),
    ("pip in a conda environment", "<prefix>/.lock", "$TMPDIR/uv-<digest>.lock"),
    ("pip of a system, Docker or pyenv Python", "<site-packages>/.piplockhook.lock", "$TMPDIR/uv-<digest>.lock"),
    ("pip install --user", "<user base>/.piplockhook.lock", ""),
    ("pip install --target DIR (or --prefix DIR)", "DIR/.lock", "(the same file)"),
    ("PIPLOCKHOOK_LOCKFILE=PATH", "PATH", "$TMPDIR/uv-<digest>.lock outside venvs"),
]
WHICH_LOCK_PATH = os.path.join(HERE, "which-lock.svg")


def _frame(width: float, height: float, label: str, title: str, body: list) -> str:
    inner = "\n".join([f'<rect width="{width}" height="{height}" fill="white"/>', *body])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">\n'
        f"<title>{escape(title)}</title>\n{inner}\n</svg>\n"
    )


def two_pips_svg() -> str:
    left, right, lane_height = 130, WIDTH - 20, 34
    scale = (right - left) / SCENE_END
    body, y = [], 10
    for title, lanes, segments in SCENES:
        body.append(text(20, y + 18, title, anchor="start", extra=' font-weight="bold"'))
        y += 30
        for index, lane in enumerate(lanes):
            lane_y = y + index * (lane_height + 8)
            body.append(text(20, lane_y + 22, lane, anchor="start"))
            body.append(
                f'<line x1="{left}" y1="{lane_y + lane_height}" x2="{right}" y2="{lane_y + lane_height}" stroke="#9e9e9e"/>'
            )
            for lane_index, start, end, what, label in segments:
                if lane_index != index:
                    continue
                x, w = left + start * scale, (end - start) * scale
                fill = WAIT_COLOR if what == "waiting" else COLORS[what]
                dash = ' stroke-dasharray="4 3"' if what == "waiting" else ""
                body.append(
                    f'<rect x="{x:g}" y="{lane_y}" width="{w:g}" height="{lane_height}" rx="3" '
                    f'fill="{fill}" stroke="#616161"{dash}/>'
                )
                body.append(text(x + w / 2, lane_y + 14, label, size=11))
                if what != "waiting":
                    body.append(text(x + w / 2, lane_y + 28, what, extra=' font-style="italic"', size=11))
        y += len(lanes) * (lane_height + 8) + 10
    legend = [("shared", COLORS["shared"]), ("exclusive", COLORS["exclusive"]), ("waiting", WAIT_COLOR)]
    for i, (name, color) in enumerate(legend):
        body.append(f'<rect x="{left + i * 130}" y="{y}" width="16" height="16" fill="{color}" stroke="#616161"/>')
        body.append(text(left + i * 130 + 22, y + 13, name, anchor="start"))
    body.append(text(right, y + 13, "time →", anchor="end"))
    return _frame(
        WIDTH,
        y + 30,
        "Two pips meeting: install beside list, install beside uninstall",
        "Two pips meeting: which lock each holds, and when it waits",
        body,
    )


def which_lock_svg() -> str:
    width, row, top = 880, 34, 44
    cols = (20, 330, 640)
    body = [
        text(cols[0], 26, "this pip run", anchor="start", extra=' font-weight="bold"'),
        text(cols[1], 26, "locks this file", anchor="start", extra=' font-weight="bold"'),
        text(cols[2], 26, "and uv's", anchor="start", extra=' font-weight="bold"'),
    ]
    for i, (run, own, uv) in enumerate(WHICH_LOCK):
        y = top + i * row
        body.append(
            f'<rect x="10" y="{y}" width="{width - 20}" height="{row - 6}" rx="4" fill="#fffde7" stroke="#9e9e9e"/>'
        )
        body.append(text(cols[0], y + 19, run, anchor="start"))
        body.append(
            f'<line x1="{cols[1] - 22}" y1="{y + 14}" x2="{cols[1] - 6}" y2="{y + 14}" stroke="#424242" marker-end="url(#arrow)"/>'
        )
        body.append(text(cols[1], y + 19, own, anchor="start", family="monospace"))
        body.append(text(cols[2], y + 19, uv or "–", anchor="start", family="monospace"))
    body.insert(
        0,
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#424242"/></marker></defs>',
    )
    return _frame(
        width,
        top + len(WHICH_LOCK) * row + 10,
        "Which lock file a pip run takes, by kind of environment",
        "Which lock file a pip run takes, by kind of environment",
        body,
    )


PICTURES = {PATH: svg, TWO_PIPS_PATH: two_pips_svg, WHICH_LOCK_PATH: which_lock_svg}

if __name__ == "__main__":
    for path, draw in PICTURES.items():
        with open(path, "w") as f:
            f.write(draw())
        print(f"wrote {path}")
