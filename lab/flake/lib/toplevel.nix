# The system toplevel, built from a host's declarations. Layout as on NixOS: nixos-version,
# kernel/initrd/kernel-modules (lab stand-ins, for reboot detection), etc/ (with the systemd units),
# activate, bin/switch-to-configuration and sw (the system path, lib/system-path.nix). The
# configuration revision is deliberately not in here (see lib/default.nix).
{ config, labTools, nixosRebuild }:
let
  inherit (builtins) attrNames attrValues concatStringsSep concatMap isList isBool mapAttrs toString filter toFile;
  faults = config.nixfleet.lab.faults;
  hasFault = f: builtins.elem f faults;
  hostName = config.networking.hostName;

  value = v: if isBool v then (if v then "true" else "false") else toString v;
  section = title: attrs: "[${title}]\n" + concatStringsSep "" (concatMap
    (k: map (v: "${k}=${value v}\n") (if isList attrs.${k} then attrs.${k} else [ attrs.${k} ]))
    (filter (k: attrs.${k} != [ ]) (attrNames attrs))) + "\n";
  unitAttrs = u: {
    Description = u.description or "";
    After = u.after or [ ];
    Wants = u.wants or [ ];
    Requires = u.requires or [ ];
    PartOf = u.partOf or [ ];
    Conflicts = u.conflicts or [ ];
    OnFailure = u.onFailure or [ ];
  } // (if u.restartIfChanged or true then { } else { X-RestartIfChanged = false; });
  service = u: section "Unit" (unitAttrs u)
    + section "Service" ((u.serviceConfig or { })
      // { Environment = attrValues (mapAttrs (k: v: "\"${k}=${v}\"") (u.environment or { })); });
  timer = u: section "Unit" (unitAttrs u) + section "Timer" u.timerConfig;

  faultServices =
    (if hasFault "failing-unit" then {
      nixfleet-lab-failing = {
        description = "nixfleet lab fault: a unit that fails";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = "/bin/false"; };
      };
    } else { })
    // (if hasFault "slow-unit" then {
      nixfleet-lab-slow = {
        description = "nixfleet lab fault: a unit that takes 6 s to start";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = "/bin/sleep 6"; };
      };
    } else { })
    // (if hasFault "crash-later" then {
      nixfleet-lab-crash-later = {
        description = "nixfleet lab fault: a daemon that starts, then crashes 2 s later, and restarts";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = { Type = "simple"; ExecStart = "/bin/sh -c 'sleep 2; exit 3'"; Restart = "on-failure"; RestartSec = "1"; };
      };
    } else { })
    // (if hasFault "break-ssh" then {
      nixfleet-lab-break-ssh = {
        description = "nixfleet lab fault: sshd stops accepting new connections";
        conflicts = [ "ssh.service" ];
        wantedBy = [ "multi-user.target" ];
        serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = "/bin/true"; };
      };
    } else { });
  # The benchmark's workload (bench/): data unique to this host, so copying really moves bytes,
  # and a unit that takes restart_s to come up, changed with every epoch so it restarts.
  bench = config.nixfleet.lab.bench;
  benchData = derivation {
    name = "bench-data-${hostName}-${toString bench.epoch}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin; head -c ${toString bench.data_mb}M /dev/urandom > $out" ];
  };
  benchServices = if bench == null then { } else {
    nixfleet-bench = {
      description = "nixfleet benchmark service (epoch ${toString bench.epoch})";
      wantedBy = [ "multi-user.target" ];
      serviceConfig = { Type = "oneshot"; RemainAfterExit = true; ExecStart = "/bin/sleep ${toString bench.restart_s}"; };
    };
  };
  services = (config.systemd.services or { }) // faultServices // benchServices;
  timers = config.systemd.timers or { };

  unitFiles =
    mapAttrs (n: u: service u) (builtins.listToAttrs (map (n: { name = "${n}.service"; value = services.${n}; }) (attrNames services)))
    // mapAttrs (n: u: timer u) (builtins.listToAttrs (map (n: { name = "${n}.timer"; value = timers.${n}; }) (attrNames timers)));
  wants = concatMap (n: map (t: "${t}.wants/${n}.service") (services.${n}.wantedBy or [ ])) (attrNames services)
    ++ concatMap (n: map (t: "${t}.wants/${n}.timer") (timers.${n}.wantedBy or [ ])) (attrNames timers);

  # environment.etc: a link through /etc/static, or with `mode`, a copy of that mode (as NixOS
  # makes /etc/sudoers, which sudo refuses as a link to a world-readable file).
  etcAll = config.environment.etc or { };
  etcCopies = filter (p: etcAll.${p} ? mode) (attrNames etcAll);
  etcFiles = mapAttrs (p: e: toFile "etc-file" e.text) (builtins.removeAttrs etcAll etcCopies)
    // { hostname = toFile "hostname" "${hostName}\n"; }
    # A unit names store paths (labTools, its settings files), which toFile cannot hold: the
    # toplevel takes the units' text as an input (unitsText), so every path a unit names is
    # built first and, as the copies in $out name it, stays in the toplevel's closure.
    // mapAttrs (n: text: toFile "unit-file" (builtins.unsafeDiscardStringContext text)) (builtins.listToAttrs (map (n: { name = "systemd/system/${n}"; value = unitFiles.${n}; }) (attrNames unitFiles)));

  users = mapAttrs (n: u: u) (config.users.users or { });
  secrets = config.sops.secrets or { };
  templates = config.sops.templates or { };
  # The encrypted file, by its store path (so it is in the closure, as with sops-nix).
  sopsFile = let f = config.sops.defaultSopsFile or null; in if f == null then "" else "${f}";
  dirs = config.systemd.tmpfiles.directories or [ ];
  systemPath = import ./system-path.nix {
    packages = config.environment.systemPackages or [ ];
    version = config.system.nixos.version;
    inherit nixosRebuild;
  };
  # security.wrappers: /run/wrappers/bin, made afresh at each activation as NixOS does (there,
  # setuid copies; here, links to Debian's setuid programs).
  wrappers = config.security.wrappers or { };
  activate = concatStringsSep "\n" ([
    "#!/bin/sh"
    "# Activation script of ${hostName}: /etc, users, directories and secrets (run by switch-to-configuration)."
    "PATH=/usr/sbin:/usr/bin:/sbin:/bin; export PATH"
    "systemConfig=@out@"
    "rc=0"
    "echo 'setting up /etc...' >&2"
    "${labTools}/bin/install-etc @out@/etc || rc=1"
  ]
  ++ map (p: "install -m ${etcAll.${p}.mode} ${toFile "etc-file" etcAll.${p}.text} /etc/${p}.nixfleet-tmp && mv -T /etc/${p}.nixfleet-tmp /etc/${p} || rc=1") etcCopies
  ++ [
    "rm -rf /run/wrappers/bin.new && install -d -m 0755 /run/wrappers /run/wrappers/bin.new || rc=1"
  ]
  ++ map (w: "ln -s ${wrappers.${w}.source} /run/wrappers/bin.new/${w} || rc=1") (attrNames wrappers)
  ++ [ "rm -rf /run/wrappers/bin && mv -T /run/wrappers/bin.new /run/wrappers/bin || rc=1" ]
  # As on NixOS: normal users get the group `users`, system users one of their own.
  ++ map (u: let x = users.${u}; in
    "getent passwd ${u} >/dev/null || useradd ${if x.isSystemUser or false then "--system --user-group" else "--gid users"} --create-home --home-dir ${x.home} ${if x ? shell then "--shell ${x.shell}" else if x.isSystemUser or false then "" else "--shell /bin/bash"} ${u} || rc=1")
    (attrNames users)
  # users.users.<name>.openssh.authorizedKeys.keys -> /etc/ssh/authorized_keys.d/<name>, a copy
  # (mode 0444, as NixOS makes it, since sshd's StrictModes refuses a link into the store).
  ++ [ "install -d -m 0755 /etc/ssh/authorized_keys.d && find /etc/ssh/authorized_keys.d -type f -delete || rc=1" ]
  ++ map (u: "install -m 0444 ${toFile "authorized-keys" (concatStringsSep "\n" users.${u}.openssh.authorizedKeys.keys + "\n")} /etc/ssh/authorized_keys.d/${u} || rc=1")
    (filter (u: (users.${u}.openssh.authorizedKeys.keys or [ ]) != [ ]) (attrNames users))
  ++ map (d: if builtins.isString d then "install -d ${d} || rc=1"
              else "install -d -o ${d.user} -g \"$(id -gn ${d.user})\" ${d.path} || rc=1") dirs
  ++ [ "${labTools}/bin/install-secrets '${sopsFile}' '${config.sops.age.keyFile or ""}' ${concatStringsSep " " (map (s: let x = secrets.${s}; in
        "${s}:${x.owner or "root"}:${x.group or "root"}:${x.mode or "0400"}:${x.key or "${hostName}/${s}"}") (attrNames secrets))} ${concatStringsSep " " (map (t: let x = templates.${t}; in
        "@${t}:${x.owner or "root"}:${x.group or "root"}:${x.mode or "0400"}:${toFile "sops-template" x.content}") (attrNames templates))} || rc=1" ]
  ++ (if hasFault "activation-error" then [ "echo 'activation: injected fault activation-error' >&2" "rc=1" ] else [ ])
  ++ [ "exit $rc" ]);
  # The lab's stand-in for the kernel, initrd and modules: a store path of its own, shared by every
  # generation with the same version, so a changed kernel shows as "reboot needed".
  kernelVersion = config.boot.kernel.version or "6.1.0-lab";
  kernel = derivation {
    name = "linux-${kernelVersion}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "PATH=/usr/bin:/bin; mkdir -p $out/lib/modules; echo ${kernelVersion} > $out/bzImage; echo ${kernelVersion} > $out/initrd" ];
  };
