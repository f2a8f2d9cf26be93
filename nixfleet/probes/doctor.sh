# shellcheck shell=bash
# What `nixfleet doctor` needs to know about a host before a deploy, one read each (lib.sh's
# `sub`, so each read's own outcome is recorded):
#   doctor.sh SUDO   (SUDO: 1 when the deploy runs its remote steps with sudo)
# Reads: user (id -un), sudo (sudo -n true), trusted (nix's trusted-users), nixdf / bootdf
# (df -Pk, in KiB), git (command -v git), systemdrun (a transient unit that runs `true`).
as_root() { if [ "$1" = 1 ]; then shift; sudo -n "$@"; else shift; "$@"; fi; }
sub user id -un
if [ "$1" = 1 ]; then sub sudo sudo -n true; fi
if nix --extra-experimental-features nix-command config show trusted-users >/dev/null 2>&1; then
  sub trusted nix --extra-experimental-features nix-command config show trusted-users
else
  sub trusted sh -c "nix --extra-experimental-features nix-command show-config | sed -n 's/^trusted-users = //p'"
fi
sub nixdf df -Pk /nix
sub bootdf df -Pk /boot
sub git sh -c 'command -v git'
sub systemdrun as_root "$1" systemd-run --quiet --collect --wait --pipe --service-type=exec true
true
