#!/usr/bin/env bats
# A sixth set of real programs, unmodified, under the preload, each compared
# with the same program on the kernel's stack in the same run: h2o (two
# event-loop threads; HTTP/1.1, HTTP/2 in clear text and its reverse proxy
# to a kernel backend), microsocks (a thread per SOCKS5 client, its target
# connections on the stack) and redis-sentinel (its two connections to a
# kernel master, the hello message that names the address it took from
# getsockname). All ran unchanged on the first try.
#
# The kernel's twin and the helpers are twin.bash's: a namespace NS-k
# whose veth end is named tap0 with pstack's address and MAC, its peer NS-q
# at 192.0.2.1. A package that cannot be installed skips its test
# (tests/deps.sh installs them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 48
}
teardown() {
	e2e_teardown
	twin_teardown
}

# web: a kernel backend at 192.0.2.1:9000 on both sides, serving SRV/www.
web() {
	mkdir -p "$SRV/www"
	make_data "$SRV/www/blob" 2000000
	bg_q kweb 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	bg_ker web 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	wait_kernel_listen 9000
	wait_until 10 "the twin peer's backend" q_listens 9000
}

# ---- h2o ---------------------------------------------------------------------

# h2o_run k|p: a 2 MB file over HTTP/1.1 and over HTTP/2 (prior knowledge),
# a 404, the file through the reverse proxy, a refused backend's 502.
h2o_run() {
	local u=http://$STACK_IP:8080
	on "$1" 10 curl -sS "$u/blob" | sha256sum | cut -d' ' -f1
	on "$1" 10 curl -sS --http2-prior-knowledge -w '%{http_version}\n' -o "$SRV/h2.$1" "$u/blob"
	sha256sum <"$SRV/h2.$1" | cut -d' ' -f1
	on "$1" 10 curl -sS -o /dev/null -w '%{http_code}\n' "$u/none"
	on "$1" 10 curl -sS "$u/p/blob" | sha256sum | cut -d' ' -f1
	on "$1" 10 curl -sS -o /dev/null -w '%{http_code}\n' "$u/q/blob"
}

@test "h2o (2 threads) under the preload: HTTP/1.1 and h2c, 2 MB byte-exact, 404, reverse proxy to a kernel backend and a refused one's 502; as on the kernel" {
	have h2o h2o curl
	web
	cat >"$SRV/h2o.conf" <<-EOF
		listen: 8080
		num-threads: 2
		user: root
		hosts:
		  default:
		    paths:
		      /p:
		        proxy.reverse.url: http://$HOST_IP:9000/
		      /q:
		        proxy.reverse.url: http://$HOST_IP:9009/
		      /:
		        file.dir: $SRV/www
	EOF
	bg_k kh2o 60 h2o -c "$SRV/h2o.conf"
	bg_pre h2o 60 h2o -c "$SRV/h2o.conf"
	wait_until 10 "the kernel's h2o" k_listens 8080
	wait_until 20 "h2o to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "http://$STACK_IP:8080/blob"
	twin_compare h2o_run
	assert_equal "$(echo "$KOUT" | sed -n 2p)" 2
	assert_equal "$(echo "$KOUT" | grep -c "$(sha "$SRV/www/blob")")" 3
	assert_equal "$(echo "$KOUT" | tail -2 | head -1)" "$(sha "$SRV/www/blob")"
	assert_equal "$(echo "$KOUT" | tail -1)" 502
	# Three copies to the client, one in from the backend.
	tap_assert_crossed $((3 * 2000000)) 2000000
}

# ---- microsocks --------------------------------------------------------------

# socks_run k|p: the file twice through SOCKS5 (an address, a name the
# server resolves), then a refused target (the server's reply 5: curl's
# exit code 97).
socks_run() {
	local s=$STACK_IP:1080 rc
	on "$1" 10 curl -sS --socks5 "$s" "http://$HOST_IP:9000/blob" | sha256sum | cut -d' ' -f1
	on "$1" 10 curl -sS --socks5-hostname "$s" "http://$HOST_IP:9000/blob" | sha256sum | cut -d' ' -f1
	rc=0
	on "$1" 10 curl -s --socks5 "$s" "http://$HOST_IP:9009/" || rc=$?
	echo "refused: $rc"
}

