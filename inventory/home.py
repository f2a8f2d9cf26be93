"""The user's fleet. Edit the addresses and keys; the names must match the flake's
``nixosConfigurations``. Settings shared by every host (flake path, action) are in
group_data/all.py and group_data/home.py.

    pyinfra inventory/home.py deploys/all.py
    pyinfra inventory/home.py deploys/all.py --limit laptop
"""

_ssh = {
    "ssh_user": "root",
    "ssh_key": "~/.ssh/id_ed25519",
    "ssh_known_hosts_file": "~/.ssh/known_hosts",
    "ssh_strict_host_key_checking": "yes",
}

workstations = [
    ("desktop", {**_ssh, "ssh_hostname": "desktop.lan"}),
    ("laptop", {**_ssh, "ssh_hostname": "laptop.lan"}),
]
servers = [
    # The home server builds its own closure: it is faster than the controller.
    ("server", {**_ssh, "ssh_hostname": "server.lan", "build_host": "root@server.lan"}),
    (
        "vps",
        {**_ssh, "ssh_hostname": "vps.example.org", "ssh_user": "deploy", "use_remote_sudo": True},
    ),
    ("nas", {**_ssh, "ssh_hostname": "nas.lan"}),
]
