# shellcheck shell=bash
# Remember which flake revision built TOPLEVEL (after a switch that was not a safe one).
#   record.sh REVISIONS_DIR TOPLEVEL REVISION
record "$1" "$2" "$3"
