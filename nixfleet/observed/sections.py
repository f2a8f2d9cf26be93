"""The ``@@ <name> [args]`` framing that multi-part fact commands use, and how to read it back."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """One ``@@``-headed block of a fact's output."""

    name: str
    args: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def arg(self, key: str, default: str = "") -> str:
        """The value of a ``key=value`` argument on the header line."""
        for a in self.args:
            k, sep, v = a.partition("=")
            if sep and k == key:
                return v
        return default


def split(output: list[str]) -> list[Section]:
    """Split fact output at ``@@ name args…`` lines; text before the first header is dropped.

    >>> [(s.name, s.args, s.lines) for s in split(["@@ ping rc=0", '{"ping":"pong"}', "@@ end"])]
    [('ping', ('rc=0',), ('{"ping":"pong"}',)), ('end', (), ())]
    """
    sections: list[Section] = []
    name: str | None = None
    args: tuple[str, ...] = ()
    lines: list[str] = []
    for line in output:
        if line.startswith("@@ "):
            if name is not None:
                sections.append(Section(name, args, tuple(lines)))
            head = line[3:].split()
            name, args, lines = (head[0] if head else ""), tuple(head[1:]), []
        elif name is not None:
            lines.append(line)
    if name is not None:
        sections.append(Section(name, args, tuple(lines)))
    return sections
