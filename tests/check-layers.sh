#!/bin/sh
# The layering rules, checked on the sources and on the built objects
# (`make check-layers`, which `make test` runs before the unit tests).
#
#   includes ("..."): stack/wire includes only stack/wire; stack/core only
#     stack/wire and stack/core; stack/dev only stack/wire, stack/core and
#     stack/dev; stack/host anything under stack/; shim/ only stack/ and
#     shim/. So nothing under stack/ includes shim/ or preload/, and shim/
#     does not include preload/.
#   stack/core and stack/wire are sans-IO: their system headers (<...>) are
#     the C library's pure part only (<stdio.h> only in a file that calls
#     snprintf), and their objects reference no library function beyond an
#     allowlist of pure ones (memory, strings, formatting) and compiler
#     helpers: no system call, no clock, no file.
#   no object of stack/ or shim/ references a symbol the preload interposes
#     (the global list of preload/pstack.map): one bare close() in the shim
#     would re-enter the wrapper. The shim calls the real functions through
#     struct shim_libc, the stack through raw system calls (stack/dev/sysc.h).
#
# Usage: sh tests/check-layers.sh [BUILD]   (BUILD: the build folder, default
# build, where `make lib` put the objects). Prints one line per violation and
# exits 1 if there is any.
set -u
BUILD=${1:-build}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bad() {
	echo "check-layers: $*" >&2
	fail=1
}

# The sources of a layer (folders), one per line.
sources() {
	find "$@" -name '*.[ch]' | sort
}

# The object built from a source file.
object_of() {
	echo "$BUILD/obj/${1%.c}.o"
}

# ---- includes point downward ----

allowed_for() {
	case $1 in
	stack/wire/*) echo "stack/wire/" ;;
	stack/core/*) echo "stack/wire/ stack/core/" ;;
	stack/dev/*) echo "stack/wire/ stack/core/ stack/dev/" ;;
	stack/host/*) echo "stack/" ;;
	shim/*) echo "stack/ shim/" ;;
	*) echo "" ;;
	esac
}

sources stack shim > "$tmp/files"
while IFS= read -r f; do
	allow=$(allowed_for "$f")
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" > "$tmp/incs"
	while IFS= read -r inc; do
		ok=0
		for prefix in $allow; do
			case $inc in
			"$prefix"*) ok=1 ;;
			esac
		done
		[ $ok = 1 ] || bad "$f includes \"$inc\" (a layer above it, or outside stack/ and shim/)"
	done < "$tmp/incs"
done < "$tmp/files"

# ---- the core and wire code: pure C library headers only ----

sources stack/core stack/wire > "$tmp/pure"
while IFS= read -r f; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$f" > "$tmp/sys"
	while IFS= read -r h; do
		case $h in
		stdint.h | stddef.h | stdbool.h | string.h | stdlib.h | errno.h | stdarg.h | limits.h) ;;
		stdio.h)
			grep -q 'snprintf' "$f" || bad "$f includes <stdio.h> without calling snprintf"
			;;
		*) bad "$f includes <$h>: the protocol core and wire code use the C library's pure part only" ;;
		esac
	done < "$tmp/sys"
done < "$tmp/pure"

# ---- the core and wire objects: no system call ----

: > "$tmp/pure_objs"
grep '\.c$' "$tmp/pure" | while IFS= read -r f; do object_of "$f"; done > "$tmp/pure_objs"
missing=0
while IFS= read -r o; do
	[ -f "$o" ] || { bad "$o is missing: run make lib first"; missing=1; }
done < "$tmp/pure_objs"
if [ $missing = 0 ]; then
	# What the core and wire objects define among themselves is theirs to call.
	xargs nm --defined-only < "$tmp/pure_objs" | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/defined"
	while IFS= read -r o; do
		nm -u "$o" | awk '{ print $NF }' | sort -u > "$tmp/undef"
		comm -23 "$tmp/undef" "$tmp/defined" > "$tmp/external"
		while IFS= read -r sym; do
			case $sym in
			memcpy | memmove | memset | memcmp | memchr | malloc | calloc | realloc | aligned_alloc | free | \
				snprintf | vsnprintf | strlen | strnlen | strcmp | strncmp | strchr | strrchr | \
				strcspn | strspn) ;;
			# Compiler and hardening helpers, sanitizer hooks (make asan/tsan).
			_GLOBAL_OFFSET_TABLE_ | __stack_chk_fail | __stack_chk_guard | \
				__memcpy_chk | __memmove_chk | __memset_chk | __snprintf_chk | __vsnprintf_chk | \
				__udivti3 | __umodti3 | __divti3 | __modti3 | __popcountdi2 | __clzdi2 | __ctzdi2 | \
				__asan_* | __ubsan_* | __tsan_* | __sanitizer_* | __sancov_*) ;;
			*) bad "$o references $sym: the protocol core and wire code make no system call (pure functions only)" ;;
			esac
		done < "$tmp/external"
	done < "$tmp/pure_objs"
fi

# ---- no object of stack/ or shim/ calls an interposed symbol ----

sed -n '/global:/,/local:/p' preload/pstack.map | sed 's/global://; s/local:.*//' | tr ';' '\n' |
	tr -s ' \t' '\n' | grep -v '^$' | sort -u > "$tmp/interposed"
[ -s "$tmp/interposed" ] || bad "preload/pstack.map lists no interposed symbol"
sources stack shim | grep '\.c$' | while IFS= read -r f; do object_of "$f"; done > "$tmp/objs"
while IFS= read -r o; do
	if [ ! -f "$o" ]; then
		bad "$o is missing: run make lib first"
		continue
	fi
	nm -u "$o" | awk '{ print $NF }' | sort -u > "$tmp/undef"
	for sym in $(comm -12 "$tmp/undef" "$tmp/interposed"); do
		bad "$o references $sym, which the preload interposes: call it through struct shim_libc (shim) or a raw system call (stack/dev/sysc.h)"
	done
done < "$tmp/objs"

if [ $fail = 0 ]; then
	echo "check-layers: ok"
fi
exit $fail
