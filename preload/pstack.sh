#!/bin/sh
# pstack: run an unmodified program with its Internet sockets served by the
# pstack userspace TCP/IP stack (LD_PRELOAD=libpstack.so) on a TAP device,
# and create or remove the TAP devices it uses. POSIX sh.
#
# The Makefile turns this file into build/pstack (and $PREFIX/bin/pstack) with
# @LIBDIR@ replaced by the folder that holds libpstack.so.

LIBDIR='@LIBDIR@'
LIB="$LIBDIR/libpstack.so"

usage() {
	cat <<'EOF'
usage: pstack [OPTIONS] [--] CMD [ARGS...]
       pstack tap add NAME [--user USER] [--host ADDR/PREFIX]
       pstack tap del NAME
       pstack stat [PID] [--watch N]
       pstack --help

Runs CMD with LD_PRELOAD set to libpstack.so, so that its IPv4 sockets go
through pstack's own TCP/IP stack on a TAP device instead of the kernel's.
Loopback (127.0.0.0/8, ::1), Unix sockets and glibc's DNS resolver stay with
the kernel. Each option sets the PSTACK_* variable named after it; an option
not given leaves that variable as it is in the environment.

Options:
  --tap NAME          TAP device to attach to (PSTACK_TAP, default tap0). As
                      root, a missing device is created for the run with the
                      gateway address on the host side.
  --addr A.B.C.D/N    the stack's address and prefix length, /1 to /30
                      (PSTACK_ADDR, default 192.0.2.2/24)
  --gateway A.B.C.D   default gateway, the host side of the TAP, or none
                      (PSTACK_GATEWAY, default 192.0.2.1: the subnet's first host)
  --mac XX:XX:XX:XX:XX:XX
                      the stack's MAC address (PSTACK_MAC, default 00:00:5e:00:53:01)
  --mtu BYTES         IP MTU (PSTACK_MTU, default: the device's)
  --log LEVEL         error, warn, info, debug or trace (PSTACK_LOG, default warn);
                      debug shows lifecycle events and counters at exit, trace
                      a decoded dump of every frame
  --log-file FILE     write the log to FILE instead of stderr (PSTACK_LOG_FILE)
  --pcap FILE         write every frame in and out to FILE, for tcpdump -r (PSTACK_PCAP)
  -h, --help          this text

TAP devices (root only):
  tap add NAME [--user USER] [--host A.B.C.D/N]
                      create a persistent TAP device NAME owned by USER (so that
                      USER can run pstack without root), give its host side the
                      address A.B.C.D/N (default 192.0.2.1/24) and bring it up
  tap del NAME        remove the TAP device NAME

A running stack:
  stat [PID] [--watch N]
                      show the stack of process PID (without PID: every stack
                      of yours; root: of every user): its TAP, address and
                      uptime, its sockets like `ss -tni`, its counters like
                      `nstat -a`; --watch N shows them again every N seconds

Examples:
  pstack -- nc -l 12345
  pstack --log debug --pcap /tmp/nc.pcap -- curl http://192.0.2.1:8000/
  pstack tap add tap0 --user alice      (then, as alice: pstack -- nc -l 12345)
  pstack stat --watch 1
EOF
}

die() {
	echo "pstack: $*" >&2
	exit 2
}

# Usage errors mention --help.
usage_error() {
	echo "pstack: $*" >&2
	echo "Run 'pstack --help' for the options." >&2
	exit 2
}

is_ip4() {
	# Four decimal numbers 0..255 separated by dots.
	printf '%s\n' "$1" | grep -Eq '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'
}

is_ip4_prefix() {
	case $1 in
	*/*) is_ip4 "${1%/*}" && printf '%s\n' "${1#*/}" | grep -Eq '^([1-9]|[12][0-9]|30)$' ;;
	*) return 1 ;;
	esac
}

is_mac() {
	printf '%s\n' "$1" | grep -Eq '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$'
}