@test "microsocks under the preload: 2 MB twice through SOCKS5 to a kernel server, a refused target's reply; as on the kernel" {
	have microsocks microsocks curl
	web
	bg_k ksocks 60 microsocks -i 0.0.0.0 -p 1080
	bg_pre socks 60 microsocks -i 0.0.0.0 -p 1080
	wait_until 10 "the kernel's microsocks" k_listens 1080
	wait_until 20 "microsocks to listen" ip netns exec "$NS" nc -z "$STACK_IP" 1080
	twin_compare socks_run
	assert_equal "$(echo "$KOUT" | grep -c "$(sha "$SRV/www/blob")")" 2
	assert_equal "$(echo "$KOUT" | sed -n 3p)" "refused: 97"
	# In from the backend and out to the client, twice: all of it on the stack.
	tap_assert_crossed $((2 * 2000000)) $((2 * 2000000))
}

# ---- redis-sentinel ----------------------------------------------------------

# sentinel_run k|p: what the sentinel says of its master, and the hello it
# published on the master (its address, port and the master's).
sentinel_run() {
	on "$1" 10 redis-cli -h "$STACK_IP" -p 26379 sentinel get-master-addr-by-name mym | paste -sd' '
	on "$1" 10 redis-cli -h "$STACK_IP" -p 26379 sentinel master mym | paste - - |
		grep -E '^(flags|num-slaves|num-other-sentinels)' | paste -sd' '
	on "$1" 10 redis-cli -h "$HOST_IP" client list | grep -o 'addr=[0-9.]*:[0-9]* .*name=sentinel-[0-9a-f]*-[a-z]*' |
		sed 's/^addr=//; s/:[0-9]* .*name=sentinel-[0-9a-f]*-/ /' | sort | paste -sd' '
	cut -d, -f1,2,5- "$(out hello$1)"
}

# HELLO_PY HOST: the first hello a sentinel publishes on the master at HOST
# (every 2 s). Subscribed before the sentinels start, on both sides at once.
HELLO_PY='
import socket, sys
s = socket.create_connection((sys.argv[1], 6379), timeout=5)
s.sendall(b"SUBSCRIBE __sentinel__:hello\r\n")
b = b""
while b.count(b"\r\n") < 13:
    b += s.recv(4096)
print(b.split(b"\r\n")[-2].decode())
'


@test "redis-sentinel under the preload: its command and pub/sub links to a kernel master, the hello naming its address; as on the kernel" {
	have redis-sentinel redis-sentinel redis-server redis-cli
	local s
	for s in k p; do
		printf 'port 26379\nbind 0.0.0.0\nsentinel monitor mym %s 6379 1\nsentinel down-after-milliseconds mym 1000\nsentinel announce-hostnames no\ndir %s\n' \
			"$HOST_IP" "$SRV" >"$SRV/s.$s.conf"
	done
	bg_q kmaster 60 redis-server --bind "$HOST_IP" --port 6379 --save '' --appendonly no --protected-mode no
	bg_ker master 60 redis-server --bind "$HOST_IP" --port 6379 --save '' --appendonly no --protected-mode no
	wait_kernel_listen 6379
	wait_until 10 "the twin peer's master" q_listens 6379
	bg_q hellok 30 "$PY" -c "$HELLO_PY" "$HOST_IP"
	bg_ker hellop 30 "$PY" -c "$HELLO_PY" "$HOST_IP"
	wait_until 10 "the twin peer's subscriber" sh -c "ip netns exec '$NSQ' redis-cli -h '$HOST_IP' pubsub numsub __sentinel__:hello | tail -1 | grep -qx 1"
	wait_until 10 "the subscriber" sh -c "ip netns exec '$NS' redis-cli -h '$HOST_IP' pubsub numsub __sentinel__:hello | tail -1 | grep -qx 1"
	bg_k ksent 60 redis-sentinel "$SRV/s.k.conf"
	bg_pre sent 60 redis-sentinel "$SRV/s.p.conf"
	# Each sentinel's pub/sub link to its master is up (a second
	# subscriber), and its first hello came.
	wait_until 20 "the kernel's sentinel" sh -c "ip netns exec '$NSQ' redis-cli -h '$HOST_IP' pubsub numsub __sentinel__:hello | tail -1 | grep -qx 2"
	wait_until 20 "the sentinel" sh -c "ip netns exec '$NS' redis-cli -h '$HOST_IP' pubsub numsub __sentinel__:hello | tail -1 | grep -qx 2"
	wait_log "$(out hellok)" , 20
	wait_log "$(out hellop)" , 20
	twin_compare sentinel_run
	assert_equal "$(echo "$KOUT" | head -1)" "$HOST_IP 6379"
	assert_equal "$(echo "$KOUT" | sed -n 3p)" "$STACK_IP cmd $STACK_IP pubsub"
	assert_equal "$(echo "$KOUT" | tail -1)" "$STACK_IP,26379,mym,$HOST_IP,6379,0"
	tap_assert_crossed 100 100
}
