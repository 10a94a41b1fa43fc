#!/bin/sh
# Builds the kernel-side load and attack tools of tests/tools into OUTDIR.
#   sh tests/tools/build.sh OUTDIR
# They are plain programs on the kernel's own stack (never preloaded), so they
# are built without sanitizers whatever the build of libpstack.so is.
set -eu
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
mkdir -p "$out"
for t in conn_hold conn_churn synflood junkframes echo_epoll; do
	# Only rebuild when the source is newer than the binary.
	if [ ! -x "$out/$t" ] || [ "$here/$t.c" -nt "$out/$t" ]; then
		$CC $FLAGS -o "$out/$t" "$here/$t.c"
	fi
done
