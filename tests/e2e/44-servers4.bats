#!/usr/bin/env bats
# A fourth set of Debian's programs, unmodified, under the preload, each
# compared with the same program on the kernel's stack in the same run:
# Apache httpd with Debian's default MPM (event: a listener thread, worker
# threads, child processes that a graceful restart replaces under load)
# and nginx's stream module (its workers, fork children, proxy TCP and UDP
# to a backend on the kernel: each upstream socket goes into the worker's
# epoll before it connects).
#
# The kernel's twin and the helpers are twin.bash's: a namespace NS-k
# whose veth end is named tap0 with pstack's address and MAC, its peer NS-q
# at 192.0.2.1; the same client commands run in NS-q against the kernel and
# in NS against pstack. A package that cannot be installed skips its test
# (tests/deps.sh installs them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 44
}
teardown() {
	e2e_teardown
	twin_teardown
}

# ---- Apache httpd, event MPM ---------------------------------------------------

# apache_event_conf k|p: an httpd.conf in $SRV/k or $SRV/p, event MPM, two
# children of 8 threads serving $SRV/www on 8080.
apache_event_conf() {
	local d=$SRV/$1 m=/usr/lib/apache2/modules
	mkdir -p "$d"
	cat >"$d/httpd.conf" <<-EOF
		ServerRoot $d
		ServerName pstack.test
		Listen 8080
		LoadModule mpm_event_module $m/mod_mpm_event.so
		LoadModule authz_core_module $m/mod_authz_core.so
		LoadModule mime_module $m/mod_mime.so
		LoadModule dir_module $m/mod_dir.so
		TypesConfig /dev/null
		PidFile $d/httpd.pid
		ErrorLog $d/error.log
		Mutex file:$d default
		User nobody
		Group nogroup
		DocumentRoot $SRV/www
		<Directory $SRV/www>
		  Require all granted
		</Directory>
		StartServers 2
		ServerLimit 4
		ThreadsPerChild 8
		MaxRequestWorkers 32
		MinSpareThreads 8
		MaxSpareThreads 32
	EOF
}

# restarted k|p N: whether apache on that side said N times that it runs
# (AH00489: at the start, then after each graceful restart).
restarted() {
	[ "$(grep -c AH00489 "$SRV/$1/error.log")" -ge "$2" ]
}

# apache_event_run k|p: ab's 3000 requests from 10 clients while three
# graceful restarts (apache2 -k graceful) replace the children, each
# restart waited for; then graceful-stop while a 1 MiB download runs: the
# download byte-exact, every process gone.
apache_event_run() {
	local d=$SRV/$1 i ab
	on "$1" 30 ab -q -n 3000 -c 10 "http://$STACK_IP:8080/index.html" >"$d/ab" 2>&1 &
	ab=$!
	for i in 2 3 4; do
		ker 10 apache2 -f "$d/httpd.conf" -k graceful
		wait_until 10 "graceful restart $((i - 1)) ($1)" restarted "$1" "$i"
	done
	wait "$ab" || true
	grep -E '^(Complete|Failed) requests' "$d/ab"
	on "$1" 20 curl -sS --limit-rate 2M -o "$d/got" "http://$STACK_IP:8080/1m" &
	i=$!
	wait_until 10 "the download to start ($1)" test -s "$d/got"
	ker 10 apache2 -f "$d/httpd.conf" -k graceful-stop
	wait "$i" && echo "download $(sha "$d/got")"
}

@test "apache2, event MPM (threads, a listener thread), under the preload: ab's 3000 requests through three graceful restarts, none failed; graceful-stop finishes a download; as on the kernel" {
	have apache2-bin apache2
	have apache2-utils ab
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	echo hello-apache >"$SRV/www/index.html"
	chmod -R a+rX "$SRV/www"
	apache_event_conf k
	apache_event_conf p
	bg_k kapache 60 apache2 -f "$SRV/k/httpd.conf" -DFOREGROUND
	bg_pre apache 60 apache2 -f "$SRV/p/httpd.conf" -DFOREGROUND
	wait_until 10 "the kernel's apache" k_listens 8080
	wait_until 20 "apache to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "http://$STACK_IP:8080/"
	twin_compare apache_event_run
	assert_equal "$(echo "$KOUT" | tr '\n' ' ')" \
		"Complete requests:      3000 Failed requests:        0 download $(sha "$SRV/www/1m") "
	bg_wait apache 10
	assert_equal "$BG_STATUS" 0
	bg_wait kapache 10
	tap_assert_crossed $((MiB + 300000)) 100000
}

# ---- nginx's stream module -----------------------------------------------------

# nginx_stream_conf k|p: nginx in $SRV/k or $SRV/p, a master and 2 workers
# (as nobody), proxying TCP 9000 and UDP 9001 to echo servers at 192.0.2.1.
nginx_stream_conf() {
	local d=$SRV/$1
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<-EOF
		load_module /usr/lib/nginx/modules/ngx_stream_module.so;
		worker_processes 2;
		pid $d/nginx.pid;
		error_log $d/error.log notice;
		daemon off;
		user nobody nogroup;
		events { worker_connections 64; }
		stream {
		  server { listen 9000; proxy_pass $HOST_IP:7000; }
		  server { listen 9001 udp; proxy_pass $HOST_IP:7001; proxy_responses 1; proxy_timeout 5s; }
		}
	EOF
}

