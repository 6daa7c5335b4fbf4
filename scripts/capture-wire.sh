#!/usr/bin/env bash
# Captures a short discovery session on loopback and prints every TCP payload, annotated:
# our server (the CLI), a `nanocat --respondent` ("nc-1"), our client ("ts-1") and a
# `nanocat --sub`. The README's "Wire format" dumps come from this script.
#
# Needs tcpdump (root or CAP_NET_RAW) and nanocat: apt-get install tcpdump nanomsg-utils
#   scripts/capture-wire.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in tcpdump nanocat; do
  command -v "$tool" >/dev/null || { echo "capture-wire: $tool is not installed" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
A=$(free_port); B=$(free_port)
wait_for() { # file, pattern
  for _ in $(seq 200); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "capture-wire: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

tcpdump -i lo -n -U -w "$work/cap.pcap" "tcp port $A or tcp port $B" 2>"$work/tcpdump.err" & pids+=($!)
wait_for "$work/tcpdump.err" "listening on"

node --import tsx src/main.ts server --survey-url "tcp://127.0.0.1:$A" --pubsub-url "tcp://127.0.0.1:$B" \
  --survey-time 200ms --recv-deadline 200ms --poll-time 300ms --republish off --no-list-digest >"$work/server.out" 2>&1 & server=$!; pids+=($server)
wait_for "$work/server.out" "surveying on"
nanocat --sub --connect "tcp://127.0.0.1:$B" --msgpack >"$work/sub.out" & pids+=($!)
nanocat --respondent --connect "tcp://127.0.0.1:$A" --data nc-1 >/dev/null & nc=$!; pids+=($nc)
wait_for "$work/server.out" 'members ["nc-1"]'
node --import tsx src/main.ts client --name ts-1 --survey-url "tcp://127.0.0.1:$A" >"$work/client.out" 2>&1 & client=$!; pids+=($client)
wait_for "$work/server.out" 'members ["nc-1","ts-1"]'
kill "$nc"
wait_for "$work/server.out" 'members ["ts-1"]'
kill -INT "$client"
wait_for "$work/server.out" 'members []'
kill -INT "$server"; wait "$server" || true
sleep 0.3

echo "# survey port $A, pub/sub port $B; nanocat --sub received (msgpack):"
od -An -tx1 "$work/sub.out"
echo "# TCP payloads:"
node --import tsx scripts/wire-dump.ts "$work/cap.pcap" "$A" "$B"