is_ifname() {
	# Linux interface names: 1 to 15 bytes, no '/', ':' or whitespace.
	[ -n "$1" ] && [ ${#1} -le 15 ] && printf '%s\n' "$1" | grep -Eq '^[A-Za-z0-9_.-]+$'
}

need_root() {
	[ "$(id -u)" = 0 ] || die "$1 needs root (try: sudo pstack $2)"
	command -v ip >/dev/null 2>&1 || die "the 'ip' command (iproute2) is missing"
}

tap_add() {
	name=${1-}
	[ -n "$name" ] || usage_error "tap add: missing the device name (pstack tap add NAME [--user USER] [--host A/N])"
	is_ifname "$name" || usage_error "tap add: '$name' is not a valid interface name (1-15 letters, digits, '_', '.', '-')"
	shift
	user='' host=192.0.2.1/24
	while [ $# -gt 0 ]; do
		case $1 in
		--user) [ $# -ge 2 ] || usage_error "--user needs a user name"; user=$2; shift 2 ;;
		--user=*) user=${1#--user=}; shift ;;
		--host) [ $# -ge 2 ] || usage_error "--host needs an address like 192.0.2.1/24"; host=$2; shift 2 ;;
		--host=*) host=${1#--host=}; shift ;;
		*) usage_error "tap add: unknown argument '$1'" ;;
		esac
	done
	is_ip4_prefix "$host" || usage_error "--host '$host' is not valid: expected an IPv4 address/prefix, e.g. 192.0.2.1/24"
	if [ -n "$user" ]; then
		id -u "$user" >/dev/null 2>&1 || die "tap add: no such user '$user'"
	fi
	need_root "tap add" "tap add $name"
	if ip link show dev "$name" >/dev/null 2>&1; then
		die "tap add: a device named '$name' already exists (remove it with: pstack tap del $name)"
	fi
	if [ -n "$user" ]; then
		ip tuntap add dev "$name" mode tap user "$user" || die "tap add: could not create $name"
	else
		ip tuntap add dev "$name" mode tap || die "tap add: could not create $name"
	fi
	if ! ip addr add "$host" dev "$name" || ! ip link set dev "$name" up; then
		ip tuntap del dev "$name" mode tap 2>/dev/null
		die "tap add: could not configure $name (removed it again)"
	fi
	echo "pstack: created TAP device $name${user:+ for user $user}, host side $host"
}

tap_del() {
	name=${1-}
	[ -n "$name" ] || usage_error "tap del: missing the device name (pstack tap del NAME)"
	[ $# -le 1 ] || usage_error "tap del: unexpected argument '$2'"
	is_ifname "$name" || usage_error "tap del: '$name' is not a valid interface name"
	need_root "tap del" "tap del $name"
	ip link show dev "$name" >/dev/null 2>&1 || die "tap del: no device named '$name'"
	ip -d link show dev "$name" | grep -q 'tun type tap' || die "tap del: '$name' is not a TAP device; leaving it alone"
	ip tuntap del dev "$name" mode tap || die "tap del: could not remove $name"
	echo "pstack: removed TAP device $name"
}

if [ "${1-}" = tap ]; then
	shift
	case ${1-} in
	add) shift; tap_add "$@"; exit 0 ;;
	del) shift; tap_del "$@"; exit 0 ;;
	-h|--help) usage; exit 0 ;;
	'') usage_error "tap: expected 'add' or 'del'" ;;
	*) usage_error "tap: unknown command '$1' (expected 'add' or 'del')" ;;
	esac
fi

# pstack stat: a program of its own beside the library (preload/stat.c).
if [ "${1-}" = stat ]; then
	shift
	[ -x "$LIBDIR/pstack-stat" ] || die "$LIBDIR/pstack-stat is missing (build it with 'make', or install with 'make install')"
	exec "$LIBDIR/pstack-stat" "$@"
fi

# optarg NAME "$@": the option's value, from --opt VALUE or --opt=VALUE.
# Sets VAL and SHIFTS (how many arguments it took).
optarg() {
	case $2 in
	--*=*) VAL=${2#*=}; SHIFTS=1 ;;
	*)
		[ $# -ge 3 ] || usage_error "$1 needs a value"
		VAL=$3; SHIFTS=2 ;;
	esac
}

