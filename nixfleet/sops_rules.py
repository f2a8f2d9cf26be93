"""Edits of ``.sops.yaml`` as text: a host's age recipient added or removed, where the file
names each key once with a YAML anchor (``- &laptop age1…``) and each creation rule refers to
the keys by alias (``- *laptop``), as sops-nix's documentation lays it out. Pure functions.

>>> text = "keys:\\n  - &admin age1a\\ncreation_rules:\\n  - key_groups:\\n      - age:\\n          - *admin\\n"
>>> added = add_recipient(text, "pc", "age1p")
>>> print(added, end="")
keys:
  - &admin age1a
  - &pc age1p
creation_rules:
  - key_groups:
      - age:
          - *admin
          - *pc
>>> recipients(added)
{'admin': 'age1a', 'pc': 'age1p'}
>>> remove_recipient(added, "pc") == text
True
"""

from __future__ import annotations

import re

from nixfleet.errors import NixfleetError

_ANCHOR = re.compile(r"^(?P<indent>[ \t]*)- &(?P<name>[\w.-]+) (?P<key>age1[0-9a-z]+)[ \t]*$", re.M)
_ALIAS = re.compile(r"^(?P<indent>[ \t]*)- \*(?P<name>[\w.-]+)[ \t]*$", re.M)


def recipients(text: str) -> dict[str, str]:
    """The age recipients the file names, by anchor."""
    return {m["name"]: m["key"] for m in _ANCHOR.finditer(text)}


def add_recipient(text: str, name: str, key: str) -> str:
    """``text`` with ``key`` anchored as ``name`` and named in every creation rule that names
    the admin key's alias (after each rule's last alias)."""
    if name in recipients(text):
        raise NixfleetError(f"{name}: .sops.yaml already has a key named {name}; remove it first")
    anchors = list(_ANCHOR.finditer(text))
    if not anchors:
        raise NixfleetError(".sops.yaml has no `- &name age1…` keys; add the host's key by hand")
    last = anchors[-1]
    text = text[: last.end()] + f"\n{last['indent']}- &{name} {key}" + text[last.end() :]
    aliases = list(_ALIAS.finditer(text))
    if not aliases:
        raise NixfleetError(".sops.yaml has no creation rule naming keys by `- *name`; fix it")
    # The last alias of each run of consecutive alias lines: one per key group.
    ends = [
        a
        for i, a in enumerate(aliases)
        if i + 1 == len(aliases) or aliases[i + 1].start() != a.end() + 1
    ]
    for a in reversed(ends):
        text = text[: a.end()] + f"\n{a['indent']}- *{name}" + text[a.end() :]
    return text


def remove_recipient(text: str, name: str) -> str:
    """``text`` without the key anchored as ``name`` and without every alias of it."""
    if name not in recipients(text):
        raise NixfleetError(f"{name}: .sops.yaml has no key named {name}")
    text = re.sub(rf"^[ \t]*- &{re.escape(name)} age1[0-9a-z]+[ \t]*\n", "", text, flags=re.M)
    return re.sub(rf"^[ \t]*- \*{re.escape(name)}[ \t]*\n", "", text, flags=re.M)
