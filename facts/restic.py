"""restic backup jobs as their client host sees them: repository, latest snapshot, locks."""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from facts.probed import ProbeFact
from nixfleet.observed.restic import ResticJob, parse_jobs
from nixfleet.probe import Part, Reply


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

    key = "restic"
    what = "read the restic repositories"

    @override
    def part(self, jobs: dict[str, Sequence[str]]) -> Part:
        args = [a for name, paths in sorted(jobs.items()) for a in (name, str(len(paths)), *paths)]
        return Part(self.key, "restic", tuple(args), timeout_s=120)

    @override
    def parse(self, reply: Reply) -> dict[str, ResticJob]:
        return parse_jobs(reply.records())
