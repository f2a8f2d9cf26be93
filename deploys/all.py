"""Deploy the whole fleet from its flake, every host at once, safely, then verify its data layer.

    pyinfra -y inventory/lab.py deploys/all.py              # the lab
    pyinfra inventory/home.py deploys/all.py --limit laptop  # one host of the real fleet
    pyinfra --dry inventory/home.py deploys/all.py           # the plan: which hosts would change

Before anything is touched: every selected host is evaluated (one ``nix eval``; an error stops
the run), a dirty flake is refused, and unreachable hosts are left out as offline. Then for each
host: send the flake's revision to /etc/nixos; unless the host already runs that toplevel, switch
safely (lock, watchdog, ``nixos-rebuild test``, gate checks over a fresh SSH connection, then
persist it as the boot default, or roll back); then run every data-layer check with fresh facts.
The run report and the findings land in .fleet/.
"""

import os

from pyinfra.context import host, state

from nixfleet import nix, rebuild
from nixfleet.models import Action, FlakeRef
from nixfleet.preparation import prepare
from nixfleet.report import STATE_DIR
from nixfleet.run import run_context
from operations import nixos, switch, verify
from operations.switch import SwitchPlan

switch.install_interrupt_handlers(run_context(state))  # Ctrl-C / SIGTERM roll back, then report
prepared = prepare(state, host, deploying=True)
settings = prepared.settings
desired = prepared.desired


def rebuild_argv(action: Action, flake_ref: FlakeRef | None = None) -> list[str]:
    assert prepared.flavour is not None  # found with the evaluation, before anything runs
    return nix.nixos_rebuild(
        action,
        flake_ref or settings.flake,
        settings.ssh.destination,
        program=settings.nixos_rebuild,
        build_host=settings.build_host,
        flags=rebuild.flags(
            prepared.flavour, settings.use_remote_sudo, settings.nixos_rebuild_flags
        ),
    )


def prepare_steps(toplevel: str) -> list[tuple[str, list[str]]]:
    """What runs before the watchdog is armed: the controller's prebuild is awaited, then the
    closure is copied to the host; with ``build_host`` it is built there and copied from there."""
    target = settings.ssh.destination
    if not settings.build_host:
        return [("copy", nix.copy_closure(target, toplevel))]
    # Run from a private directory (nixos-rebuild build may leave a ./result link behind).
    here = FlakeRef(nix.absolute_flake(settings.flake.path), settings.flake.attr)
    build = rebuild_argv(Action.BUILD, here)
    if "/" in build[0]:  # a program given by a path relative to here
        build[0] = os.path.abspath(build[0])
    steps = [("build", build)]
    if settings.build_host != target:
        steps.append(("copy", nix.copy_between(settings.build_host, target, toplevel)))
    return steps


if desired is None or prepared.revision is None:
    # Only with --dry (a real run stops before touching anything): the plan names the error.
    nixos.rebuild(name="nixos-rebuild", argv=[], toplevel="", error=prepared.error)
else:
    # Every remote step runs as root: with sudo for a host reached as a normal user.
    as_root = settings.use_remote_sudo
    if settings.flake_checkout:
        nixos.push_flake(
            _sudo=as_root,
            name=f"Send the flake to {settings.flake_checkout}",
            bundle=run_context(state).flake.bundle(settings.flake.path, STATE_DIR / "cache"),
            revision=prepared.revision,
            path=settings.flake_checkout,
        )
    safe = settings.safe_switch and settings.action is Action.SWITCH
    nixos.rebuild(
        _sudo=as_root,
        name=f"nixos-rebuild {settings.action.value}",
        argv=rebuild_argv(settings.action),
        toplevel=desired.toplevel,
        revision=desired.revision,
        action=settings.action.value,
        env={"NIX_SSHOPTS": settings.ssh.nix_sshopts()},
        safe=SwitchPlan(
            settings=settings,
            declared=desired.declared,
            test_argv=rebuild_argv(Action.TEST),
            # Built and copied before the watchdog is armed, so its time covers only the activation.
            prepare=prepare_steps(desired.toplevel),
        )
        if safe
        else None,
    )
    if settings.verify_after_deploy:
        verify.data_layer(
            _sudo=as_root,
            name="Verify the data layer",
            declared=desired.declared,
            settings=settings,
            toplevel=desired.toplevel,
            revision=prepared.revision,
        )
