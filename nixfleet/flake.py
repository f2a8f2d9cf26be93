"""The controller's view of the flake: one evaluation per host per run, its revision, its bundle.

Deploy files run once per host, in parallel greenlets. A :class:`FlakeRun` (one per run, on the
run context) holds the memos every host shares: the first host to ask evaluates all selected
hosts in one ``nix eval``, and the others wait for that result instead of evaluating again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import gevent
from gevent.lock import RLock

from nixfleet import nix, private, process
from nixfleet.declared import EXPRESSION
from nixfleet.errors import NixfleetError
from nixfleet.models import Desired

# Evaluations of committed flakes, reused by later runs at the same commit.
EVAL_CACHE = Path(os.environ.get("NIXFLEET_STATE_DIR", ".fleet")) / "cache"


class FlakeRun:
    """One run's view of its flakes: evaluations, revisions, changes, bundles and prebuilds,
    each worked out once and shared by every host."""

    def __init__(self) -> None:
        self._lock = RLock()
        self._desired: dict[tuple[str, str], Desired | NixfleetError] = {}
        self._bundles: dict[tuple[str, str], str] = {}
        self._revisions: dict[str, str] = {}
        self._changes: dict[str, list[str]] = {}
        self._builds: dict[str, gevent.Greenlet | None] = {}

    def evaluate(self, flake: str, attr: str, batch: Sequence[str]) -> Desired:
        """``attr``'s desired toplevel, revision and data layer; evaluates all of ``batch`` at once,
        once per run.

        Raises :class:`NixfleetError` with the Nix error if ``attr``'s configuration does not evaluate.
        """
        with self._lock:
            if (flake, attr) not in self._desired:
                todo = sorted({attr, *batch} - {a for f, a in self._desired if f == flake})
                self._desired.update(self._evaluate(flake, todo))
        found = self._desired[(flake, attr)]
        if isinstance(found, NixfleetError):
            raise found
        return found

    def prebuild(self, flake: str, attrs: Sequence[str]) -> None:
        """Start building the selected hosts' toplevels that the controller's store lacks, in one
        background ``nix build``, once per run. It overlaps with connecting, sending the flake and reading facts;
        ``nixos-rebuild`` then finds its closure built. A failure is left for ``nixos-rebuild`` to
        report, host by host."""
        with self._lock:
            if flake in self._builds:
                return
            missing = [
                a
                for a in attrs
                if isinstance(d := self._desired.get((flake, a)), Desired)
                and not os.path.exists(d.toplevel)
            ]
            self._builds[flake] = (
                gevent.spawn(process.run, nix.build_toplevels(flake, missing)) if missing else None
            )

    def await_prebuilds(self) -> None:
        """Wait for the builds :func:`prebuild` started, if any."""
        gevent.joinall([b for b in self._builds.values() if b is not None])

    def cancel_prebuilds(self) -> None:
        """Stop background builds (and their ``nix`` processes), e.g. on Ctrl-C."""
        gevent.killall([b for b in self._builds.values() if b is not None], block=True, timeout=10)

    def _cache_file(self, flake: str, attrs: list[str]) -> Path | None:
        """Where the evaluation of ``attrs`` at the flake's current commit is kept, or None when the
        flake has uncommitted changes (then only Nix can say what it evaluates to). A committed flake
        evaluates purely from its commit (inputs are pinned by flake.lock), so the commit, the hosts and
        the expression determine the result."""
        try:
            head = self.revision(flake)
        except NixfleetError:
            return None
        if self._uncommitted(flake):
            return None
        key = hashlib.sha256(
            json.dumps([os.path.abspath(flake), head, attrs, EXPRESSION]).encode()
        ).hexdigest()[:32]
        return EVAL_CACHE / f"eval-{key}.json"

    def revision(self, flake: str) -> str:
        """The commit the flake's checkout is at (what push_flake sends); read once per run."""
        with self._lock:
            if flake not in self._revisions:
                result = process.run(nix.git_head(flake))
                if not result.ok:
                    raise NixfleetError(
                        f"flake {flake}: not a git repository with a commit; `git init` and commit it"
                    )
                self._revisions[flake] = result.stdout.strip()
        return self._revisions[flake]

    def _uncommitted(self, flake: str) -> list[str]:
        """Tracked files of the flake with uncommitted changes; read once per run."""
        with self._lock:
            if flake not in self._changes:
                result = process.run(nix.git_status(flake))
                self._changes[flake] = [
                    line[3:] for line in result.stdout.splitlines() if line.strip()
                ]
                if not result.ok:
                    self._changes[flake] = ["(git status failed)"]
        return self._changes[flake]

    def refuse_dirty(self, flake: str) -> None:
        """Raise if tracked files of the flake have uncommitted changes (what Nix would build is
        then not what git, the host's /etc/nixos and the report say)."""
        changed = self._uncommitted(flake)
        if changed:
            shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
            raise NixfleetError(
                f"flake {flake} has uncommitted changes ({shown}); commit them, or set allow_dirty"
            )

    def bundle(self, flake: str, cache_dir: Path) -> str:
        """A git bundle of the flake's HEAD, made once per revision and shared by all hosts."""
        rev = self.revision(flake)
        with self._lock:
            key = (flake, rev)
            if key not in self._bundles:
                private.private_dir(cache_dir)
                dest = cache_dir / f"flake-{rev}.bundle"
                if not dest.exists():
                    tmp = dest.with_suffix(f".{os.getpid()}.tmp")
                    process.check(nix.git_bundle(flake, str(tmp.resolve())))
                    private.seal(tmp).rename(dest)
                self._bundles[key] = str(dest)
        return self._bundles[key]

    def _evaluate(
        self, flake: str, attrs: list[str]
    ) -> dict[tuple[str, str], Desired | NixfleetError]:
        cache = self._cache_file(flake, attrs)
        if cache is not None and cache.exists():
            rows = json.loads(cache.read_text())
            return {
                (flake, a): Desired(rows[a]["toplevel"], rows[a]["revision"] or "", rows[a])
                for a in attrs
            }
        result = process.run(nix.eval_hosts(flake, attrs, EXPRESSION))
        if result.ok:
            rows = json.loads(result.stdout)
            if cache is not None:
                private.write(cache, result.stdout)
            return {
                (flake, a): Desired(rows[a]["toplevel"], rows[a]["revision"] or "", rows[a])
                for a in attrs
            }
        if (
            len(attrs) > 1
        ):  # one host's error fails the batch: evaluate one by one to place the blame
            found: dict[tuple[str, str], Desired | NixfleetError] = {}
            for a in attrs:
                found.update(self._evaluate(flake, [a]))
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
