"""The Vagrant VMs (see Vagrantfile), named like the fleet's hosts so the same flake outputs and
deploys apply. Start them first: ``vagrant up``.

    pyinfra inventory/vagrant.py deploys/all.py
    pytest tests/infra --inventory=inventory/vagrant.py

Vagrant boxes are throwaway: their host keys are accepted on first use (``accept-new``), and
the vagrant user deploys with sudo.
"""

from nixfleet.vagrant import machines

_vms = machines()
_common = {"use_remote_sudo": True, "ssh_strict_host_key_checking": "accept-new",
           "ssh_known_hosts_file": ".vagrant/known_hosts"}  # fmt: skip

workstations = [(n, {**d, **_common}) for n, d in _vms.items() if n in ("desktop", "laptop")]
servers = [(n, {**d, **_common}) for n, d in _vms.items() if n in ("server", "vps", "nas")]
