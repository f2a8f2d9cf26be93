# nb notebooks: plain git repos under ~/.nb, synced to their remote (Forgejo on the vps) over SSH.
# NixOS has no nb module; nixfleet.notebooks is this flake's own option, read by nixfleet's checks.
# nb is not packaged for Debian, so the lab runs nb's sync sequence (lib/bin/nb-sync) on a timer,
# as nb's auto-sync would after each edit.
{ config, labTools, ... }:
let
  notebooks = config.nixfleet.notebooks or { };
  sh = "${labTools}/bin";
  oneshot = description: commands: {
    inherit description;
    wantedBy = [ "multi-user.target" ];
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = commands; };
  };
  syncService = name: nb: {
    name = "nb-sync-${name}";
    value = {
      description = "nb sync of notebook ${name}";
      after = [ "nb-notebooks-init.service" ];
      environment.GIT_SSH_COMMAND = "/usr/bin/ssh -i /run/secrets/nb-ssh-key -o IdentitiesOnly=yes -o BatchMode=yes";
      # "-": like nb's background auto-sync, a failed sync is not a failed unit; nb.pushed catches it.
      serviceConfig = { Type = "oneshot"; User = nb.user; ExecStart = "-${sh}/nb-sync ${nb.path} ${nb.branch}"; };
    };
  };
  syncTimer = name: nb: {
    name = "nb-sync-${name}";
    value = { wantedBy = [ "timers.target" ]; timerConfig = { OnBootSec = "5s"; OnUnitInactiveSec = "1min"; }; };
  };
  over = f: builtins.listToAttrs (builtins.attrValues (builtins.mapAttrs f notebooks));
in
if notebooks == { } then { } else {
  systemd.services = {
    nb-notebooks-init = oneshot "Create the declared nb notebooks if missing (offline: no fetch, no push)"
      (builtins.attrValues (builtins.mapAttrs
        (name: nb: "${sh}/nb-notebook-init ${nb.path} ${nb.user} ${nb.remote} ${nb.branch}")
        notebooks));
  } // over syncService;
  systemd.timers = over syncTimer;
}
