# shellcheck shell=bash
# Stop the rollback watchdog; print FIRED if its rollback already started, else DISARMED.
#   disarm.sh
disarm
