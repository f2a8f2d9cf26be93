# shellcheck shell=bash
# Write one node exporter textfile atomically: TEXT (base64) into a temporary file beside
# DIR/NAME, whose name does not end in .prom (the exporter skips it), then renamed over it, so
# the exporter reads the old file or the new one, never part of one. A DIR that is not there is
# an error: the exporter that would read it is not deployed.
#   textfile.sh DIR NAME TEXT_BASE64
dir=$1 name=$2 text=$3
case $name in
  */* | .* | '') echo "textfile.sh: '$name' is not a file name" >&2; exit 2 ;;
  *.prom) ;;
  *) echo "textfile.sh: $name does not end in .prom, so the node exporter would skip it" >&2; exit 2 ;;
esac
[ -d "$dir" ] || { echo "$dir is not a directory" >&2; exit 1; }
tmp=$(mktemp "$(arg "$dir")/.$name.XXXXXX") || exit
if printf '%s' "$text" | base64 -d >"$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$dir/$name"; then
  rec written "$dir/$name"
else
  rm -f -- "$tmp"
  exit 1
fi
