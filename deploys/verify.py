"""Verify the fleet's data layer against its flake. Nothing on any host changes but the metrics
textfile its node exporter serves (where the flake declares one).

    pyinfra -y inventory/lab.py deploys/verify.py
    pyinfra -y inventory/home.py deploys/verify.py --limit servers

Checks the running system, failed units, Syncthing, nb notebooks, restic backups, secrets and
open ports. Findings go to .fleet/last-verify.json, each host's metrics to its node exporter's
textfile directory (and all of them to one controller-side textfile, if ``prometheus_textfile``
is set in data); pyinfra exits non-zero if an error-severity check fails.
"""

from pyinfra.context import host, state

from nixfleet.preparation import prepare
from operations import nixos, verify

prepared = prepare(state, host, deploying=False)

if prepared.desired is None:
    nixos.rebuild(name="Evaluate the flake", argv=[], toplevel="", error=prepared.error)
else:
    verify.data_layer(
        _sudo=prepared.settings.use_remote_sudo,  # its reads need root
        name="Verify the data layer",
        declared=prepared.desired.declared,
        settings=prepared.settings,
        toplevel=prepared.desired.toplevel,
        revision=prepared.revision,
    )
