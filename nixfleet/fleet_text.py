"""Edits of ``fleet.nix`` as text, so that its comments and layout survive: a host's block is
added or removed, and a host's name is added to or removed from the ``hosts = [ … ];`` lists of
folders, notebooks and backup jobs. Pure functions; :mod:`nixfleet.membership` evaluates every
result and refuses it unless the data changed exactly as intended.

>>> text = '{\\n  hosts = {\\n    nas = {\\n      role = "nas";\\n    };\\n  };\\n}\\n'
>>> print(insert_host(text, host_block("pc", {"role": "workstation"})), end="")
{
  hosts = {
    pc = {
      role = "workstation";
    };
    nas = {
      role = "nas";
    };
  };
}
>>> remove_host(text, "nas")
'{\\n  hosts = {\\n  };\\n}\\n'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nixfleet.errors import NixfleetError
from nixfleet.nix import nix_string

_HOSTS_OPEN = re.compile(r"^(?P<indent>[ \t]*)hosts = \{[ \t]*\n", re.M)
# A list of host names: `hosts = [ "desktop" "laptop" ];`
HOST_LIST = re.compile(r"\bhosts = \[(?P<body>[^\]]*)\];")
_NAME = re.compile(r'"(?P<name>[^"\\]*)"')


def literal(value: Any) -> str:
    """A Nix literal for plain JSON-like data.

    >>> literal({"tcp": [443], "on": True, "id": None, "s": "a${b}"})
    '{ tcp = [ 443 ]; on = true; id = null; s = "a\\\\${b}"; }'
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return nix_string(value)
    if isinstance(value, list):
        return "[ " + "".join(literal(v) + " " for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + "".join(f"{k} = {literal(v)}; " for k, v in value.items()) + "}"
    raise TypeError(f"no Nix literal for {value!r}")


def host_block(name: str, attrs: Mapping[str, Any], indent: str = "    ") -> str:
    """The text of one entry of ``hosts``, one attribute per line."""
    lines = [f"{indent}{name} = {{"]
    lines += [f"{indent}  {k} = {literal(v)};" for k, v in attrs.items()]
    lines.append(f"{indent}}};")
    return "\n".join(lines) + "\n"


def insert_host(text: str, block: str) -> str:
    """``text`` with ``block`` as the first entry of the top-level ``hosts = {`` set."""
    found = _HOSTS_OPEN.search(text)
    if not found:
        raise NixfleetError("fleet.nix has no `hosts = {` line to add a host under; add it by hand")
    return text[: found.end()] + block + text[found.end() :]


def remove_host(text: str, name: str) -> str:
    """``text`` without the block ``<name> = { … };`` (its opening and closing lines at one
    indent, as :func:`host_block` writes them and fleet.nix is laid out)."""
    found = re.search(rf"^(?P<indent>[ \t]*){re.escape(name)} = \{{[ \t]*\n", text, re.M)
    if not found:
        raise NixfleetError(f"{name}: no `{name} = {{` block in fleet.nix; remove it by hand")
    close = re.compile(rf"^{found['indent']}\}};[ \t]*\n", re.M).search(text, found.end())
    if not close:
        raise NixfleetError(f"{name}: the block `{name} = {{` in fleet.nix does not close; fix it")
    return text[: found.start()] + text[close.end() :]


def lists(text: str) -> list[list[str]]:
    """The names in each ``hosts = [ … ];`` list, in file order.

    >>> lists('a.hosts = [ "x" "y" ]; b = { hosts = [ ]; };')
    [['x', 'y'], []]
    """
    return [[m["name"] for m in _NAME.finditer(f["body"])] for f in HOST_LIST.finditer(text)]


def add_to_list(text: str, index: int, name: str) -> str:
    """``text`` with ``name`` appended to its ``index``-th ``hosts`` list.

    >>> add_to_list('x.hosts = [ "a" ]; y.hosts = [ ];', 1, "b")
    'x.hosts = [ "a" ]; y.hosts = [ "b" ];'
    """
    found = list(HOST_LIST.finditer(text))[index]
    names = [m["name"] for m in _NAME.finditer(found["body"])] + [name]
    return text[: found.start()] + _list_text(names) + text[found.end() :]


def remove_from_lists(text: str, name: str) -> str:
    """``text`` with ``name`` taken out of every ``hosts`` list.

    >>> remove_from_lists('x.hosts = [ "a" "b" ]; y.hosts = [ "b" ];', "b")
    'x.hosts = [ "a" ]; y.hosts = [ ];'
    """

    def without(found: re.Match[str]) -> str:
        names = [m["name"] for m in _NAME.finditer(found["body"])]
        return found[0] if name not in names else _list_text([n for n in names if n != name])

    return HOST_LIST.sub(without, text)


def _list_text(names: list[str]) -> str:
    return "hosts = [ " + "".join(f'"{n}" ' for n in names) + "];"
