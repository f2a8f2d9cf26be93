#!/bin/sh
# switch-to-configuration for the nixfleet lab: a stand-in for NixOS's switch-to-configuration-ng.
# It honours the same contract (nixpkgs pkgs/by-name/sw/switch-to-configuration-ng, and its
# manual page):
#   switch|test   stop removed units, run activate (/etc, users, secrets), point /run/current-system
#                 here, daemon-reload, then restart changed units and start new ones;
#   switch|boot   make this generation the boot default (the lab's bootloader entry);
#   dry-activate  print what would stop, restart and start, change nothing;
#   boot-activate used by the lab's boot unit (NixOS's stage 2): activate and start, no diff.
# Exit codes: 0 ok, 1 usage, 2 activation failed, 3 daemon-reload failed, 4 units failed,
# 5 (EIO) the boot entry could not be written: NixOS's exits with the errno of a failed
# bootloader install, before activating anything.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
out=@out@
action=${1:-}
case "$action" in
  switch|boot|test|dry-activate|boot-activate) ;;
  *) echo "Usage: $0 [switch|boot|test|dry-activate]" >&2; exit 1 ;;
esac
log() { echo "$*" >&2; }
units_dir=etc/systemd/system
old=$(readlink /run/current-system 2>/dev/null || true)
[ -d "$old/$units_dir" ] || old=""

# Units of a generation: regular files (not the *.wants links) directly in etc/systemd/system.
units_of() { [ -n "$1" ] && [ -d "$1/$units_dir" ] && (cd "$1/$units_dir" && find . -maxdepth 1 -type f | sed 's#^\./##' | sort); }
wanted() { [ -n "$(find "$out/$units_dir" -mindepth 2 -maxdepth 2 -path "*.wants/$1" 2>/dev/null)" ]; }
restart_if_changed() { ! grep -q '^X-RestartIfChanged=false' "$out/$units_dir/$1"; }
# Active for stopping and restarting: also a unit on its way up, such as one waiting to be
# restarted after a crash (NixOS's switch-to-configuration stops those too).
is_active() { case $(systemctl is-active "$1") in active|activating|reloading|deactivating) true ;; *) false ;; esac; }
is_failed() { systemctl is-failed --quiet "$1"; }

to_stop="" to_restart="" to_start=""
for u in $(units_of "$old"); do
  [ -e "$out/$units_dir/$u" ] && continue
  if is_active "$u" || is_failed "$u"; then to_stop="$to_stop $u"; fi
done
for u in $(units_of "$out"); do
  case "$u" in *@.service) continue ;; esac
  if [ -z "$old" ] || [ ! -e "$old/$units_dir/$u" ]; then
    wanted "$u" && to_start="$to_start $u"
  elif ! cmp -s "$old/$units_dir/$u" "$out/$units_dir/$u"; then
    if is_active "$u"; then restart_if_changed "$u" && to_restart="$to_restart $u"
    elif wanted "$u"; then to_start="$to_start $u"; fi
  elif [ "$action" = boot-activate ] && wanted "$u"; then
    to_start="$to_start $u"
  fi
done

if [ "$action" = dry-activate ]; then
  [ -n "$to_stop" ] && log "would stop the following units:$to_stop"
  [ -n "$to_restart" ] && log "would restart the following units:$to_restart"
  [ -n "$to_start" ] && log "would start the following units:$to_start"
  exit 0
fi

echo "$(date -Is) $action $out" >> /var/log/nixfleet-lab-activation.log

if [ "$action" = switch ] || [ "$action" = boot ]; then
  # The lab's bootloader: one entry, the default generation, booted by nixfleet-lab-boot.service.
  if [ -e "$out/fault-boot-entry" ] || ! { mkdir -p /boot/nixfleet-lab \
      && ln -sfn "$out" /boot/nixfleet-lab/default.tmp \
      && mv -T /boot/nixfleet-lab/default.tmp /boot/nixfleet-lab/default; }; then
    log "Failed to install bootloader"
    exit 5
  fi
  log "updating the boot default to $out"
fi
[ "$action" = boot ] && exit 0

rc=0
# At boot (before sysinit.target) a blocking start would wait for the boot itself: queue instead.
start="systemctl start"
[ "$action" = boot-activate ] && start="systemctl start --no-block"
if [ -n "$to_stop" ]; then
  log "stopping the following units:$to_stop"
  systemctl stop $to_stop || rc=4
  systemctl reset-failed $to_stop 2>/dev/null  # removed units must not linger as failed
fi
log "activating the configuration..."
"$out/activate" || rc=2
ln -sfn "$out" /run/current-system.tmp && mv -T /run/current-system.tmp /run/current-system
# A lab host's first generation stands for the system it was installed with and booted.
[ -e /run/booted-system ] || ln -s "$out" /run/booted-system
systemctl daemon-reload || { [ $rc = 0 ] && rc=3; }
# sshd belongs to every generation (services.openssh.enable), so activation always ensures it runs.
$start ssh.service || true
if [ -n "$to_restart" ]; then
  log "restarting the following units:$to_restart"
  systemctl restart $to_restart || { [ $rc = 0 ] && rc=4; }
fi
if [ -n "$to_start" ]; then
  log "starting the following units:$to_start"
  $start $to_start || { [ $rc = 0 ] && rc=4; }
fi
[ "$action" = boot-activate ] && exit $rc
failed=$(systemctl list-units --state=failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')
if [ -n "$failed" ]; then
  log "warning: the following units failed: $failed"
  [ $rc = 0 ] && rc=4
fi
[ $rc = 2 ] && log "warning: error(s) occurred while switching to the new configuration"
exit $rc
