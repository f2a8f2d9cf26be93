# nb notebooks (tier 2): git repositories under ~/.nb, synced with `nb sync` to Forgejo over
# SSH by a user timer. Declares `nixfleet.notebooks`, which nixfleet's verifier reads.
{ config, lib, pkgs, fleetHost, ... }:
let
  inherit (lib) mkOption types;
  mine = fleetHost.notebooks;
  key = fleetHost.secrets.nb-ssh-key or null;
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
    nixfleet.notebooks = lib.mapAttrs (_: b: { inherit (b) path user remote branch; }) mine;

    # The host's own deploy key for the notebooks' remote (its public half is
    # hosts.<name>.notebookKey in fleet.nix; retiring the host revokes it on Forgejo).
    sops.secrets = lib.optionalAttrs (key != null) {
      nb-ssh-key = { inherit (key) owner group mode key; };
    };

    environment.systemPackages = lib.optionals (mine != { }) [ pkgs.nb ];

    # nb's own auto-sync, as a timer: commit, pull (rebase), push, every 15 minutes.
    systemd.user.services.nb-sync = lib.mkIf (mine != { }) {
      description = "nb sync: commit and sync every notebook";
      path = [ pkgs.nb pkgs.git pkgs.openssh ];
      environment.GIT_SSH_COMMAND =
        "ssh -i ${config.sops.secrets.nb-ssh-key.path} -o IdentitiesOnly=yes -o BatchMode=yes";
      script = "nb sync --all";
      serviceConfig.Type = "oneshot";
    };
    systemd.user.timers.nb-sync = lib.mkIf (mine != { }) {
      wantedBy = [ "timers.target" ];
      timerConfig = { OnCalendar = "*:0/15"; Persistent = true; };
    };
  };
}
