# Shared helpers of the bench/ commands (sourced, not run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The binary: release unless BENCH_BUILD=debug (CI's short runs reuse the debug build of the tests);
# BENCH_BIN=path runs a binary kept from another commit (to compare two commits on the same day).
build=${BENCH_BUILD:-release}
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
  build_name="the binary $BENCH_BIN"
else
  if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
    swift build -c "$build" --product yibao >/dev/null 2>&1 || swift build -c "$build" --product yibao
  fi
  bin=$(swift build -c "$build" --show-bin-path)/yibao
  build_name="$build build"
fi

work=$(mktemp -d /tmp/yibao-bench.XXXXXX)
servers=()
pg_dirs=()
bench_cleanup() {
  for pid in "${servers[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for dir in "${pg_dirs[@]}"; do scripts/postgres stop "$dir"; rm -rf "$dir"; done
  if [ "${BENCH_KEEP:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_postgres → sets PG_URL, PG_HOST and PG_PORT (a private cluster; BENCH_PG_URL uses an existing one
# instead). A port taken between choosing and starting is retried with another.
start_postgres() {
  if [ -n "${BENCH_PG_URL:-}" ]; then PG_URL=$BENCH_PG_URL; PG_BIN=$(scripts/postgres bin); pg_address; return; fi
  local dir; dir=$(mktemp -d /tmp/yibao-bench-pg.XXXXXX)
  pg_dirs+=("$dir")
  for _ in 1 2 3 4 5; do
    if PG_URL=$(scripts/postgres start "$dir" "$(free_port)" 2>/dev/null); then PG_BIN=$(scripts/postgres bin); pg_address; return 0; fi
  done
  echo "PostgreSQL did not start" >&2; return 1
}
pg_address() {
  PG_HOST=$(echo "$PG_URL" | sed -E 's#.*@([^:/]+):([0-9]+)/.*#\1#')
  PG_PORT=$(echo "$PG_URL" | sed -E 's#.*@([^:/]+):([0-9]+)/.*#\2#')
}

# start_server PORT ARGS… → sets SERVER_PID and SERVER_PORT; waits until /health answers. PORT 0: the
# server binds a free port itself and reports it (--port-file), so nothing races for it; a fixed PORT
# (a restart on the same address) is retried while the old socket is let go.
start_server() {
  local port=$1; shift
  local portfile; portfile=$(mktemp "$work/port.XXXXXX")
  for attempt in 1 2 3 4 5; do
    rm -f "$portfile"
    "$bin" serve --port "$port" --port-file "$portfile" --sandbox --allow-bearer-institution-keys --log-level error "$@" \
      >>"$work/server.log" 2>&1 &
    SERVER_PID=$!
    servers+=("$SERVER_PID")
    for _ in $(seq 1 300); do
      if [ -s "$portfile" ]; then
        SERVER_PORT=$(cat "$portfile")
        curl -sf "http://127.0.0.1:$SERVER_PORT/health" >/dev/null 2>&1 && return 0
      fi
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$SERVER_PID" 2>/dev/null && { echo "server did not answer on port ${SERVER_PORT:-$port}" >&2; return 1; }
    sleep 0.5
  done
  tail -20 "$work/server.log" >&2
  echo "server did not start on port $port" >&2; return 1
}

stop_server() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# cpu_ms PID → the process's CPU time so far (utime + stime from /proc/PID/stat) in milliseconds
ticks=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$ticks" '{ printf "%.0f", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }
# settle_cpu PID → sets SETTLED_CPU_MS to the process's CPU time once the work it left for after its
# answers is done (the after-commit queues: projections, captures, marks) — polled every 0.5 s until it
# uses less than 25 ms in one, at most 20 s — and DEFERRED_CPU_MS to what it used after the call.
settle_cpu() {
  local start last now
  start=$(cpu_ms "$1"); last=$start
  for _ in $(seq 1 40); do
    sleep 0.5
    now=$(cpu_ms "$1")
    if [ $((now - last)) -lt 25 ]; then last=$now; break; fi
    last=$now
  done
  SETTLED_CPU_MS=$last
  DEFERRED_CPU_MS=$((last - start))
}

# io_writes PID → the bytes the process has written so far and its write calls (`wchar` and `syscw`
# from /proc/PID/io: files and sockets alike)
io_writes() { awk '/^wchar/ { w = $2 } /^syscw/ { c = $2 } END { print w, c }' "/proc/$1/io"; }

# switches PID → the context switches of the process's live threads so far, voluntary and not
# (`/proc/PID/task/*/status`; a thread that ended takes its count with it, so a difference undercounts)
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { printf "%d", s }' || true; }

# thread_cpu PID FILE → writes each live thread's name and CPU time so far in milliseconds to FILE, one
# "name|ms" a line; thread_cpu_report BEFORE AFTER N → the CPU per settlement by thread name between two
# such files, in µs, largest first (the writer is yibao-writer; *.default-qos the cooperative pool that
# runs the handlers; *qos.overcommit the queues of GRDB's readers; NIO-* the event loops; yibao-checkpt
# the checkpointer)
thread_cpu() {
  local task
  for task in /proc/"$1"/task/*; do
    printf '%s|%s\n' "$(cat "$task/comm" 2>/dev/null || true)" "$(awk -v t="$ticks" '{ print ($14 + $15) * 1000 / t }' "$task/stat" 2>/dev/null || true)"
  done >"$2"
}
thread_cpu_report() {
  python3 - "$1" "$2" "$3" <<'PY'
import collections, sys
def load(path):
    cpu = collections.Counter()
    for line in open(path):
        name, _, ms = line.rstrip("\n").rpartition("|")
        if ms:
            cpu["event loops" if name.startswith("NIO-") else name] += float(ms)
    return cpu
before, after, n = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
used = {name: after[name] - before.get(name, 0) for name in after}
shown = [f"{name} {ms / n * 1000:.0f}" for name, ms in sorted(used.items(), key=lambda item: -item[1]) if ms / n * 1000 >= 5]
print("µs per settlement by thread: " + ", ".join(shown))
PY
}

# postgres_cpu_ms DIR → the CPU time of a private cluster's processes so far, in milliseconds: the
# postmaster's own and its exited children's (fields 14–17) plus every live backend's
postgres_cpu_ms() {
  local postmaster; postmaster=$(head -1 "$1/postmaster.pid")
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"
    for child in $(pgrep -P "$postmaster"); do awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null; done
  } | awk -v t="$ticks" '{ sum += $1 } END { printf "%.0f", sum * 1000 / t }'
}

# round_trips URL → the instance's waits for the database server so far (`/metrics`)
round_trips() { curl -sf "$1/metrics" | awk '/^yibao_database_round_trips_total / { print $2 }'; }

# peak_rss PID → the process's peak resident set (VmHWM) in MiB
peak_rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

machine() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(date -u +%Y-%m-%d)"
}
