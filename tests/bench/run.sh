#!/bin/sh
# pstack's benchmark, side by side with the kernel: `make bench`, or
#   sh tests/bench/run.sh BUILD_DIR
# Needs the helper programs that `make all` builds into BUILD_DIR/bench (bench_srv, bench_cli,
# bench_exec); runs tests/bench/bench.py's self-check (`bench.py --check`: the harness's
# medians and table on made-up figures), then bench.py itself, which does the measuring and writes
# tests/bench/RESULTS.md, tests/bench/growth.png and tests/bench/queues.png. Needs root (network
# namespaces, a TAP device). Settings: BENCH_* variables, see bench.py;
# e.g. BENCH_SECONDS=2 for a quick run.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "bench: no build folder '${1:-build}' (run make first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces and a TAP device)" >&2; exit 1; }
[ -f "$BUILD/libpstack.so" ] || echo "bench: $BUILD/libpstack.so is missing: the pstack column will say so" >&2

for p in bench_srv bench_cli bench_exec; do
	[ -x "$BUILD/bench/$p" ] || { echo "bench: no $BUILD/bench/$p (make all builds it)" >&2; exit 1; }
done

# Debian's python3, not a per-user one that may shadow it on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" "$HERE/bench.py" --check
exec "$PY" "$HERE/bench.py" "$BUILD"
