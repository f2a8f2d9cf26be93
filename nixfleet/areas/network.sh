# shellcheck shell=bash
# Listening sockets, as the kernel lists them in /proc/net/{tcp,tcp6,udp,udp6} (only hex numbers,
# so no process can forge a row, unlike ss, which prints process names and cgroup paths as they
# are), with the processes that own them. Run as root to see every process's sockets.
#   network.sh
for t in tcp tcp6 udp udp6; do
  [ -e "/proc/net/$t" ] || continue
  sub "$t" cat "/proc/net/$t" || exit
done
# Which process holds each socket inode ("PID INODE" records), then the names of those processes.
# Without root, other users' descriptors cannot be read: their sockets show no process.
declare -A pids=()
while IFS= read -r -d '' row; do
  pid=${row#/proc/}
  pid=${pid%%/*}
  inode=${row##*[}
  rec socket "$pid ${inode%]}"
  pids[$pid]=1
done < <(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname 'socket:*' -printf '%h %l\0' 2>/dev/null)
for pid in "${!pids[@]}"; do
  name=$(cat "/proc/$pid/comm" 2>/dev/null) && rec comm "$pid $name"
done
exit 0
