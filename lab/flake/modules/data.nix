# The data layer fleet.nix declares for this host (lib/fleet.nix, as the real modules/ use it):
# Syncthing folders and devices, restic jobs, nb notebooks and their secrets. The units that run
# them come from restic.nix, syncthing-units.nix and notebooks.nix.
{ fleetHost, ... }:
let
  inherit (builtins) attrValues concatMap map;
  st = fleetHost.syncthing;
  owned = user: path: { inherit path user; };
  # What the apps and Syncthing would create on NixOS: the declared folders and backed-up paths.
  folderDirs = if st == null then [ ] else map (f: owned st.user f.path) (attrValues st.folders);
  underHome = p: builtins.match "${fleetHost.home}/.*" p != null;
  backupDirs = concatMap (b: map (p: owned (if underHome p then fleetHost.user else "root") p) b.paths)
    (attrValues fleetHost.backups);
in
{
  systemd.tmpfiles.directories = map (d: if d.user == "root" then d.path else d) (folderDirs ++ backupDirs);

  services.syncthing = if st == null then { enable = false; } else {
    enable = true;
    inherit (st) user group dataDir;
    configDir = "${st.dataDir}/.config/syncthing";
    guiAddress = "127.0.0.1:8384";
    overrideDevices = true;
    overrideFolders = true;
    cert = "/run/secrets/syncthing-cert";
    key = "/run/secrets/syncthing-key";
    settings = {
      # Lab only: peers are reached at their lab address, never through discovery or relays.
      options = { listenAddresses = [ "tcp://${fleetHost.address}:22000" ]; globalAnnounceEnabled = false;
        localAnnounceEnabled = false; relaysEnabled = false; natEnabled = false; urAccepted = -1; };
      devices = builtins.mapAttrs (_: d: { inherit (d) id; addresses = [ "tcp://${d.address}:22000" ]; }) st.devices;
      folders = builtins.mapAttrs (_: f: { inherit (f) id path devices versioning maxConflicts; }) st.folders;
    };
  };

  services.restic.backups = builtins.mapAttrs (name: b: {
    inherit (b) paths pruneOpts;
    # A repository with credentials (the offsite one): restic 0.14 takes a REST server's only
    # from the URL, so the repository comes from a file sops-nix renders from this host's secret
    # (its base URL, with its credentials) and never appears in the unit or the store.
    repository = if b.credentials == null then b.repository else null;
    repositoryFile = if b.credentials == null then null else "/run/secrets/rendered/restic-repository-${name}";
    passwordFile = "/run/secrets/restic-password";
    initialize = true;
    # Lab only: OnBootSec and OnUnitInactiveSec make backups really run during a demo; the
    # declared schedule, OnCalendar, is what freshness is judged against.
    timerConfig = { OnCalendar = b.schedule; Persistent = true; OnBootSec = "3s"; OnUnitInactiveSec = "1h"; };
  }) fleetHost.backups
  # The retention this host applies to the clients' append-only copies: prune-only jobs (no
  # paths), through the storage's maintenance endpoint.
  // builtins.mapAttrs (name: r: {
    paths = [ ];
    inherit (r) pruneOpts;
    repository = if r.credentials == null then r.repository else null;
    repositoryFile = if r.credentials == null then null else "/run/secrets/rendered/restic-repository-${name}";
    passwordFile = "/run/secrets/${r.password}";
    # As declared (no lab timers): a prune at boot would meet repositories not made yet.
    timerConfig = { OnCalendar = r.schedule; Persistent = true; };
  }) fleetHost.retention;

  nixfleet.backups = builtins.mapAttrs (_: b: { inherit (b) media; }) fleetHost.backups;

  nixfleet.notebooks = builtins.mapAttrs (_: nb: { inherit (nb) path user remote branch; }) fleetHost.notebooks;

  sops.secrets = builtins.mapAttrs (_: s: { inherit (s) owner group mode key; }) fleetHost.secrets;
  # sops-nix templates: the placeholder of a secret is replaced by its value at activation.
  # A client's secret is its own base URL with its credentials (<server>/<client>, as the server's
  # --private-repos confines it); the maintenance key's is the server's, above every client's.
  sops.templates = let
    template = name: b: path: if b.credentials == null then [ ] else [ {
      name = "restic-repository-${name}";
      value = {
        path = "/run/secrets/rendered/restic-repository-${name}";
        content = "<SOPS:${builtins.hashString "sha256" b.credentials}:PLACEHOLDER>/${path}";
        owner = "root"; group = "root"; mode = "0400";
      };
    } ];
    each = set: f: concatMap (name: f name set.${name}) (builtins.attrNames set);
  in builtins.listToAttrs (each fleetHost.backups (name: b: template name b "${fleetHost.hostName}-${b.job}")
    ++ each fleetHost.retention (name: r: template name r "${r.client}/${r.client}-${r.job}"));
}
