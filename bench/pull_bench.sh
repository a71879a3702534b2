#!/bin/bash
# The origin's cold pull of one object from s3rver against `curl | sha256sum` of the same object,
# in the same run. Prints both times and the ratio (origin / curl+sha256sum; <= 1 is the target).
#   bench/pull_bench.sh [BUILD_DIR] [SIZE_MIB]      (defaults: build, 1024)
# ORIGIN_ARGS adds flags to the origin's command line, e.g. to try other pull settings:
#   ORIGIN_ARGS="--set pull.part_size=16MiB --set pull.concurrency=4" bench/pull_bench.sh
# Needs node and `npm ci` in tests/s3rver.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
size_mib=${2:-1024}
work=$(mktemp -d /tmp/fanout-pull-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port=$(port)
"$root/tests/s3rver/start.sh" "$s3_port" "$work/s3" > "$work/s3rver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$s3_port/" && break; sleep 0.1; done

sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER)
empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
head -c $((size_mib << 20)) /dev/urandom > "$work/object"
hex=$(sha256sum "$work/object" | cut -d' ' -f1)
key="fanout/blobs/sha256/$hex"
curl -sf "${sign[@]}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$work/object" \
  "http://127.0.0.1:$s3_port/$key" > /dev/null
rm "$work/object"

now() { date +%s.%N; }
# ROUNDS rounds (default 3), each curl | sha256sum then a cold origin pull (fresh cache, the
# origin stopped and its background fsync finished before the next round), so a load spike on
# this shared machine hits both sides; the ratio of the best times is the figure.
rounds=${ROUNDS:-3}
cat > "$work/origin.yaml" <<YAML
object_store:
  type: s3
  endpoint: http://127.0.0.1:$s3_port
  bucket: fanout
  access_key_id: S3RVER
  secret_access_key: S3RVER
YAML
times=()
for round in $(seq "$rounds"); do
  t0=$(now)
  got=$(curl -sf "${sign[@]}" -H "x-amz-content-sha256: $empty" "http://127.0.0.1:$s3_port/$key" |
    sha256sum | cut -d' ' -f1)
  t1=$(now)
  [ "$got" = "$hex" ] || { echo "curl got the wrong bytes" >&2; exit 1; }

  http_port=$(port)
  "$build/bin/fanout-origin" --config "$work/origin.yaml" --listen "127.0.0.1:$http_port" \
    --peer-listen "127.0.0.1:$(port)" --tracker "http://127.0.0.1:$(port)" \
    --cache-dir "$work/cache" --log-level warn ${ORIGIN_ARGS:-} > "$work/origin.log" 2>&1 &
  origin_pid=$!
  pids+=($origin_pid)
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$http_port/healthz" && break; sleep 0.1; done
  t2=$(now)
  curl -sf -o /dev/null "http://127.0.0.1:$http_port/v1/blobs/sha256:$hex/metainfo" ||
    { echo "the origin's pull failed:" >&2; cat "$work/origin.log" >&2; exit 1; }
  t3=$(now)
  kill "$origin_pid"
  wait "$origin_pid" || true
  rm -rf "$work/cache"
  times+=("$t0" "$t1" "$t2" "$t3")
done

python3 - "$size_mib" "${times[@]}" <<'PY'
import sys
mib = float(sys.argv[1])
t = list(map(float, sys.argv[2:]))
rounds = [(t[i + 1] - t[i], t[i + 3] - t[i + 2]) for i in range(0, len(t), 4)]
print(f"object {mib:.0f} MiB from s3rver, {len(rounds)} rounds")
for n, (curl, origin) in enumerate(rounds, 1):
    print(f"  round {n}: curl | sha256sum {curl:6.2f} s, origin {origin:6.2f} s, ratio {origin / curl:.2f}")
curl = min(c for c, _ in rounds)
origin = min(o for _, o in rounds)
print(f"curl | sha256sum        : {curl:6.2f} s  {mib / curl:7.1f} MiB/s  (best round)")
print(f"origin cold pull+verify : {origin:6.2f} s  {mib / origin:7.1f} MiB/s  (best round; ranged GETs, sha256, metainfo, CAS write)")
print(f"ratio origin / curl+sha256sum = {origin / curl:.2f}  (target <= 1)")
PY
