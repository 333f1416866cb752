"""Write docs/install-phases.svg: one `pip install`, phase by phase, and the
lock mode it holds in each. A plain SVG (no JavaScript, no CDN), so it shows
offline, on a forge and in any browser.

    python docs/gen_diagram.py

tests/test_docs_samples.py checks that the file is what this writes and that
STEPS is the sequence of lock events of a real install.
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


def text(x: float, y: float, body: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x}" y="{y}" text-anchor="{anchor}" {FONT}{extra}>{escape(body)}</text>'


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


PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "install-phases.svg")

if __name__ == "__main__":
    with open(PATH, "w") as f:
        f.write(svg())
    print(f"wrote {PATH}")
