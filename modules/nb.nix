# nb notebooks (tier 2): git repositories under ~/.nb, synced with `nb sync` to Forgejo over
# SSH by a user timer. Declares `nixfleet.notebooks`, which nixfleet's verifier reads.
{ config, lib, pkgs, fleet, hostName, ... }:
let
  inherit (lib) mkOption types;
  mine = lib.filterAttrs (_: b: builtins.elem hostName b.hosts) fleet.notebooks;
in
{
  options.nixfleet.notebooks = mkOption {
    description = "The nb notebooks on this host, by name.";
    default = { };
    type = types.attrsOf (types.submodule {
      options = {
        path = mkOption { type = types.str; description = "The notebook's git checkout (~/.nb/<name>)."; };
        user = mkOption { type = types.str; description = "Whose notebook it is."; };
        remote = mkOption { type = types.nullOr types.str; default = null; description = "Its git remote."; };
        branch = mkOption { type = types.str; default = "main"; description = "The branch nb syncs."; };
      };
    });
  };

  config = {
    nixfleet.notebooks = lib.mapAttrs (name: b: {
      path = "${config.users.users.${b.user}.home}/.nb/${name}";
      inherit (b) user remote branch;
    }) mine;

    environment.systemPackages = lib.optionals (mine != { }) [ pkgs.nb ];

    # nb's own auto-sync, as a timer: commit, pull (rebase), push, every 15 minutes.
    systemd.user.services.nb-sync = lib.mkIf (mine != { }) {
      description = "nb sync: commit and sync every notebook";
      path = [ pkgs.nb pkgs.git pkgs.openssh ];
      script = "nb sync --all";
      serviceConfig.Type = "oneshot";
    };
    systemd.user.timers.nb-sync = lib.mkIf (mine != { }) {
      wantedBy = [ "timers.target" ];
      timerConfig = { OnCalendar = "*:0/15"; Persistent = true; };
    };
  };
}
