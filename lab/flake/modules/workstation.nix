# desktop and laptop: alice's Documents (Syncthing), her nb notebooks (git to vps), daily backup.
args@{ host, ... }:
let
  backup = import ./backup-client.nix;
  home = "/home/alice";
in
(import ../lib/merge.nix).all [
  {
    users.users.alice = { isNormalUser = true; inherit home; };
    # Her Documents exist before the first backup runs (Syncthing would create them later).
    systemd.tmpfiles.directories = [ { path = "${home}/Documents"; user = "alice"; } ];
    nixfleet.notebooks.home = {
      path = "${home}/.nb/home";
      user = "alice";
      remote = "root@vps:/srv/git/notebooks/home.git";
      branch = "main";
    };
    # The key nb pushes notebooks to vps with (a deploy key, decrypted by sops-nix).
    sops.secrets."nb-ssh-key" = { owner = "alice"; group = "alice"; mode = "0400"; };
  }
  (import ./syncthing.nix (args // { user = "alice"; dataDir = home; documents = "${home}/Documents"; }))
  (backup.job { name = host.name; paths = [ "${home}/Documents" "${home}/.nb" ]; schedule = "daily"; keep = "30d"; })
  backup.secret
]
