# What nixfleet's checks need from one host's evaluated configuration, as plain JSON data.
# Works on a real NixOS system (nixpkgs modules, sops-nix) and on the lab's flake: every path is
# read with a default, so a host that does not declare a subject simply has none.
host:
let
  c = host.config;
  syncthing = c.services.syncthing or { };
  st = syncthing.settings or { };
  deviceName = d: if builtins.isString d then d else d.name or "";
in
{
  toplevel = c.system.build.toplevel.outPath;
  revision = c.system.configurationRevision or null;
  syncthing =
    if !(syncthing.enable or false) then null else {
      user = syncthing.user or "syncthing";
      configDir = syncthing.configDir or "${syncthing.dataDir or "/var/lib/syncthing"}/.config/syncthing";
      guiAddress = syncthing.guiAddress or "127.0.0.1:8384";
      devices = builtins.mapAttrs (name: d: { id = d.id or ""; }) (st.devices or { });
      folders = builtins.mapAttrs
        (name: f: {
          id = f.id or name;
          path = f.path or name;
          devices = map deviceName (f.devices or [ ]);
          versioning = (f.versioning or { }).type or null;
          maxConflicts = f.maxConflicts or null;
        })
        (st.folders or { });
    };
  restic = builtins.mapAttrs
    (name: b: {
      repository = b.repository or null;
      paths = b.paths or [ ];
      passwordFile = b.passwordFile or null;
      timerConfig = b.timerConfig or null;
      pruneOpts = b.pruneOpts or [ ];
    })
    (c.services.restic.backups or { });
  notebooks = builtins.mapAttrs
    (name: n: { path = n.path; user = n.user or "root"; remote = n.remote or null; branch = n.branch or "main"; })
    (c.nixfleet.notebooks or { });
  secrets = builtins.mapAttrs
    (name: s: {
      owner = if s.owner or null == null then "root" else s.owner;
      group = if s.group or null == null then "root" else s.group;
      mode = s.mode or "0400";
      path = s.path or "/run/secrets/${name}";
    })
    (c.sops.secrets or { });
  ports = {
    tcp = c.networking.firewall.allowedTCPPorts or [ ];
    udp = c.networking.firewall.allowedUDPPorts or [ ];
  };
}
