# shellcheck shell=bash
# A part that cannot be read as declared: say why (on stderr) and fail, so it is Unknown.
#   refuse.sh REASON
echo "$1" >&2
exit 2
