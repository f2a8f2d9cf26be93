# shellcheck shell=bash
# Syncthing's state from its REST API on the host, and the conflict copies in each folder. The
# API key is read from config.xml here and handed to curl on stdin: it is in no command line,
# output or log. Each REST call and each folder scan is recorded with its exit status.
#   syncthing.sh CONFIG_DIR BASE_URL UNIX_SOCKET [FOLDER_ID FOLDER_PATH]...
# BASE_URL is http://HOST:PORT (or http://localhost with UNIX_SOCKET, else UNIX_SOCKET is "").
# A FOLDER_PATH starting with ~/ is under the home of the user who owns CONFIG_DIR.
cfg=$1 base=$2 sock=$3
shift 3
command -v syncthing >/dev/null || { rec state not-installed; exit 0; }
command -v curl >/dev/null || { rec state no-curl; exit 0; }
[ -e "$cfg/config.xml" ] || { rec state no-config; exit 0; }
[ -r "$cfg/config.xml" ] || { rec state no-permission; exit 0; }
key=$(sed -n 's#.*<apikey>\(.*\)</apikey>.*#\1#p' "$cfg/config.xml")
api() {
  printf 'X-API-Key: %s\n' "$key" |
    curl -fsS --connect-timeout 2 --max-time 5 ${sock:+--unix-socket "$sock"} -H @- "$@"
}
# curl exits 7 when nothing listens: Syncthing is not running. Any other failure (a refused
# API key, a curl that cannot run) is a read that did not happen.
api "$base/rest/system/ping" >/dev/null 2>"$T/ping"
rc=$?
if [ $rc = 7 ]; then
  rec state not-running
  rec error "$(tail -c 300 "$T/ping")"
  exit 0
elif [ $rc != 0 ]; then
  tail -c 300 "$T/ping" >&2
  exit $rc
fi
rec state running
for e in system/version system/status system/connections stats/device config/folders config/devices; do
  sub "api:$e" api "$base/rest/$e"
done
owner=$(stat -c %U -- "$cfg")
home=$(getent passwd "$owner" | cut -d: -f6)
while [ $# -ge 2 ]; do
  id=$1 path=$2
  shift 2
  rec folder "$id"
  sub status api -G --data-urlencode "folder=$id" "$base/rest/db/status"
  sub errors api -G --data-urlencode "folder=$id" "$base/rest/folder/errors"
  sub completion api -G --data-urlencode "folder=$id" "$base/rest/db/completion"
  # A literal ~ (as Syncthing's config holds it), expanded here as Syncthing does.
  # shellcheck disable=SC2088
  case $path in
    "~") path=$home ;;
    "~/"*) path=$home/${path#"~/"} ;;
  esac
  rec path "$path"
  sub conflicts find "$(arg "$path")" -name '*.sync-conflict-*' -not -path '*/.stversions/*' -print0
done
exit 0
