"""Deploy the whole fleet from its flake, every host at once.

    pyinfra -y inventory/lab.py deploys/all.py              # the lab
    pyinfra inventory/home.py deploys/all.py --limit laptop  # one host of the real fleet

For each host: evaluate the flake (one ``nix eval`` for all selected hosts), send the flake's
revision to /etc/nixos, then run ``nixos-rebuild <action> --flake F#host --target-host …`` on the
controller unless the host already runs that toplevel. The run report lands in .fleet/.
"""

from pyinfra import host, state

from nixfleet import flake, nix, run
from nixfleet.errors import NixfleetError
from nixfleet.report import STATE_DIR
from nixfleet.settings import HostSettings
from operations import nixos

recorder = run.attach(state, host)
settings = HostSettings.from_data(host.name, host.data.dict())
batch = [
    str(h.data.get("flake_attr") or h.name)
    for h in run.selected_hosts(state)
    if h.data.get("flake") == host.data.get("flake")
]
argv = nix.nixos_rebuild(
    settings.action,
    settings.flake,
    settings.ssh.destination,
    program=settings.nixos_rebuild,
    build_host=settings.build_host,
    sudo=settings.use_remote_sudo,
)
env = {"NIX_SSHOPTS": settings.ssh.nix_sshopts()}

try:
    desired = flake.evaluate(settings.flake.path, settings.flake.attr, batch)
except NixfleetError as error:
    nixos.rebuild(name="nixos-rebuild", argv=argv, toplevel="", error=str(error))
else:
    revision = flake.revision(settings.flake.path)
    run.describe(recorder, settings.flake.path, settings.action.value, revision)
    if settings.flake_checkout:
        nixos.push_flake(
            name=f"Send the flake to {settings.flake_checkout}",
            bundle=flake.bundle(settings.flake.path, STATE_DIR / "cache"),
            revision=revision,
            path=settings.flake_checkout,
        )
    nixos.rebuild(
        name=f"nixos-rebuild {settings.action.value}",
        argv=argv,
        toplevel=desired.toplevel,
        revision=desired.revision,
        action=settings.action.value,
        env=env,
    )
