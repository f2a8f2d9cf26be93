# The fleet's data: the one source of what machines there are, who uses them, what they sync,
# what they back up and what they expose. Pure Nix (no nixpkgs, no imports), so it is read
# alike by the NixOS modules, by the lab, and by nixfleet's inventories
# (`nix-instantiate --eval --strict --json fleet.nix`).
#
# Placeholders to replace on a real fleet: addresses, SSH keys, Syncthing device IDs (shown by
# `syncthing -device-id` on each machine) and the offsite repository.
let
  nas = "sftp:restic@nas.lan:/srv/restic";
  offsite = "rest:https://backup.example.net/fleet"; # PLACEHOLDER: an offsite restic server
in
{
  users.alice = {
    fullName = "Alice";
    email = "alice@example.org";
    sshKeys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLACEHOLDERPLACEHOLDERPLACEHOLDER alice" ];
  };

  hosts = {
    desktop = {
      role = "workstation";
      address = "desktop.lan";
      users = [ "alice" ];
      syncthingId = "PLACEHOLDER-DESKTOP";
      exposes = { tcp = [ ]; udp = [ ]; };
    };
    laptop = {
      role = "workstation";
      address = "laptop.lan";
      users = [ "alice" ];
      syncthingId = "PLACEHOLDER-LAPTOP";
      exposes = { tcp = [ ]; udp = [ ]; };
    };
    server = {
      role = "server"; # Immich, Jellyfin, behind Caddy
      address = "server.lan";
      users = [ "alice" ];
      syncthingId = "PLACEHOLDER-SERVER";
      exposes = { tcp = [ 443 ]; udp = [ ]; };
    };
    vps = {
      role = "vps"; # Forgejo, behind Caddy; the notebooks' remote
      address = "vps.example.org";
      users = [ "alice" ];
      syncthingId = null;
      exposes = { tcp = [ 443 ]; udp = [ ]; };
    };
    nas = {
      role = "nas"; # the backup target
      address = "nas.lan";
      users = [ ];
      syncthingId = null;
      exposes = { tcp = [ ]; udp = [ ]; };
    };
  };

  # Tier 2: nb notebooks, git repositories synced with `nb sync` to Forgejo on the vps.
  notebooks.home = {
    user = "alice";
    hosts = [ "desktop" "laptop" ];
    remote = "forgejo@vps.example.org:alice/home.git";
    branch = "main";
  };

  # Tier 2: ~/Documents, peer to peer.
  syncthing.folders.documents = {
    path = "~/Documents";
    hosts = [ "desktop" "laptop" "server" ];
  };

  # restic jobs under 3-2-1: the data on its device, a copy on the NAS, a copy offsite.
  backups = {
    documents = {
      tier = 2;
      hosts = [ "desktop" "laptop" ];
      paths = [ "/home/alice/Documents" "/home/alice/.nb" ];
      schedule = "daily";
      keep = { daily = 30; };
      repositories = [ nas offsite ];
    };
    media = {
      tier = 3;
      hosts = [ "server" ];
      paths = [ "/var/lib/immich" "/var/lib/jellyfin/media" ];
      schedule = "weekly";
      keep = { weekly = 13; }; # 90 days
      repositories = [ nas offsite ];
    };
    state = {
      tier = "state";
      hosts = [ "server" "vps" ];
      paths = [ "/var/lib/forgejo" "/var/lib/postgresql" "/var/lib/jellyfin/data" ];
      schedule = "daily";
      keep = { daily = 14; };
      repositories = [ nas offsite ];
    };
  };
}
