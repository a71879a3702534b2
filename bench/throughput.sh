#!/usr/bin/env bash
# First throughput figure (issue 2): one agent fetching a blob from one origin on loopback,
# against curl of the same blob from the origin's HTTP endpoint piped to sha256sum, in the
# same run. The goal is agent/curl <= 1.2.
#   bench/throughput.sh                 # 1 GiB
#   bench/throughput.sh --size-mib 256
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_mib=1024
while (($#)); do
  case $1 in
    --size-mib) size_mib=${2:?--size-mib needs a number}; shift 2 ;;
    --size-mib=*) size_mib=${1#*=}; shift ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$size_mib" =~ ^[1-9][0-9]*$ ]] || { echo "--size-mib must be a positive integer" >&2; exit 2; }

script/build fanout-tracker fanout-origin fanout-agent >&2

source script/lib/cluster.sh
mkdir -p .demo
cluster_init "$(mktemp -d "$PWD/.demo/bench-XXXXXX")"
objects="$CLUSTER_DIR/objects"
mkdir -p "$objects"

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

echo "starting tracker, origin and one agent on 127.0.0.1" >&2
start_tracker
start_origin "$objects"
start_agent

echo "writing a $size_mib MiB random object" >&2
put_random_blob "$objects" "$size_mib"
digest="sha256:$BLOB_HEX"

echo "warming the origin (GET /v1/blobs/$digest/metainfo pulls and verifies the object)" >&2
curl -fsS --max-time 1200 -o /dev/null "$ORIGIN_URL/v1/blobs/$digest/metainfo"

echo "(a) curl from the origin | sha256sum" >&2
start=$(now_ns)
curl_sum=$(curl -fsS --max-time 1200 "$ORIGIN_URL/v1/blobs/$digest" | sha256sum | cut -d' ' -f1)
curl_s=$(seconds_since "$start")
if [[ "$curl_sum" != "$BLOB_HEX" ]]; then
  echo "error: curl from the origin returned bytes hashing to $curl_sum, not $BLOB_HEX" >&2
  exit 1
fi

echo "(b) the agent fetching it through the swarm" >&2
start=$(now_ns)
code=$(curl -sS --max-time 1200 -o /dev/null -w '%{http_code}' "${AGENT_URLS[0]}/v1/blobs/$digest")
agent_s=$(seconds_since "$start")
if [[ "$code" != 200 ]]; then
  echo "error: the agent answered HTTP $code" >&2
  log_tail agent-0
  exit 1
fi

awk -v mib="$size_mib" -v c="$curl_s" -v a="$agent_s" 'BEGIN {
  printf "blob             %d MiB\n", mib
  printf "curl | sha256sum %8.3f s  %8.1f MiB/s\n", c, mib / c
  printf "agent            %8.3f s  %8.1f MiB/s\n", a, mib / a
  printf "agent/curl       %8.2f   (goal <= 1.20)\n", a / c
}'
