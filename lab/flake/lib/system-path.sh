#!/bin/sh
# Builder of the lab's system path (lib/system-path.nix): $out/bin holds a link to every program
# of the Debian packages named in $packages (those missing on this machine are left out), then
# the programs of each store path in $extra, as NixOS's system-path links its packages' bin/.
set -eu
PATH=/usr/bin:/bin
: "${out:?}" "${packages:?}" "${extra?}"
mkdir -p "$out/bin"
link() { [ -e "$out/bin/$2" ] || [ -L "$out/bin/$2" ] || ln -s "$1" "$out/bin/$2"; }
for p in $packages; do
  dpkg-query -L "$p" 2>/dev/null | while IFS= read -r f; do
    case $f in /bin/* | /sbin/* | /usr/bin/* | /usr/sbin/*) ;; *) continue ;; esac
    if [ -f "$f" ] && [ -x "$f" ]; then link "$f" "${f##*/}"; fi
  done
done
# As on NixOS, where sh and awk are bash and gawk: Debian names them through alternatives.
link /usr/bin/bash sh
for a in gawk mawk; do if [ -x "/usr/bin/$a" ]; then link "/usr/bin/$a" awk; fi; done
for x in $extra; do
  for f in "$x"/bin/*; do link "$f" "${f##*/}"; done
done
