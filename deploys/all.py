"""Deploy the whole fleet from its flake, every host at once, then verify its data layer.

    pyinfra -y inventory/lab.py deploys/all.py              # the lab
    pyinfra inventory/home.py deploys/all.py --limit laptop  # one host of the real fleet

For each host: evaluate the flake (one ``nix eval`` for all selected hosts), send the flake's
revision to /etc/nixos, run ``nixos-rebuild <action> --flake F#host --target-host …`` on the
controller unless the host already runs that toplevel, then run every data-layer check with facts
read after activation. The run report and the findings land in .fleet/.
"""

from pyinfra import host, state

from nixfleet import flake, nix
from nixfleet.preparation import prepare
from nixfleet.report import STATE_DIR
from operations import nixos, verify

prepared = prepare(state, host, deploying=True)
settings = prepared.settings
argv = nix.nixos_rebuild(
    settings.action,
    settings.flake,
    settings.ssh.destination,
    program=settings.nixos_rebuild,
    build_host=settings.build_host,
    sudo=settings.use_remote_sudo,
)

if prepared.desired is None or prepared.revision is None:
    nixos.rebuild(name="nixos-rebuild", argv=argv, toplevel="", error=prepared.error)
else:
    if settings.flake_checkout:
        nixos.push_flake(
            name=f"Send the flake to {settings.flake_checkout}",
            bundle=flake.bundle(settings.flake.path, STATE_DIR / "cache"),
            revision=prepared.revision,
            path=settings.flake_checkout,
        )
    nixos.rebuild(
        name=f"nixos-rebuild {settings.action.value}",
        argv=argv,
        toplevel=prepared.desired.toplevel,
        revision=prepared.desired.revision,
        action=settings.action.value,
        env={"NIX_SSHOPTS": settings.ssh.nix_sshopts()},
    )
    if host.data.get("verify_after_deploy", True):
        verify.data_layer(
            name="Verify the data layer",
            declared=prepared.desired.declared,
            context=prepared.verify_context(host.data.dict()),
        )