in
derivation {
  inherit hostName;
  system = "x86_64-linux";
  builder = "/bin/sh";
  name = "nixos-system-${hostName}-${config.system.nixos.version}";
  version = config.system.nixos.version;
  etcList = concatStringsSep "\n" (map (p: "${p} ${etcFiles.${p}}") (attrNames etcFiles));
  wantsList = concatStringsSep "\n" wants;
  activateScript = activate;
  switchScript = ./switch-to-configuration.sh;
  inherit kernel systemPath;
  unitsText = concatStringsSep "\n" (attrValues unitFiles);
  benchData = if bench == null then "" else benchData;
  # This generation's bootloader step fails (as a full /boot or a broken EFI variable store would).
  bootEntryFault = if hasFault "boot-entry" then "1" else "";
  passAsFile = [ "activateScript" ];
  args = [ "-c" ''
    set -e
    PATH=/usr/bin:/bin
    mkdir -p $out/etc $out/bin
    ln -s $systemPath $out/sw
    echo "$version" > $out/nixos-version
    echo "nixos-system-$hostName" > $out/configuration-name
    ln -s $kernel/bzImage $out/kernel; ln -s $kernel/initrd $out/initrd; ln -s $kernel/lib $out/kernel-modules
    echo "$etcList" | while read -r rel src; do
      [ -n "$rel" ] || continue
      mkdir -p "$out/etc/$(dirname "$rel")"; cp "$src" "$out/etc/$rel"
    done
    echo "$wantsList" | while read -r rel; do
      [ -n "$rel" ] || continue
      mkdir -p "$out/etc/systemd/system/$(dirname "$rel")"
      ln -s "../$(basename "$rel")" "$out/etc/systemd/system/$rel"
    done
    [ -z "$benchData" ] || ln -s "$benchData" $out/bench-data
    [ -z "$bootEntryFault" ] || touch $out/fault-boot-entry
    sed "s|@out@|$out|g" "$activateScriptPath" > $out/activate
    sed "s|@out@|$out|g" "$switchScript" > $out/bin/switch-to-configuration
    chmod +x $out/activate $out/bin/switch-to-configuration
  '' ];
}
