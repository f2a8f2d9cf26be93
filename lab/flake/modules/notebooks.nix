# nb notebooks (plain git repos under ~/.nb, synced to vps over SSH) and the bare remotes on vps.
# NixOS has no nb module; nixfleet.notebooks is this flake's own option, read by nixfleet's checks.
{ config, ... }:
let
  notebooks = config.nixfleet.notebooks or { };
  remotes = config.nixfleet.gitRemotes or [ ];
  initNotebook = name: nb:
    "/run/current-system/sw/bin/nb-notebook-init ${nb.path} ${nb.user} ${nb.remote} ${nb.branch}";
in
(if notebooks == { } then { } else {
  systemd.services.nb-notebooks-init = {
    description = "Create the declared nb notebooks if missing (offline: no fetch, no push)";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = builtins.attrValues (builtins.mapAttrs initNotebook notebooks);
    };
  };
})
// (if remotes == [ ] then { } else {
  systemd.services.git-remotes-init = {
    description = "Create the bare git remotes that notebooks push to";
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = map (r: "/bin/sh -c 'test -d ${r} || git init -q --bare -b main ${r}'") remotes;
    };
  };
})
