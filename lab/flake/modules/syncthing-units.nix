# services.syncthing → syncthing.service and syncthing-init.service (nixpkgs'
# nixos/modules/services/networking/syncthing.nix): the init unit
# applies the declared devices, folders and options over the REST API, like NixOS's
# merge-syncthing-config. Binaries come from the lab's /usr (there is no nixpkgs here).
{ config, labTools, ... }:
let
  st = config.services.syncthing or { enable = false; };
  s = st.settings;
  devices = builtins.attrValues (builtins.mapAttrs (name: d: d // { deviceID = d.id; inherit name; }) s.devices);
  folders = builtins.attrValues (builtins.mapAttrs
    (name: f: f // {
      label = name;
      type = "sendreceive";
      fsWatcherEnabled = true;
      fsWatcherDelayS = 1;
      rescanIntervalS = 60;
      devices = map (n: { deviceID = s.devices.${n}.id; }) f.devices;
    }) s.folders);
  # As NixOS's syncthing-init script embeds the settings, the unit names them by store path: new
  # settings are a changed unit, which the switch restarts, so they are applied at once.
  settings = builtins.toFile "syncthing-settings.json"
    (builtins.toJSON { inherit devices folders; options = s.options; inherit (st) overrideDevices overrideFolders; });
in
if !(st.enable or false) then { } else {
  systemd.services.syncthing = {
    description = "Syncthing service";
    after = [ "network.target" ];
    wantedBy = [ "multi-user.target" ];
    environment = { STNORESTART = "yes"; STNOUPGRADE = "yes"; HOME = st.dataDir; };
    serviceConfig = {
      User = st.user;
      Group = st.group;
      Restart = "on-failure";
      SuccessExitStatus = "3 4";
      RestartForceExitStatus = "3 4";
      ExecStartPre = "+${labTools}/bin/syncthing-prepare ${st.configDir} ${st.user} ${st.cert} ${st.key}";
      ExecStart = "/usr/bin/syncthing serve --no-browser --no-restart --no-upgrade --gui-address=${st.guiAddress} --config=${st.configDir} --data=${st.configDir}";
    };
  };
  systemd.services.syncthing-init = {
    description = "Syncthing configuration updater";
    requires = [ "syncthing.service" ];
    partOf = [ "syncthing.service" ];
    after = [ "syncthing.service" ];
    wantedBy = [ "multi-user.target" ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      User = st.user;
      ExecStart = "${labTools}/bin/syncthing-init ${st.configDir} ${st.guiAddress} ${settings}";
    };
  };
}
