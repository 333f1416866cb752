"""What ``piplockhook verify`` finds: one Problem per thing wrong, and the Result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piplockhook.verify.repair import Action


class Problem:
    """One thing that is wrong, and the command that repairs it."""

    def __init__(
        self,
        kind: str,
        distribution: str,
        path: str,
        detail: str,
        repair: str,
        files: Sequence[str] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        # duplicate, no-metadata, no-record, half-written, bad-record, missing, size, hash,
        # entry-point, stash (moved back, or kept), leftover (a stash not needed), unowned
        self.kind = kind
        self.distribution = distribution  # "name version", or the leftover's name
        self.path = path
        self.detail = detail
        self.repair = repair
        self.files = list(files)
        self.actions = list(actions)  # the steps verify --repair makes itself; none: the user runs `repair`

    def line(self) -> str:
        return f"{self.distribution}: {self.detail}; repair: {self.repair}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "distribution": self.distribution,
            "path": self.path,
            "detail": self.detail,
            "repair": self.repair,
            "files": self.files,
            "repairable": bool(self.actions),
        }


class Result:
    def __init__(self, directories: list[str], quick: bool) -> None:
        self.directories = directories
        self.quick = quick
        self.problems: list[Problem] = []
        self.distributions = 0
        self.files = 0
        self.bytes = 0
        self.seconds = 0.0

    def summary(self) -> str:
        how = "sizes only (--quick)" if self.quick else "sizes and sha256"
        checked = f"{self.files} files, {self.bytes / 1e6:.1f} MB, {how}, {self.seconds:.1f}s"
        if not self.problems:
            plural = "" if self.distributions == 1 else "s"
            return f"piplockhook verify: no problems in {self.distributions} distribution{plural} ({checked})"
        count = f"{len(self.problems)} problem" + ("s" if len(self.problems) > 1 else "")
        broken = len({p.distribution for p in self.problems if p.kind not in ("leftover", "unowned")})
        ours = sum(1 for p in self.problems if p.actions)
        hint = f" (`piplockhook verify --repair` makes {ours} of them itself)" if ours else ""
        return (
            f"piplockhook verify: {count}, {broken} of {self.distributions} distributions damaged "
            f"({checked}); run the repairs in this order, while no pip runs{hint}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "directories": self.directories,
            "quick": self.quick,
            "distributions": self.distributions,
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
            "summary": self.summary(),
        }
