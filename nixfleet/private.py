"""Files only their owner may read: run reports, the evaluation cache, flake bundles.

They hold host names, store paths, revisions and findings, and a bundle holds the whole flake:
each is written 0600, atomically, in a directory that is 0700.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a directory only its owner can enter.

    >>> import tempfile; d = Path(tempfile.mkdtemp()) / "runs"
    >>> oct(private_dir(d).stat().st_mode & 0o777)
    '0o700'
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write(dest: Path, data: str | bytes) -> Path:
    """Write ``dest`` 0600 in a private directory, atomically (a temp file, then rename).

    >>> import tempfile; f = write(Path(tempfile.mkdtemp()) / "a" / "r.json", "{}")
    >>> oct(f.stat().st_mode & 0o777), oct(f.parent.stat().st_mode & 0o777)
    ('0o600', '0o700')
    """
    private_dir(dest.parent)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    os.chmod(tmp, 0o600)
    tmp.replace(dest)
    return dest


def seal(path: Path) -> Path:
    """Make a file another program wrote (a git bundle) 0600."""
    os.chmod(path, 0o600)
    return path
