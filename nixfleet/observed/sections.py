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


def concurrently(parts: list[tuple[str, str, str | None]]) -> str:
    """One POSIX shell script that runs several commands at once on the host and prints each
    one's output, in the given order, under a ``@@@ <key>`` line. ``parts`` holds (key, command,
    required program or None); a part whose program is missing prints nothing. The wall time is
    that of the slowest part, and it is one SSH round trip.

    >>> print(concurrently([("a", "echo 1", None), ("b", "echo 2", "git")]))
    t=$(mktemp -d) || exit 1
    { ( echo 1 ); } >"$t/0" 2>/dev/null &
    { command -v git >/dev/null && ( echo 2 ); } >"$t/1" 2>/dev/null &
    wait
    echo '@@@ a'; cat "$t/0"
    echo '@@@ b'; cat "$t/1"
    rm -rf "$t"; true
    """
    lines = ["t=$(mktemp -d) || exit 1"]
    for i, (_key, command, needs) in enumerate(parts):
        guard = f"command -v {needs} >/dev/null && " if needs else ""
        lines.append(f'{{ {guard}( {command} ); }} >"$t/{i}" 2>/dev/null &')
    lines.append("wait")
    lines += [f"echo '@@@ {key}'; cat \"$t/{i}\"" for i, (key, _c, _n) in enumerate(parts)]
    lines.append('rm -rf "$t"; true')
    return "\n".join(lines)


def split_keyed(output: list[str]) -> dict[str, list[str]]:
    """Split what :func:`concurrently` printed into each key's lines.

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