while [ $# -gt 0 ]; do
	case $1 in
	--) shift; break ;;
	-h|--help) usage; exit 0 ;;
	--tap|--tap=*)
		optarg --tap "$@"; shift $SHIFTS
		is_ifname "$VAL" || usage_error "--tap '$VAL' is not a valid interface name"
		PSTACK_TAP=$VAL; export PSTACK_TAP ;;
	--addr|--addr=*)
		optarg --addr "$@"; shift $SHIFTS
		is_ip4_prefix "$VAL" || usage_error "--addr '$VAL' is not valid: expected an IPv4 address/prefix, e.g. 192.0.2.2/24"
		PSTACK_ADDR=$VAL; export PSTACK_ADDR ;;
	--gateway|--gateway=*)
		optarg --gateway "$@"; shift $SHIFTS
		[ "$VAL" = none ] || is_ip4 "$VAL" || usage_error "--gateway '$VAL' is not valid: expected an IPv4 address or none, e.g. 192.0.2.1"
		PSTACK_GATEWAY=$VAL; export PSTACK_GATEWAY ;;
	--mac|--mac=*)
		optarg --mac "$@"; shift $SHIFTS
		is_mac "$VAL" || usage_error "--mac '$VAL' is not valid: expected six hex pairs, e.g. 00:00:5e:00:53:01"
		PSTACK_MAC=$VAL; export PSTACK_MAC ;;
	--mtu|--mtu=*)
		optarg --mtu "$@"; shift $SHIFTS
		printf '%s\n' "$VAL" | grep -Eq '^[1-9][0-9]{2,4}$' || usage_error "--mtu '$VAL' is not valid: expected a number of bytes, e.g. 1500"
		PSTACK_MTU=$VAL; export PSTACK_MTU ;;
	--log|--log=*)
		optarg --log "$@"; shift $SHIFTS
		case $VAL in
		error|warn|info|debug|trace) ;;
		*) usage_error "--log '$VAL' is not valid: expected error, warn, info, debug or trace" ;;
		esac
		PSTACK_LOG=$VAL; export PSTACK_LOG ;;
	--log-file|--log-file=*)
		optarg --log-file "$@"; shift $SHIFTS
		[ -n "$VAL" ] || usage_error "--log-file needs a file name"
		PSTACK_LOG_FILE=$VAL; export PSTACK_LOG_FILE ;;
	--pcap|--pcap=*)
		optarg --pcap "$@"; shift $SHIFTS
		[ -n "$VAL" ] || usage_error "--pcap needs a file name"
		PSTACK_PCAP=$VAL; export PSTACK_PCAP ;;
	-*) usage_error "unknown option '$1'" ;;
	*) break ;;
	esac
done

[ $# -gt 0 ] || usage_error "no command to run (pstack [OPTIONS] -- CMD [ARGS...])"
[ -f "$LIB" ] || die "$LIB is missing (build it with 'make', or install with 'make install')"
command -v "$1" >/dev/null 2>&1 || die "$1: command not found"

# Our library goes first, so that its socket calls are the ones programs
# find. A sanitizer build of it (make asan, make tsan) needs the sanitizer's
# runtime preloaded as well: ASan's in front of it (ASan insists), TSan's
# right after it (so that TSan sees the locks taken inside our wrappers).
san=$(ldd "$LIB" 2>/dev/null | awk '$1 ~ /^lib[at]san\.so/ { print $3; exit }')
rest=${LD_PRELOAD-}
case $san in
*libasan*) LD_PRELOAD="$san:$LIB${rest:+:$rest}" ;;
*libtsan*) LD_PRELOAD="$LIB:$san${rest:+:$rest}" ;;
*) LD_PRELOAD="$LIB${rest:+:$rest}" ;;
esac
export LD_PRELOAD
exec "$@"
