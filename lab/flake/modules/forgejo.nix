# vps: stands in for Forgejo, the notebooks' remote. As with Forgejo, git runs over the host's
# sshd as user `forgejo`, the repositories are <owner>/<name>.git under its home, and only the
# notebook keys of the hosts fleet.nix lists for a notebook may push (hosts.<name>.notebookKey;
# on a real Forgejo these are the repository's deploy keys). Retiring a host drops its key.
{ fleet, ... }:
let
  inherit (builtins) attrValues concatMap filter head match map;
  home = "/var/lib/forgejo";
  notebooks = attrValues (fleet.notebooks or { });
  # "forgejo@vps.example.org:alice/home.git" -> "alice/home.git"
  repoOf = remote: let m = match "forgejo@[^:]+:(.+)" remote; in if m == null then null else head m;
  repos = filter (r: r != null) (map (nb: repoOf nb.remote) notebooks);
  keys = filter (k: k != null) (map (h: fleet.hosts.${h}.notebookKey or null) (concatMap (nb: nb.hosts) notebooks));
in
{
  users.users.forgejo = {
    isSystemUser = true;
    inherit home;
    shell = "/usr/bin/git-shell";
    openssh.authorizedKeys.keys = keys;
  };
  systemd.services.git-remotes-init = {
    description = "Create the notebooks' repositories, as Forgejo holds them";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      User = "forgejo";
      ExecStart = map (r: "/bin/sh -c 'test -d ${home}/${r} || /usr/bin/git init -q --bare -b main ${home}/${r}'") repos;
    };
  };
}
