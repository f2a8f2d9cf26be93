"""restic backup jobs as seen from the client (the pyinfra face of :mod:`nixfleet.areas.restic`)."""

from __future__ import annotations

from facts.probed import ProbeFact
from nixfleet.areas import restic
from nixfleet.areas.restic import ResticJob


class ResticJobs(ProbeFact[dict[str, ResticJob]]):
    """
    Returns, for each backup job declared on the host, its repository (from the job's unit
    environment, passwords in URLs masked), whether it is reachable, the newest snapshot this
    host made of the job's paths (time, paths, host), and the repository's locks, with whether
    each lock's process is still alive (or ``locks_unread``: why they could not all be read).

    The repository password is read by restic on the host from the job's password file. A wrong
    password, a missing repository and an unreachable one are distinct states.

    + jobs: ``{job name: its declared paths}`` (``services.restic.backups.<name>.paths``)

    .. code:: python

        {"desktop": ResticJob(name="desktop", state="ok", repository="sftp:root@nas:/srv/restic/desktop",
                              latest=Snapshot(time=datetime(…), paths=("/home/alice/Documents",), …))}
    """

    reading = restic.JOBS