# stream_run k|p: 2 MiB echoed through the TCP proxy (its sha256), and 20
# datagrams, each echoed through the UDP proxy.
stream_run() {
	on "$1" 20 "$PY" -c '
import hashlib, socket, sys, threading
data = open(sys.argv[3], "rb").read() * 2
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
threading.Thread(target=lambda: s.sendall(data)).start()
got = bytearray()
while len(got) < len(data):
    b = s.recv(65536)
    if not b:
        break
    got += b
print("tcp", len(got), hashlib.sha256(got).hexdigest())' "$STACK_IP" 9000 "$SRV/www/1m"
	on "$1" 20 "$PY" -c '
import socket, sys
got = []
for i in range(1, 21):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"d%d" % i, (sys.argv[1], int(sys.argv[2])))
    got.append(s.recv(100).decode())
    s.close()
print("udp", " ".join(got))' "$STACK_IP" 9001
}

@test "nginx stream module under the preload (workers are fork children): 2 MiB through its TCP proxy and 20 datagrams through its UDP proxy to kernel backends, as on the kernel" {
	have nginx nginx
	[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
		skip "nginx's stream module is not installed (libnginx-mod-stream)"
	have socat socat
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	nginx_stream_conf k
	nginx_stream_conf p
	# The backends: on the TAP's host side for pstack, in the twin's peer for the kernel.
	bg_q kecho 60 socat TCP-LISTEN:7000,bind=$HOST_IP,fork,reuseaddr EXEC:cat
	bg_q kuecho 60 socat UDP-RECVFROM:7001,bind=$HOST_IP,fork EXEC:cat
	bg_ker echo 60 socat TCP-LISTEN:7000,bind=$HOST_IP,fork,reuseaddr EXEC:cat
	bg_ker uecho 60 socat UDP-RECVFROM:7001,bind=$HOST_IP,fork EXEC:cat
	bg_k knginx 60 nginx -c "$SRV/k/nginx.conf"
	bg_pre nginx 60 nginx -c "$SRV/p/nginx.conf"
	wait_until 10 "the kernel's nginx" k_listens 9000
	wait_until 10 "the kernel's echo" q_listens 7000
	wait_kernel_listen 7000
	wait_stack_up
	wait_until 20 "nginx to listen" ip netns exec "$NS" socat -u /dev/null "TCP:$STACK_IP:9000"
	twin_compare stream_run
	assert_equal "$(echo "$KOUT" | head -1)" "tcp $((2 * MiB)) $(cat "$SRV/www/1m" "$SRV/www/1m" | sha256sum | cut -d' ' -f1)"
	assert_equal "$(echo "$KOUT" | tail -1)" "udp $(seq 1 20 | sed 's/^/d/' | tr '\n' ' ' | sed 's/ $//')"
	run grep -E "emerg|alert|crit|pstack error" "$SRV/p/error.log" "$(err nginx)"
	assert_failure
	tap_assert_crossed $((2 * MiB)) $((2 * MiB))
}

# ---- Dante's SOCKS server ----------------------------------------------------

# dante_conf k|p: danted.conf in $SRV/k or $SRV/p: SOCKS on 192.0.2.2:1080,
# out from 192.0.2.2. Its processes hand each client from one to the next
# over Unix sockets (SCM_RIGHTS): the mother accepts, a negotiate child
# reads the request, a request child connects to the target (without
# waiting), an io child moves the bytes and learns how the connect went.
dante_conf() {
	local d=$SRV/$1
	mkdir -p "$d"
	cat >"$d/danted.conf" <<-EOF
		logoutput: $d/danted.log
		internal: $STACK_IP port = 1080
		external: $STACK_IP
		socksmethod: none
		clientmethod: none
		user.privileged: root
		user.unprivileged: nobody
		client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
		socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
	EOF
}

# dante_run k|p: three 1 MiB downloads at once through the proxy, then a
# connect to a closed port (curl's SOCKS5 reply: 5, connection refused).
dante_run() {
	local d=$SRV/$1 i pids=()
	for i in 1 2 3; do
		on "$1" 20 curl -sS --socks5 "$STACK_IP:1080" -o "$d/got$i" "http://$HOST_IP:8000/1m" &
		pids+=($!)
	done
	for i in 0 1 2; do
		wait "${pids[$i]}" || echo "download $((i + 1)) failed"
	done
	for i in 1 2 3; do
		echo "got$i $(sha "$d/got$i")"
	done
	on "$1" 10 curl -sS --socks5 "$STACK_IP:1080" "http://$HOST_IP:8001/" 2>&1 | sed 's/^curl: //'
}

@test "dante-server under the preload (sockets passed between its processes over SCM_RIGHTS): three 1 MiB downloads through SOCKS5 and a refused connect, as on the kernel" {
	have dante-server danted
	have curl curl
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	dante_conf k
	dante_conf p
	bg_q khttp 60 python3 -m http.server --bind "$HOST_IP" --directory "$SRV/www" 8000
	bg_ker http 60 python3 -m http.server --bind "$HOST_IP" --directory "$SRV/www" 8000
	bg_k kdanted 60 danted -f "$SRV/k/danted.conf" -N 2 -p "$SRV/k/danted.pid"
	bg_pre danted 60 danted -f "$SRV/p/danted.conf" -N 2 -p "$SRV/p/danted.pid"
	wait_until 10 "the kernel's danted" k_listens 1080
	wait_until 10 "the kernel's web server" q_listens 8000
	wait_kernel_listen 8000
	wait_stack_up
	wait_until 20 "danted to listen" ip netns exec "$NS" socat -u /dev/null "TCP:$STACK_IP:1080"
	twin_compare dante_run
	assert_equal "$(echo "$KOUT" | head -1)" "got1 $(sha "$SRV/www/1m")"
	echo "$KOUT" | tail -1 | grep -q "(5)$"
	tap_assert_crossed $((3 * MiB)) $((3 * MiB))
}
