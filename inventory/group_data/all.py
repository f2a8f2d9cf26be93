"""Settings shared by every host of every inventory (see nixfleet.settings.HostSettings)."""

# The flake to deploy, relative to where pyinfra runs.
flake = "."
# switch (default), boot or test.
action = "switch"
# Where push_flake puts the flake's exact revision on each host ("" to skip).
flake_checkout = "/etc/nixos"
# When a switch needs a reboot (kernel, initrd or modules changed): never, now, or "02:00-05:00".
reboot = "never"
