#!/bin/sh
# Builds the kernel-side load and attack tools of tests/tools into OUTDIR.
#   sh tests/tools/build.sh OUTDIR
# They run on the kernel's own stack (echo_epoll and user_timeout are
# plain-sockets programs that also run under the preload), so they are built
# without sanitizers whatever the build of libpstack.so is.
set -eu
out=${1:?usage: build.sh OUTDIR}
src=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
mkdir -p "$out"

# build NAME: OUTDIR/NAME from NAME.c, when the binary is missing or older.
build() {
	if [ ! -x "$out/$1" ] || [ "$src/$1.c" -nt "$out/$1" ]; then
		$CC $FLAGS -o "$out/$1" "$src/$1.c"
	fi
}

build conn_hold   # N concurrent connections, each echo-verified, held
build conn_churn  # M short connections in a row or a few at a time
build synflood    # raw SYN generator (AF_PACKET or IPPROTO_RAW), 192.0.2.0/24 only
build junkframes  # malformed frames on an interface (AF_PACKET), 192.0.2.0/24 only
build echo_epoll  # epoll echo server for many connections (run under the preload)
build user_timeout # TCP_USER_TIMEOUT client whose peer disappears (kernel or preload)
