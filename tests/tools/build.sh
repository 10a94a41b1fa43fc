#!/bin/sh
# Builds the kernel-side load and attack tools of tests/tools into OUTDIR.
#   sh tests/tools/build.sh OUTDIR
# They run on the kernel's own stack (echo_epoll and user_timeout are
# plain-sockets programs that also run under the preload), so they are built
# without sanitizers whatever the build of libpstack.so is. A tool that builds
# frames (junkframes) compiles the stack's wire module (stack/wire) in.
set -eu
out=${1:?usage: build.sh OUTDIR}
src=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$src/../.." && pwd)
CC=${CC:-cc}
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
mkdir -p "$out"

# build NAME [wire]: OUTDIR/NAME from NAME.c (with stack/wire/*.c when "wire"),
# when the binary is missing or older than a source.
build() {
	name=$1
	srcs="$src/$name.c"
	deps=$srcs
	if [ "${2:-}" = wire ]; then
		srcs="$srcs $top/stack/wire/*.c"
		deps="$srcs $top/stack/wire/*.h"
	fi
	stale=0
	[ -x "$out/$name" ] || stale=1
	for d in $deps; do
		if [ "$d" -nt "$out/$name" ]; then
			stale=1
		fi
	done
	if [ $stale = 1 ]; then
		# shellcheck disable=SC2086 # srcs is a list of paths without spaces
		$CC $FLAGS -I"$top" -o "$out/$name" $srcs
	fi
}

build conn_hold   # N concurrent connections, each echo-verified, held
build conn_churn  # M short connections in a row or a few at a time
build synflood    # raw SYN generator (AF_PACKET or IPPROTO_RAW), 192.0.2.0/24 only
build junkframes wire  # malformed frames on an interface (AF_PACKET), 192.0.2.0/24 only
build echo_epoll  # epoll echo server for many connections (run under the preload)
build user_timeout # TCP_USER_TIMEOUT client whose peer disappears (kernel or preload)
