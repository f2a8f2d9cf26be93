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
# Shorter safety timers than on a real fleet: lab hosts activate in about a second.
watchdog_s = 30
gate_timeout_s = 10
