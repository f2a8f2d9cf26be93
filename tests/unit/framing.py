"""Test data as a probe prints it: a captured file, or a tool's raw output framed as run.sh
frames one part's stdout (run.sh itself is run for real in test_datalayer.py)."""

from __future__ import annotations

import base64
from pathlib import Path

DATA = Path(__file__).parents[1] / "data"
BOUNDARY = "nixfleet-" + "0" * 24


def framed(key: str, out: bytes, rc: int = 0, err: str = "") -> list[str]:
    """The lines run.sh prints for one part ``key``."""
    b64 = base64.b64encode(out).decode() or "-"
    e = base64.b64encode(err.encode()).decode() or "-"
    return [
        f"{BOUNDARY} begin {key}",
        f"{BOUNDARY} part {key} {rc} 30 {b64} {e}",
        f"{BOUNDARY} end",
    ]


def lines(name: str) -> list[str]:
    """A captured probe output (``*.probe``)."""
    return (DATA / name).read_text().splitlines()


def tool(key: str, name: str) -> list[str]:
    """A tool's captured raw output (``systemctl … --output=json`` …) as part ``key`` of a probe."""
    return framed(key, (DATA / name).read_bytes())
