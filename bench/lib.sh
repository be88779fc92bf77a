# Shared helpers of the bench/ commands (sourced, not run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The binary: release unless BENCH_BUILD=debug (CI's short runs reuse the debug build of the tests).
build=${BENCH_BUILD:-release}
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  swift build -c "$build" --product yibao >/dev/null 2>&1 || swift build -c "$build" --product yibao
fi
bin=$(swift build -c "$build" --show-bin-path)/yibao

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

# start_postgres → sets PG_URL (a private cluster; BENCH_PG_URL uses an existing one instead)
start_postgres() {
  if [ -n "${BENCH_PG_URL:-}" ]; then PG_URL=$BENCH_PG_URL; return; fi
  local dir; dir=$(mktemp -d /tmp/yibao-bench-pg.XXXXXX)
  pg_dirs+=("$dir")
  PG_URL=$(scripts/postgres start "$dir" "$(free_port)")
  PG_BIN=$(scripts/postgres bin)
}

# start_server PORT ARGS… → sets SERVER_PID; waits until /health answers
start_server() {
  local port=$1; shift
  "$bin" serve --port "$port" --sandbox --allow-bearer-institution-keys --log-level error "$@" >>"$work/server-$port.log" 2>&1 &
  SERVER_PID=$!
  servers+=("$SERVER_PID")
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$work/server-$port.log" >&2; echo "server on $port died" >&2; return 1; }
    sleep 0.1
  done
  echo "server on $port did not start" >&2; return 1
}

stop_server() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# peak_rss PID → the process's peak resident set (VmHWM) in MiB
peak_rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

machine() {
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(date -u +%Y-%m-%d)"
}
