# Shared by script/demo and bench/throughput.sh: start fanout processes on loopback with free
# ports, wait for their /healthz, read their /metrics, and stop everything on exit or Ctrl-C.
# Source it from bash after `cd` to the repo root; it sets traps for EXIT, INT and TERM.

FANOUT_BIN=${FANOUT_BIN:-build/bin}
CLUSTER_DIR=""
CLUSTER_KEEP=0          # set to 1 to keep the run directory (logs) after exit
declare -a CLUSTER_PIDS=()
declare -A CLUSTER_LOGS=()
declare -A CLUSTER_PORTS_TAKEN=()

# cluster_init DIR: DIR holds logs and data; removed on exit unless CLUSTER_KEEP=1.
cluster_init() {
  CLUSTER_DIR=$1
  mkdir -p "$CLUSTER_DIR/logs"
  trap cluster_cleanup EXIT
  trap 'echo; echo "interrupted; stopping everything" >&2; exit 130' INT TERM
}

cluster_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  cluster_stop_all
  if [[ -n "$CLUSTER_DIR" && -d "$CLUSTER_DIR" ]]; then
    if ((CLUSTER_KEEP || rc != 0)); then
      # Keep the logs for a post-mortem, drop the (large) blobs and caches.
      find "$CLUSTER_DIR" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
      echo "logs kept in $CLUSTER_DIR/logs" >&2
    else
      rm -rf "$CLUSTER_DIR"
    fi
  fi
  exit "$rc"
}

# cluster_track PID: stop this process too when the run ends.
cluster_track() { CLUSTER_PIDS+=("$1"); }

# SIGTERM to everything this run started, SIGKILL to whatever is left after 5 s.
cluster_stop_all() {
  local pid alive deadline
  ((${#CLUSTER_PIDS[@]} == 0)) && return 0
  for pid in "${CLUSTER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "${CLUSTER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${CLUSTER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${CLUSTER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  CLUSTER_PIDS=()
}

# pick_port: prints a loopback port nobody listens on and this run has not handed out yet.
pick_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    [[ -n "${CLUSTER_PORTS_TAKEN[$port]:-}" ]] && continue
    # A refused connection means nothing listens there.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      CLUSTER_PORTS_TAKEN[$port]=1
      echo "$port"
      return 0
    fi
  done
}

# start_proc NAME BINARY ARGS...: runs $FANOUT_BIN/BINARY in the background, logging to
# $CLUSTER_DIR/logs/NAME.log. Sets LAST_PID.
start_proc() {
  local name=$1 binary=$2
  shift 2
  local log="$CLUSTER_DIR/logs/$name.log"
  CLUSTER_LOGS[$name]=$log
  if [[ ! -x "$FANOUT_BIN/$binary" ]]; then
    echo "error: $FANOUT_BIN/$binary is missing; did the build succeed?" >&2
    return 1
  fi
  echo "$FANOUT_BIN/$binary $*" >"$log"
  "$FANOUT_BIN/$binary" "$@" >>"$log" 2>&1 &
  LAST_PID=$!
  cluster_track "$LAST_PID"
}

# log_tail NAME [LINES]
log_tail() {
  local log=${CLUSTER_LOGS[$1]:-}
  [[ -n "$log" && -f "$log" ]] && tail -n "${2:-25}" "$log" | sed "s/^/  [$1] /" >&2
  return 0
}

# wait_healthy NAME PID URL: waits up to 20 s for URL/healthz; fails early if PID exits.
wait_healthy() {
  local name=$1 pid=$2 url=$3 deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: $name exited before $url/healthz answered; its log ends with:" >&2
      log_tail "$name"
      return 1
    fi
    curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "error: $name is not healthy at $url/healthz after 20 s; its log ends with:" >&2
  log_tail "$name"
  return 1
}

# metric URL NAME: the value of NAME in URL/metrics (summed over label sets; 0 when absent).
metric() {
  { curl -fsS --max-time 10 "$1/metrics" 2>/dev/null || true; } |
    awk -v name="$2" '
      $0 !~ /^#/ { key = $1; sub(/\{.*$/, "", key); if (key == name) { sum += $NF; found = 1 } }
      END { printf "%.0f\n", found ? sum : 0 }'
}

# start_tracker / start_origin / start_agent: the fanout processes on loopback. Each sets
# <ROLE>_URL (agents: AGENT_URLS+=, AGENT_NAMES+=) and waits until the process is healthy.
start_tracker() {
  local port
  port=$(pick_port)
  TRACKER_URL="http://127.0.0.1:$port"
  ORIGIN_PORT=${ORIGIN_PORT:-$(pick_port)}
  ORIGIN_URL="http://127.0.0.1:$ORIGIN_PORT"
  start_proc tracker fanout-tracker --listen "127.0.0.1:$port" --origin "$ORIGIN_URL" \
    --log-level info "$@" || return 1
  wait_healthy tracker "$LAST_PID" "$TRACKER_URL"
}

# start_origin OBJECTS_DIR [extra flags]: needs start_tracker first.
start_origin() {
  local objects=$1
  shift
  start_proc origin fanout-origin --listen "127.0.0.1:$ORIGIN_PORT" \
    --peer-listen "127.0.0.1:$(pick_port)" --advertise-host 127.0.0.1 \
    --tracker "$TRACKER_URL" --object-store-dir "$objects" \
    --cache-dir "$CLUSTER_DIR/origin-cache" --log-level info "$@" || return 1
  wait_healthy origin "$LAST_PID" "$ORIGIN_URL"
}

declare -a AGENT_URLS=() AGENT_NAMES=()
# start_agent [extra flags]: needs start_tracker first.
start_agent() {
  local i=${#AGENT_URLS[@]} port
  port=$(pick_port)
  local name="agent-$i" url="http://127.0.0.1:$port"
  start_proc "$name" fanout-agent --listen "127.0.0.1:$port" \
    --peer-listen "127.0.0.1:$(pick_port)" --advertise-host 127.0.0.1 \
    --tracker "$TRACKER_URL" --cache-dir "$CLUSTER_DIR/$name-cache" --log-level info "$@" ||
    return 1
  wait_healthy "$name" "$LAST_PID" "$url" || return 1
  AGENT_URLS+=("$url")
  AGENT_NAMES+=("$name")
}

# put_random_blob OBJECTS_DIR MIB: writes MIB MiB of random bytes into the directory object
# store under their sha256 and sets BLOB_HEX and BLOB_SIZE.
put_random_blob() {
  local objects=$1 mib=$2
  mkdir -p "$objects/blobs/sha256"
  # Written beside the store and renamed in, so the origin never sees half an object.
  local tmp="$CLUSTER_DIR/blob.incoming"
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$tmp"
  BLOB_HEX=$(sha256sum "$tmp" | cut -d' ' -f1)
  BLOB_SIZE=$((mib * 1024 * 1024))
  mv "$tmp" "$objects/blobs/sha256/$BLOB_HEX"
}
