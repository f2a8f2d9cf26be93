"""The ``@@@ <key>`` sections of nixfleet's own multi-step host commands (the safe switch's).

Only nixfleet's own words and base64 go in them: host text is framed by ``nixfleet.probe``.
"""

from __future__ import annotations


def split_keyed(output: list[str]) -> dict[str, list[str]]:
    """Split output at ``@@@ <key>`` lines into each key's lines.

    >>> split_keyed(["@@@ a", "1", "@@@ b", "@@@ c", "x", "y"])
    {'a': ['1'], 'b': [], 'c': ['x', 'y']}
    """
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output:
        if line.startswith("@@@ "):
            current = parts.setdefault(line[4:].strip(), [])
        elif current is not None:
            current.append(line)
    return parts
