# The fleet's data: the one source of what machines there are, who uses them, what they sync,
# what they back up and what they expose. Pure Nix (no nixpkgs, no imports), so it is read
# alike by the NixOS modules, by the lab, and by nixfleet's inventories
# (`nix-instantiate --eval --strict --json fleet.nix`).
#
# Placeholders to replace on a real fleet: addresses, SSH keys, Syncthing device IDs (shown by
# `syncthing -device-id` on each machine), notebook keys and the offsite repository.
# `nixfleet host add` and `nixfleet host retire` edit this file; lib/fleet.nix works out what it
# means for each host.
let
  # Syncthing between the LAN peers: sync (TCP and QUIC) and local discovery. Only the server
  # and the vps expose 443 (Caddy) beyond that.
  syncthingPorts = { tcp = [ 22000 ]; udp = [ 22000 21027 ]; };
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
      notebookKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLACEHOLDERDESKTOPPLACEHOLDER00000 nb@desktop";
      exposes = syncthingPorts;
    };
    laptop = {
      role = "workstation";
      address = "laptop.lan";
      users = [ "alice" ];
      syncthingId = "PLACEHOLDER-LAPTOP";
      notebookKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLACEHOLDERLAPTOPPLACEHOLDER000000 nb@laptop";
      exposes = syncthingPorts;
    };
    server = {
      role = "server"; # Immich, Jellyfin, behind Caddy
      address = "server.lan";
      users = [ "alice" ];
      syncthingId = "PLACEHOLDER-SERVER";
      notebookKey = null;
      exposes = { tcp = [ 443 ] ++ syncthingPorts.tcp; udp = syncthingPorts.udp; };
    };
    vps = {
      role = "vps"; # Forgejo, behind Caddy; the notebooks' remote
      address = "vps.example.org";
      # Reached as this normal user with passwordless sudo, never as root (modules/deploy.nix).
      deployUser = "deploy";
      users = [ "alice" ];
      syncthingId = null;
      notebookKey = null;
      exposes = { tcp = [ 443 ]; udp = [ ]; };
    };
    nas = {
      role = "nas"; # the backup target
      address = "nas.lan";
      users = [ ];
      syncthingId = null;
      notebookKey = null;
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

  # Where restic keeps each host's copy of a job: <base>/<host>-<job>.
  repositories = {
    nas = "sftp:restic@nas.lan:/srv/restic";
    # Object storage offsite: Backblaze B2 through its S3 API. PLACEHOLDER: your bucket.
    offsite = "s3:https://s3.eu-central-003.backblazeb2.com/PLACEHOLDER-fleet-backups";
  };

  # The medium each repository is on, for the 3-2-1 check (nixfleet's backup.3-2-1).
  repositoryMedia = { nas = "local"; offsite = "offsite"; };

  # Repositories a client reaches with credentials of its own: the sops secret that holds them
  # on each host (for s3, an environment file: AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…,
  # a B2 application key for this host's prefix only).
  repositoryCredentials = { offsite = "restic-offsite"; };

  # Repositories the clients may only add to: their keys cannot delete (on B2, an application key
  # without deleteFiles; a restic REST server in --append-only mode), so a compromised device
  # cannot remove its offsite snapshots. Their jobs never forget or prune there: the host named
  # here applies each job's retention instead, with the storage's key that may delete (its
  # `<credentials>-maintenance` secret, e.g. restic-offsite-maintenance) and each client's
  # restic password.
  appendOnly = { offsite = "nas"; };

  # Monitoring: every host runs Prometheus's node exporter, whose textfile collector serves the
  # data-layer metrics `nixfleet verify` writes on that host (`textfileDirectory`); the host named
  # in `server` runs Prometheus, which scrapes them all, evaluates the alert rules
  # (lib/monitoring.nix), and sends what fires to Alertmanager beside it. lib/fleet.nix opens
  # `exporterPort` on every host's firewall and `prometheusPort` on the server's, for the LAN
  # (only 443 is forwarded from the internet). `verifyMaxAge`: how old the last verify's numbers
  # may grow before an alert says they are stale; run `nixfleet verify` more often than that.
  monitoring = {
    server = "server";
    exporterPort = 9100;
    prometheusPort = 9090;
    textfileDirectory = "/var/lib/prometheus-node-exporter-text";
    # Where the server's scrapes come from, as the hosts see them: only these may reach an
    # exporter (the vps is on the internet). PLACEHOLDER: your LAN, your home's public address.
    scrapeFrom = [ "192.168.1.0/24" "203.0.113.7/32" ];
    verifyMaxAge = "26h";
    # Where Alertmanager mails alerts, through which SMTP server (logging in as `from`, with the
    # sops secret <server>/alertmanager-smtp: SMTP_PASSWORD=…). PLACEHOLDER: yours.
    alerts = { to = "alice@example.org"; from = "alerts@example.org"; smarthost = "smtp.example.org:587"; };
  };

  # restic jobs under 3-2-1: the data on its device, a copy on the NAS, a copy offsite.
  backups = {
    documents = {
      tier = 2;
      hosts = [ "desktop" "laptop" ];
      paths = [ "/home/alice/Documents" "/home/alice/.nb" ];
      schedule = "daily";
      keep = { daily = 30; };
      repositories = [ "nas" "offsite" ];
    };
    media = {
      tier = 3;
      hosts = [ "server" ];
      paths = [ "/var/lib/immich" "/var/lib/jellyfin/media" ];
      schedule = "weekly";
      keep = { weekly = 13; }; # 90 days
      repositories = [ "nas" "offsite" ];
    };
    # Server state: each host's own, as a job must only name paths its hosts have.
    state = {
      tier = "state";
      hosts = [ "server" ];
      paths = [ "/var/lib/postgresql" "/var/lib/jellyfin/data" ];
      schedule = "daily";
      keep = { daily = 14; };
      repositories = [ "nas" "offsite" ];
    };
    forgejo = {
      tier = "state";
      hosts = [ "vps" ];
      paths = [ "/var/lib/forgejo" "/var/lib/postgresql" ];
      schedule = "daily";
      keep = { daily = 14; };
      repositories = [ "nas" "offsite" ];
    };
  };
}
