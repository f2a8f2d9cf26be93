#!/bin/sh
# nixos-version for the lab's system path (lib/system-path.nix bakes the version in, as NixOS's
# does). The configuration revision is deliberately not in the toplevel (lib/default.nix), so
# --configuration-revision answers as NixOS does when it is unset.
v='@version@'
case "${1:-}" in
  --json) printf '{"nixosVersion":"%s"}\n' "$v" ;;
  --configuration-revision) echo "configuration revision is unknown" >&2; exit 1 ;;
  --hash|--revision) echo "Nixpkgs commit hash is unknown" >&2; exit 1 ;;
  *) echo "$v" ;;
esac
