#!/usr/bin/env bash
# The raw parallel limit: the same Nix steps nixos-rebuild runs (build, copy, set profile,
# switch), for every host at once with xargs -P, and nothing else. Usage: limit.sh FLAKE SSH_CONFIG HOST...
set -euo pipefail
flake=$1 config=$2; shift 2
one() {
  set -euo pipefail
  p=$(nix --extra-experimental-features 'nix-command flakes' build --no-link --json \
        "$flake#nixosConfigurations.\"$1\".config.system.build.toplevel" | jq -r '.[0].outputs.out')
  NIX_SSHOPTS="-F $config" nix-copy-closure --to "$1" "$p"
  # As root, with sudo where the host is reached as a normal user (the vps).
  ssh -F "$config" "$1" "s=; [ \$(id -u) = 0 ] || s='sudo -n'; \$s nix-env -p /nix/var/nix/profiles/system --set $p && \$s $p/bin/switch-to-configuration switch"
}
export -f one; export flake config
printf '%s\n' "$@" | xargs -P "$#" -I{} bash -c 'one {}' >/dev/null 2>&1
