"""Settings for the lab (every host of inventory/lab.py is in the group ``lab``)."""

# The lab's copy of the flake, a fresh git repo made by `nixfleet lab up`.
flake = ".lab/flake"
# The lab has no real nixos-rebuild: this stand-in runs the same Nix steps (see its header).
nixos_rebuild = "lab/bin/nixos-rebuild"
