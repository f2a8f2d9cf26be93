"""Settings for the lab (every host of inventory/lab.py is in the group ``lab``)."""

# The lab's copy of the flake, a fresh git repo made by `nixfleet lab up`.
flake = ".lab/flake"
# The lab has no real nixos-rebuild: this stand-in runs the same Nix steps (see its header).
nixos_rebuild = "lab/bin/nixos-rebuild"
# Where the Prometheus node_exporter textfile with the verification results goes.
prometheus_textfile = ".fleet/node-exporter/nixfleet.prom"
# The command a finding suggests for redeploying a host.
deploy_hint = "pyinfra -y inventory/lab.py deploys/all.py"
# The lab only reports when a reboot would be needed; it never reboots a host.
reboot_apply = False
# watchdog_s and gate_timeout_s keep their defaults (60 s, 20 s): with 50 hosts on two cores an
# activation, its gate and persisting it can take half a minute. tests/lab shortens them per run.
