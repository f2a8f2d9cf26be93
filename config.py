"""pyinfra's configuration for nixfleet's deploys (pyinfra runs ./config.py before the inventory).

nixfleet's work per host is mostly waiting (on nixos-rebuild, on the host), so every selected host
runs at once: pyinfra's default pool is 20 hosts per CPU core, which would split a 50-host fleet
on a 2-core controller into two rounds per operation. The bound is the open-file limit (each
host's connection and child processes hold a few descriptors), as pyinfra itself computes it.
``--parallel N`` on the command line still wins.
"""

import resource

from pyinfra import config

config.PARALLEL = max(1, (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 10) // 3)
