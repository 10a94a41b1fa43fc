#!/bin/sh
# pstack's benchmark, side by side with the kernel: `make bench`, or
#   sh tests/bench/run.sh BUILD_DIR
# Builds the two helper programs (bench_srv, bench_cli) into BUILD_DIR/bench,
# then runs tests/bench/bench.py, which does the measuring and writes
# tests/bench/RESULTS.md and tests/bench/growth.png. Needs root (network
# namespaces, a TAP device). Settings: BENCH_* variables, see bench.py;
# e.g. BENCH_SECONDS=2 for a quick run.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-build}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "bench: no build folder '${1:-build}' (run make first)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces and a TAP device)" >&2; exit 1; }
[ -f "$BUILD/libpstack.so" ] || echo "bench: $BUILD/libpstack.so is missing: the pstack column will say so" >&2

CC=${CC:-cc}
mkdir -p "$BUILD/bench"
# Always rebuilt: two small files, and never a stale helper.
for p in bench_srv bench_cli; do
	$CC -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
		-Wstrict-prototypes -Wundef -O2 -g -o "$BUILD/bench/$p" "$HERE/$p.c"
done

# Debian's python3, not a per-user one that may shadow it on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
exec "$PY" "$HERE/bench.py" "$BUILD"
