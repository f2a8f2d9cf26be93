"""The controller's view of the flake: one evaluation per host per run, its revision, its bundle.

Deploy files run once per host, in parallel greenlets. The memos below live in this imported
module, so every host shares them: the first host to ask evaluates all selected hosts in one
``nix eval``, and the others wait for that result instead of evaluating again.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from gevent.lock import RLock

from nixfleet import nix, process
from nixfleet.declared import EXPRESSION
from nixfleet.errors import NixfleetError
from nixfleet.models import Desired

_lock = RLock()
_desired: dict[tuple[str, str], Desired | NixfleetError] = {}
_bundles: dict[tuple[str, str], str] = {}
_revisions: dict[str, str] = {}


def evaluate(flake: str, attr: str, batch: Sequence[str]) -> Desired:
    """``attr``'s desired toplevel, revision and data layer; evaluates all of ``batch`` at once,
    once per run.

    Raises :class:`NixfleetError` with the Nix error if ``attr``'s configuration does not evaluate.
    """
    with _lock:
        if (flake, attr) not in _desired:
            todo = sorted({attr, *batch} - {a for f, a in _desired if f == flake})
            _desired.update(_evaluate(flake, todo))
    found = _desired[(flake, attr)]
    if isinstance(found, NixfleetError):
        raise found
    return found


def _evaluate(flake: str, attrs: list[str]) -> dict[tuple[str, str], Desired | NixfleetError]:
    result = process.run(nix.eval_hosts(flake, attrs, EXPRESSION))
    if result.ok:
        rows = json.loads(result.stdout)
        return {
            (flake, a): Desired(rows[a]["toplevel"], rows[a]["revision"] or "", rows[a])
            for a in attrs
        }
    if len(attrs) > 1:  # one host's error fails the batch: evaluate one by one to place the blame
        found: dict[tuple[str, str], Desired | NixfleetError] = {}
        for a in attrs:
            found.update(_evaluate(flake, [a]))
        return found
    return {
        (flake, attrs[0]): NixfleetError(
            f"{attrs[0]}: nix eval failed: {_nix_error(result.stderr)}"
        )
    }


def _nix_error(stderr: str) -> str:
    """The ``error: …`` line of a Nix failure and where it happened, on one line.

    >>> _nix_error("error: syntax error\\n\\n  at /nix/store/abc-source/lib/a.nix:3:1:\\n  2| x")
    'syntax error (at lib/a.nix:3:1)'
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    message = (errors[0] if errors else lines[-1] if lines else "no output").removeprefix("error: ")
    where = next((line for line in lines if line.startswith("at /")), "")
    if where:
        location = re.sub(r"^at /nix/store/[^/]+-source/", "", where).rstrip(":")
        message += f" (at {location})"
    return message


def revision(flake: str) -> str:
    """The commit the flake's checkout is at (what push_flake sends)."""
    result = process.run(nix.git_head(flake))
    if not result.ok:
        raise NixfleetError(
            f"flake {flake}: not a git repository with a commit; `git init` and commit it"
        )
    return result.stdout.strip()


def refuse_dirty(flake: str) -> None:
    """Raise if tracked files of the flake have uncommitted changes (what Nix would build is
    then not what git, the host's /etc/nixos and the report say)."""
    result = process.run(nix.git_status(flake))
    changed = [line[3:] for line in result.stdout.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
        raise NixfleetError(
            f"flake {flake} has uncommitted changes ({shown}); commit them, or set allow_dirty"
        )


def bundle(flake: str, cache_dir: Path) -> str:
    """A git bundle of the flake's HEAD, made once per revision and shared by all hosts."""
    rev = revision(flake)
    with _lock:
        key = (flake, rev)
        if key not in _bundles:
            cache_dir.mkdir(parents=True, exist_ok=True)
            dest = cache_dir / f"flake-{rev}.bundle"
            if not dest.exists():
                tmp = dest.with_suffix(f".{os.getpid()}.tmp")
                process.check(nix.git_bundle(flake, str(tmp.resolve())))
                tmp.rename(dest)
            _bundles[key] = str(dest)
    return _bundles[key]
