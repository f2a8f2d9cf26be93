"""Restore drills across the fleet: for every backup job of every selected host, restore a sample
of files from its newest snapshot and compare them with the live files, and read a rotating
subset of its repository's data. Nothing on any host changes but its drill record.

    pyinfra -y inventory/lab.py deploys/drill.py       # or: nixfleet drill -i inventory/lab.py
    pyinfra -y inventory/home.py deploys/drill.py --limit server

Results go to the run report, .fleet/last-drill.json and a table; each host keeps its jobs'
last outcome in /var/lib/nixfleet/drills/, which the backup.restore-drill check reads.
"""

from pyinfra.context import host, state

from nixfleet.preparation import prepare
from operations import drill, nixos

prepared = prepare(state, host, deploying=False)

if prepared.desired is None:
    nixos.rebuild(name="Evaluate the flake", argv=[], toplevel="", error=prepared.error)
else:
    drill.restore_drills(
        _sudo=prepared.settings.use_remote_sudo,
        name="Restore drills",
        declared=prepared.desired.declared,
        sudo=prepared.settings.use_remote_sudo,
    )
