# What fleet.nix declares for one host, worked out with builtins only (no nixpkgs), so that the
# NixOS modules (modules/) and the lab's stand-in modules (lab/flake/) implement the very same
# folders, peers, backup jobs, notebooks, secrets and ports.
#
#   (import ./lib/fleet.nix { fleet = import ./fleet.nix; hostName = "laptop"; }).backups
#   => { documents-nas = { repository = "sftp:restic@nas.lan:/srv/restic/laptop-documents"; … };
#        documents-offsite = { … }; }
#
# nixfleet computes the same from fleet.nix in Python (nixfleet/fleet.py, `expected`), and a test
# holds the lab's evaluated declarations to it.
{ fleet, hostName }:
let
  inherit (builtins) attrNames concatMap elem filter head listToAttrs map replaceStrings;
  me = fleet.hosts.${hostName};
  # Entries of an attribute set (folders, notebooks, jobs) whose `hosts` list this host.
  mine = set: listToAttrs (map (name: { inherit name; value = set.${name}; })
    (filter (name: elem hostName set.${name}.hosts) (attrNames (set))));
  unique = xs: builtins.foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ] xs;
  others = xs: filter (n: n != hostName) xs;
  homeOf = user: if user == "root" then "/root" else "/home/${user}";
  # The group a user's files get: NixOS puts normal users in `users`.
  groupOf = user: if user == "root" then "root" else "users";
  user = head (me.users ++ [ "root" ]);
  secret = owner: name: { inherit owner; group = groupOf owner; mode = "0400"; key = "${hostName}/${name}"; };

  folders = mine (fleet.syncthing.folders or { });
  peers = others (unique (concatMap (id: folders.${id}.hosts) (attrNames folders)));
  notebooks = mine (fleet.notebooks or { });
  jobs = mine (fleet.backups or { });
  appendOnly = fleet.appendOnly or { };
  keepOpts = keep: map (period: "--keep-${period} ${toString keep.${period}}") (attrNames keep);
  credentialsOf = repo: (fleet.repositoryCredentials or { }).${repo} or null;
  # One restic job per (job, repository): documents-nas, documents-offsite. Each host keeps its
  # own repository per job under the repository's base, e.g. <nas>/laptop-documents.
  backups = listToAttrs (concatMap (job: map (repo: {
    name = "${job}-${repo}";
    value = {
      inherit job repo;
      inherit (jobs.${job}) tier paths schedule keep;
      # For 3-2-1: the medium the repository is on, local or offsite (null: not declared).
      media = (fleet.repositoryMedia or { }).${repo} or null;
      repository = "${fleet.repositories.${repo}}/${hostName}-${job}";
      # The sops secret with this host's credentials for the repository, or null.
      credentials = credentialsOf repo;
      # Where the client may not delete, it does not forget: another host applies the retention.
      pruneOpts = if appendOnly ? ${repo} then [ ] else keepOpts jobs.${job}.keep;
    };
  }) jobs.${job}.repositories) (attrNames jobs));
  # The retention this host applies to append-only repositories (appendOnly.<repo> = it): one
  # prune-only restic job per client's copy, retention-<client>-<job>-<repo>, with the client's
  # password and the storage's maintenance key.
  retention = listToAttrs (concatMap (job: let j = fleet.backups.${job}; in concatMap (client: map (repo: {
    name = "retention-${client}-${job}-${repo}";
    value = {
      inherit job repo client;
      inherit (j) schedule keep;
      repository = "${fleet.repositories.${repo}}/${client}-${job}";
      credentials = if credentialsOf repo == null then null else "${credentialsOf repo}-maintenance";
      password = "restic-password-${client}";
      pruneOpts = keepOpts j.keep;
    };
  }) (filter (repo: (appendOnly.${repo} or null) == hostName) j.repositories)) j.hosts)
    (attrNames (fleet.backups or { })));
  # Monitoring (fleet.monitoring): every host's node exporter; the server's Prometheus.
  mon = fleet.monitoring or null;
  monitors = mon != null && mon.server == hostName;
in
{
  inherit hostName user;
  inherit (me) role address users;
  # Who nixfleet logs in as: root, or a normal user with passwordless sudo (modules/deploy.nix).
  deployUser = me.deployUser or "root";
  home = homeOf user;
  group = groupOf user;

  # Syncthing: null when the host shares no folder. It runs as the host's first user.
  syncthing = if folders == { } then null else {
    inherit user;
    group = groupOf user;
    dataDir = homeOf user;
    devices = listToAttrs (map (peer: {
      name = peer;
      value = { id = fleet.hosts.${peer}.syncthingId; address = fleet.hosts.${peer}.address; };
    }) peers);
    folders = builtins.mapAttrs (id: f: {
      inherit id;
      path = replaceStrings [ "~" ] [ (homeOf user) ] f.path;
      devices = others f.hosts;
      # Deleted and replaced files are kept 30 days; conflicts are kept as copies, never dropped.
      versioning = { type = "staggered"; params.maxAge = "2592000"; };
      maxConflicts = 10;
    }) folders;
  };

  notebooks = builtins.mapAttrs (name: nb: {
    path = "${homeOf nb.user}/.nb/${name}";
    inherit (nb) user remote branch;
  }) notebooks;

  inherit backups retention;

  # Every secret this host's data layer needs, each selected from secrets.yaml by `key`.
  secrets =
    (if folders == { } then { } else {
      syncthing-cert = secret user "syncthing-cert";
      syncthing-key = secret user "syncthing-key";
    })
    // (if backups == { } then { } else { restic-password = secret "root" "restic-password"; })
    // listToAttrs (map (name: { inherit name; value = secret "root" name; })
      (unique (filter (c: c != null) (map (b: b.credentials) (builtins.attrValues (backups // retention))))))
    # For the retention it applies: each client's restic password, selected from the client's.
    // listToAttrs (map (r: { name = r.password; value = secret "root" "restic-password" // { key = "${r.client}/restic-password"; }; })
      (builtins.attrValues retention))
    // (if notebooks == { } then { } else {
      # The deploy key nb pushes with; its public half is hosts.<name>.notebookKey, which the
      # notebooks' remote authorizes (and `nixfleet host retire` revokes).
      nb-ssh-key = secret (head (map (n: notebooks.${n}.user) (attrNames notebooks))) "nb-ssh-key";
    });

  # The node exporter, whose textfile directory holds the data-layer metrics nixfleet verify
  # writes; on the monitoring server, Prometheus and every host it scrapes, by name.
  monitoring = if mon == null then null else {
    inherit (mon) exporterPort textfileDirectory verifyMaxAge;
    scrapeFrom = mon.scrapeFrom or [ ];
    prometheus = if !monitors then null else {
      port = mon.prometheusPort;
      targets = builtins.mapAttrs (_: h: "${h.address}:${toString mon.exporterPort}") fleet.hosts;
    };
  };

  # What the firewall opens: the ports fleet.nix says the host exposes (SSH comes on top), and
  # the monitoring ports: the node exporter's everywhere, Prometheus's on its server.
  ports = if mon == null then me.exposes else {
    tcp = me.exposes.tcp ++ [ mon.exporterPort ] ++ (if monitors then [ mon.prometheusPort ] else [ ]);
    inherit (me.exposes) udp;
  };
}
