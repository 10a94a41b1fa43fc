#!/usr/bin/env bats
# A seventh set of real programs, unmodified, under the preload, each
# compared with the same program on the kernel's stack in the same run: NSD
# (two server processes forked with a SO_REUSEPORT socket pair each, UDP
# and TCP, a truncated answer, AXFR), and tracepath and traceroute as
# clients (IP_RECVERR, IP_MTU_DISCOVER probes, the local EMSGSIZE: tracepath
# printed a time on its [LOCALHOST] line, the error's port being the probe's
# where Linux says the connected one, 0). NSD ran unchanged on the first try, as
# did, tried in the same sweep beside their kernel twins, the PowerDNS
# Recursor (its queries to a kernel NSD over UDP, then TCP for a truncated
# answer), knotd (UDP and TCP workers, TCP Fast Open), kresd, beanstalkd,
# gearmand, sniproxy, inspircd, prosody, icecast2, ntpsec's ntpd, an Erlang
# gen_tcp/gen_udp server, openssl s_server and s_client -dtls1_2 (EMSGSIZE
# for a record over the path MTU, as on the kernel), Python's threading
# XML-RPC server, and wget2, swaks and httpie as clients.
#
# The kernel's twin and the helpers are twin.bash's: a namespace NS-k
# whose veth end is named tap0 with pstack's address and MAC, its peer NS-q
# at 192.0.2.1. A package that cannot be installed skips its test
# (tests/deps.sh installs them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 49
}
teardown() {
	e2e_teardown
	twin_teardown
}

# zone DIR: the zone example. in DIR/example.zone: a few names and a TXT
# set of 200 records (about 13 kB: truncated over UDP).
zone() {
	mkdir -p "$1"
	{
		printf '$ORIGIN example.\n$TTL 300\n'
		printf '@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.2\nwww A 192.0.2.80\n'
		for i in $(seq 1 200); do printf 'big TXT "record %03d padding padding padding padding"\n' "$i"; done
	} >"$1/example.zone"
}

# ---- nsd ---------------------------------------------------------------------

# nsd_conf DIR ADDR: NSD on ADDR:5353 serving DIR/example.zone, with two
# server processes (each with its own SO_REUSEPORT UDP and TCP sockets,
# made before the fork) and AXFR open to all.
nsd_conf() {
	zone "$1"
	cat >"$1/nsd.conf" <<-EOF
		server:
		    ip-address: $2@5353
		    server-count: 2
		    reuseport: yes
		    username: ""
		    chroot: ""
		    zonesdir: "$1"
		    pidfile: "$1/nsd.pid"
		    database: ""
		    xfrdfile: "$1/xfrd.state"
		    zonelistfile: "$1/zone.list"
		    logfile: "$1/nsd.log"
		remote-control:
		    control-enable: no
		zone:
		    name: example.
		    zonefile: example.zone
		    provide-xfr: 0.0.0.0/0 NOKEY
	EOF
}

# nsd_run k|p: a name over UDP and TCP, the big set over TCP (a digest) and
# over UDP (truncated: the flags), a missing name, the AXFR's TXT records;
# then 6 more queries (UDP and TCP, from as many source ports, spread over
# both server processes' sockets by the four-tuple's hash) all answered.
nsd_run() {
	local q="dig -p 5353 @$STACK_IP" i
	on "$1" 10 $q +short www.example A
	on "$1" 10 $q +tcp +short www.example A
	on "$1" 10 $q +tcp +short big.example TXT | sort | sha256sum | cut -c1-16
	on "$1" 10 $q +notcp +ignore big.example TXT | grep -o 'flags: [a-z ]*'
	on "$1" 10 $q nothere.example A | grep -o 'status: [A-Z]*'
	on "$1" 10 $q +tcp example AXFR | grep -c TXT
	for i in 1 2 3; do
		on "$1" 5 $q +short www.example A
		on "$1" 5 $q +tcp +short www.example A
	done | sort | uniq -c
}

@test "nsd under the preload: two forked server processes on SO_REUSEPORT sockets, UDP and TCP, truncation, a 13 kB answer and AXFR over TCP; as on the kernel" {
	have nsd nsd dig
	nsd_conf "$SRV/k" 0.0.0.0
	nsd_conf "$SRV/p" 0.0.0.0
	bg_k knsd 60 nsd -d -c "$SRV/k/nsd.conf"
	bg_pre nsd 60 nsd -d -c "$SRV/p/nsd.conf"
	wait_until 10 "the kernel's nsd" k_listens 5353
	wait_until 20 "nsd to answer" ip netns exec "$NS" dig -p 5353 "@$STACK_IP" +tcp +time=1 +tries=1 www.example A
	twin_compare nsd_run
	assert_equal "$(echo "$KOUT" | sed -n 4p)" "flags: qr aa tc rd"
	assert_equal "$(echo "$KOUT" | sed -n 6p)" 200
	assert_equal "$(echo "$KOUT" | tail -1 | tr -s ' ')" " 6 192.0.2.80"
	# Two copies of the big set (the query and the AXFR) out of the stack.
	tap_assert_crossed 20000 1000
}

# ---- tracepath, traceroute ---------------------------------------------------

# trace_run k|p: tracepath (its first probe of 65535 bytes is a local
# EMSGSIZE that says the MTU) and traceroute's UDP probes (IP_RECVERR) to
# 192.0.2.1 of its side, the times taken out.
trace_run() {
	as "$1" 10 tracepath -n -m 3 "$HOST_IP" | sed 's/ *[0-9]*\.[0-9]*ms//'
	as "$1" 10 traceroute -n -q 1 -w 1 -m 3 "$HOST_IP" | sed 's/ *[0-9]*\.[0-9]* ms//'
}

@test "tracepath and traceroute under the preload: the local EMSGSIZE's pmtu line, the port unreachable that ends them; as on the kernel" {
	have iputils-tracepath tracepath
	have traceroute traceroute
	twin_compare trace_run
	assert_equal "$(echo "$KOUT" | head -1)" " 1?: [LOCALHOST]                      pmtu 1500"
	assert_equal "$(echo "$KOUT" | tail -1)" " 1  $HOST_IP"
	tap_assert_crossed 100 100
}
