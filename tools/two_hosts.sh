#!/usr/bin/env bash
# Two hosts on one machine: runs `mpirun -np 2 PROGRAM ARGS` with one rank on each of two network
# namespaces joined by a veth pair, over Open MPI's TCP transport alone (no shared memory), and
# removes everything it made when it ends. Each namespace has its own network stack and host
# name, so the ranks see each other only as 10.213.0.1 and 10.213.0.2 across the veth link.
# Usage (as root): tools/two_hosts.sh [--rate RATE] [--] PROGRAM [ARGS...]
#   --rate RATE  shape each host's outgoing traffic to RATE (tc's units: 1gbit, 100mbit), to
#                stand for a slower network than the veth link (a memory copy).
# Prints "two_hosts: N bytes crossed the link" after the run (both directions); exits with the
# program's status, or 77 (and why) where namespaces cannot be made.
# On real hosts the same mpirun line takes a hostfile of their addresses instead (README).
set -euo pipefail

rate=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate="$2"; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [--rate RATE] [--] PROGRAM [ARGS...]" >&2; exit 2; }

skip() { echo "two_hosts: skipped: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip command (Debian's iproute2)"
mpirun=$(command -v mpirun) || skip "no mpirun (Debian's openmpi-bin)"

name="ember$$"
host=("${name}a" "${name}b")
link=("em$$a" "em$$b")
address=(10.213.0.1 10.213.0.2)
work=$(mktemp -d)
cleanup() {
  ip netns del "${host[0]}" 2>/dev/null || true  # deleting a namespace deletes its end of the veth
  ip netns del "${host[1]}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "${host[0]}" 2>"$work/err" || skip "ip netns add failed: $(cat "$work/err")"
ip netns add "${host[1]}"
ip link add "${link[0]}" type veth peer name "${link[1]}"
for i in 0 1; do
  ip link set "${link[$i]}" netns "${host[$i]}"
  ip -n "${host[$i]}" addr add "${address[$i]}/24" dev "${link[$i]}"
  ip -n "${host[$i]}" link set "${link[$i]}" up
  ip -n "${host[$i]}" link set lo up
  if [ -n "$rate" ]; then
    ip netns exec "${host[$i]}" tc qdisc add dev "${link[$i]}" root tbf rate "$rate" \
      burst 256kb latency 50ms
  fi
done

# Open MPI starts a rank on another host through a remote shell (ssh); here the "remote shell"
# enters that host's namespace, with a host name of its own.
cat >"$work/enter" <<EOF
#!/bin/sh
case "\$1" in
  ${address[0]}) ns=${host[0]} ;;
  ${address[1]}) ns=${host[1]} ;;
  *) echo "two_hosts: no host \$1" >&2; exit 1 ;;
esac
shift
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$ns; \$*"
EOF
chmod +x "$work/enter"
printf '%s slots=1\n%s slots=1\n' "${address[0]}" "${address[1]}" >"$work/hostfile"

bytes() {
  local sum=0
  for i in 0 1; do
    sum=$((sum + $(ip netns exec "${host[$i]}" cat "/sys/class/net/${link[$i]}/statistics/tx_bytes")))
  done
  echo "$sum"
}

forward=()  # the caller's settings the ranks see too
for variable in EMBER_NUM_THREADS ASAN_OPTIONS PATH LD_LIBRARY_PATH; do
  [ -z "${!variable+set}" ] || forward+=(-x "$variable")
done
before=$(bytes)
status=0
# mpirun itself runs on the first host. btl tcp,self and pml ob1: the TCP transport only (no
# shared memory, no UCX), on the veth subnet only, for both the ranks and Open MPI's own wiring.
# mpi_yield_when_idle: the two hosts share this machine's cores, and the kernel moves a veth
# packet on those cores too (softirq); ranks that spin while they wait keep it off them, and every
# message then waits for a scheduler tick (4 ms for 1 KiB instead of 50 us, measured). Real hosts
# have cores and a network card of their own: there Open MPI's default spinning is right.
# --bind-to none: each host's Open MPI would bind its rank to "its" first core, the same core.
ip netns exec "${host[0]}" unshare --uts sh -c 'hostname "$0"; exec "$@"' "${host[0]}" \
  env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  "$mpirun" --hostfile "$work/hostfile" -np 2 --map-by node --bind-to none \
  --mca plm_rsh_agent "$work/enter" \
  --mca pml ob1 --mca btl tcp,self --mca mpi_yield_when_idle 1 \
  --mca btl_tcp_if_include 10.213.0.0/24 --mca oob_tcp_if_include 10.213.0.0/24 \
  "${forward[@]}" "$@" || status=$?
echo "two_hosts: $(($(bytes) - before)) bytes crossed the link"
exit "$status"
