#!/usr/bin/env bats
# More of Debian's servers and clients, unmodified, under the preload with
# the kernel of the namespace as the peer: Apache httpd with the prefork MPM
# (-X and several children), gunicorn's sync workers (prefork), openbsd-inetd
# spawning services (nowait and wait, TCP and UDP), lighttpd, haproxy
# (frontends on the stack, backends on the kernel), memcached, the rsync
# daemon, openssl s_server and s_client, Node.js (http, and cluster, whose
# primary hands each connection to a worker over a Unix socket), Python's
# asyncio streams, mosquitto. Each was first run the same way over a veth
# pair on the kernel's stack, with the results these tests expect.
# A missing program fails its test (tests/deps.sh installs them).

load lib

setup() {
	e2e_setup
	# Served by processes that drop to nobody (apache's children): a
	# folder of our own that everyone may read, not the test's 0700 one.
	SRV=$(mktemp -d /tmp/pst-e2e-41-XXXXXX)
	chmod 0755 "$SRV"
}
teardown() {
	e2e_teardown
	rm -rf "$SRV"
}

# need CMD...: fails the test when a program is missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
	done
}

# stop NAME: ends the background command NAME (its timeout passes TERM on)
# and waits for it. A second program under the preload takes the TAP over
# from a stack still finishing its connections, not from a running one.
stop() {
	local pidvar=PID_$1
	kill -TERM "${!pidvar}" 2>/dev/null || true
	pid_wait_gone "${!pidvar}" 10 || fail "$1 (pid ${!pidvar}) still running"
}

# udp_ask PORT TEXT: the kernel's datagram to the stack, and the answer.
udp_ask() {
	ker 10 "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recv(2048).decode().strip())' "$STACK_IP" "$1" "$2"
}

# answers URL [T]: waits until the kernel's curl gets URL.
answers() {
	wait_until "${2:-20}" "$1 to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "$1"
}

# ---- prefork servers ----------------------------------------------------

# apache_conf MPM_LINES...: an httpd.conf in $SRV serving $SRV/www on 8080,
# logging each request's client and the PID of the process that served it.
apache_conf() {
	local m=/usr/lib/apache2/modules
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	echo hello-apache >"$SRV/www/index.html"
	chmod -R a+rX "$SRV/www"
	{
	cat <<-EOF
		ServerRoot $SRV
		ServerName pstack.test
		Listen 8080
		LoadModule mpm_prefork_module $m/mod_mpm_prefork.so
		LoadModule authz_core_module $m/mod_authz_core.so
		LoadModule mime_module $m/mod_mime.so
		LoadModule dir_module $m/mod_dir.so
		TypesConfig /dev/null
		PidFile $SRV/httpd.pid
		ErrorLog $SRV/error.log
		CustomLog $SRV/access.log "%h %P %>s %B"
		Mutex file:$SRV default
		User nobody
		Group nogroup
		DocumentRoot $SRV/www
		<Directory $SRV/www>
		  Require all granted
		</Directory>
	EOF
	printf '%s\n' "$@"
	} >"$SRV/httpd.conf"
}

# apache_check: byte-exact 1 MiB, a 404, 300 requests from 10 clients.
apache_check() {
	run ker 30 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8080/1m"
	assert_success
	assert_same_file "$SRV/www/1m" "$BATS_TEST_TMPDIR/got"
	run ker 10 curl -sS -o /dev/null -w '%{http_code}' "http://$STACK_IP:8080/nothere"
	assert_output 404
	run ker 60 ab -q -n 300 -c 10 "http://$STACK_IP:8080/index.html"
	assert_success
	assert_output --partial "Complete requests:      300"
	assert_output --partial "Failed requests:        0"
	# Every request logged with the kernel's address as the client's.
	run grep -c "^$HOST_IP " "$SRV/access.log"
	[ "$output" -ge 302 ] || fail "access.log: $output requests from $HOST_IP"
}

@test "apache2 prefork (3 children) under the preload: byte-exact 1 MiB, 404, ab 300 requests, served by several children" {
	need apache2 ab
	apache_conf "StartServers 3" "MinSpareServers 3" "MaxSpareServers 5" "MaxRequestWorkers 10"
	bg_pre apache 60 apache2 -f "$SRV/httpd.conf" -DFOREGROUND
	answers "http://$STACK_IP:8080/index.html"
	tap_mark
	apache_check
	run sh -c "awk '{ print \$2 }' '$SRV/access.log' | sort -u | wc -l"
	[ "$output" -ge 2 ] || fail "one process served every request: $(cat "$SRV/access.log" | head -3)"
	tap_assert_crossed $((MiB + 100000)) 10000
}

@test "apache2 -X (one process) under the preload: byte-exact 1 MiB, 404, ab 300 requests" {
	need apache2 ab
	apache_conf
	bg_pre apache 60 apache2 -f "$SRV/httpd.conf" -X
	answers "http://$STACK_IP:8080/index.html"
	tap_mark
	apache_check
	tap_assert_crossed $((MiB + 100000)) 10000
}

GUNICORN_APP='
import os
def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ["PATH_INFO"] == "/echo":
        out = body
    else:
        out = ("pid %d client %s\n" % (os.getpid(), environ["REMOTE_ADDR"])).encode()
    start_response("200 OK", [("Content-Length", str(len(out)))])
    return [out]
'

@test "gunicorn with 3 sync workers (prefork) under the preload: 3 MB POST echoed byte-exact, 60 requests spread over the workers" {
	"$PY" -c 'import gunicorn' 2>/dev/null || fail "python3-gunicorn is not installed (make deps)"
	echo "$GUNICORN_APP" >"$SRV/app.py"
	bg_pre gunicorn 60 "$PY" -m gunicorn -w 3 -b 0.0.0.0:8000 --chdir "$SRV" app:app
	answers "http://$STACK_IP:8000/"
	make_data "$BATS_TEST_TMPDIR/in" 3000000
	tap_mark
	run ker 30 curl -sS -f --data-binary "@$BATS_TEST_TMPDIR/in" -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8000/echo"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run ker 60 sh -c "for i in \$(seq 60); do curl -sS -f http://$STACK_IP:8000/ || exit 1; done"
	assert_success
	[ "$(echo "$output" | grep -c "client $HOST_IP\$")" = 60 ] || fail "answers: $output"
	[ "$(echo "$output" | awk '{ print $2 }' | sort -u | wc -l)" -ge 2 ] || fail "one worker answered all: $output"
	tap_assert_crossed 3000000 3000000
}

# ---- inetd ----------------------------------------------------------------

# inetd_conf: echo and daytime (built in, TCP and UDP echo), cat and wc -c
# spawned per connection (nowait), a wait service that accepts on the
# listener it is given and tells the names it sees, and a UDP wait service.
inetd_conf() {
	cat >"$SRV/names.py" <<-'EOF'
		import socket
		s = socket.socket(fileno=0)
		print(s.getpeername()[0], s.getsockname(), flush=True)
	EOF
	cat >"$SRV/waitsrv.py" <<-'EOF'
		import socket
		l = socket.socket(fileno=0)
		c, a = l.accept()
		c.sendall(("wait-service %s %s\n" % (a[0], c.getsockname()[0])).encode())
		c.close()
	EOF
	cat >"$SRV/udpwait.py" <<-'EOF'
		import socket
		s = socket.socket(fileno=0)
		d, a = s.recvfrom(2048)
		s.sendto(b"udp-wait " + d + (" %s" % a[0]).encode(), a)
	EOF
	cat >"$SRV/inetd.conf" <<-EOF
		echo stream tcp nowait root internal
		echo dgram udp wait root internal
		daytime stream tcp nowait root internal
		7010 stream tcp nowait nobody /bin/cat cat
		7011 stream tcp nowait nobody /usr/bin/wc wc -c
		7012 stream tcp nowait root $PY python3 $SRV/names.py
		7014 stream tcp wait nobody $PY python3 $SRV/waitsrv.py
		7015 dgram udp wait nobody $PY python3 $SRV/udpwait.py
	EOF
	chmod a+r "$SRV"/*.py
}

@test "openbsd-inetd -E under the preload: internal echo (TCP, UDP) and daytime, cat and wc -c per connection byte-exact, a wait service's accept, a UDP wait service, the names a service sees" {
	need /usr/sbin/inetd nc
	inetd_conf
	# -E: the services keep LD_PRELOAD (inetd launders it otherwise).
	bg_pre inetd 60 /usr/sbin/inetd -d -E "$SRV/inetd.conf"
	wait_stack_up
	wait_until 20 "inetd to listen" ip netns exec "$NS" nc -z "$STACK_IP" 7010
	make_data "$BATS_TEST_TMPDIR/in" 1000000
	tap_mark
	run sh -c "echo hello-echo | ip netns exec $NS timeout 10 nc -N $STACK_IP 7"
	assert_output hello-echo
	# UDP echo: inetd binds 0.0.0.0:7 and [::]:7 (both SO_REUSEADDR); the
	# AF_INET socket gets IPv4 (dg_badinput refuses a mapped source).
	run udp_ask 7 udp-echo
	assert_output udp-echo
	run ker 10 nc -d "$STACK_IP" 13
	assert_output --regexp "[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}"
	ip netns exec "$NS" timeout 30 nc -N "$STACK_IP" 7010 <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/got"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run sh -c "ip netns exec $NS timeout 30 nc -N $STACK_IP 7011 < '$BATS_TEST_TMPDIR/in'"
	assert_output 1000000
	run sh -c "echo | ip netns exec $NS timeout 10 nc -N $STACK_IP 7012"
	assert_output "$HOST_IP ('$STACK_IP', 7012)"
	local i
	for i in 1 2; do
		run ker 10 nc -d "$STACK_IP" 7014
		assert_output "wait-service $HOST_IP $STACK_IP"
		run udp_ask 7015 hi$i
		assert_output "udp-wait hi$i $HOST_IP"
	done
	tap_assert_crossed 1000000 1000000
}

@test "openbsd-inetd under the preload, LD_PRELOAD laundered from the services' environment (the preload comes back with the connection they inherit): cat and wc -c get the connection byte-exact" {
	need /usr/sbin/inetd nc
	inetd_conf
	bg_pre inetd 60 /usr/sbin/inetd -d "$SRV/inetd.conf"
	wait_stack_up
	wait_until 20 "inetd to listen" ip netns exec "$NS" nc -z "$STACK_IP" 7010
	make_data "$BATS_TEST_TMPDIR/in" 1000000
	tap_mark
	ip netns exec "$NS" timeout 30 nc -N "$STACK_IP" 7010 <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/got"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run sh -c "ip netns exec $NS timeout 30 nc -N $STACK_IP 7011 < '$BATS_TEST_TMPDIR/in'"
	assert_output 1000000
	run udp_ask 7 udp-echo
	assert_output udp-echo
	tap_assert_crossed 1000000 2000000
}

# ---- more servers -----------------------------------------------------------

@test "lighttpd (2 workers) under the preload: byte-exact 1 MiB, 404, ab 500 requests and 100 keep-alive 1 MiB ones" {
	need lighttpd ab
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	echo hello-lighttpd >"$SRV/www/index.html"
	chmod -R a+rX "$SRV/www"
	cat >"$SRV/lt.conf" <<-EOF
		server.document-root = "$SRV/www"
		server.port = 8081
		server.errorlog = "$SRV/error.log"
		index-file.names = ( "index.html" )
		server.max-worker = 2
	EOF
	bg_pre lighttpd 60 lighttpd -D -f "$SRV/lt.conf"
	answers "http://$STACK_IP:8081/index.html"
	tap_mark
	run ker 30 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8081/1m"
	assert_success
	assert_same_file "$SRV/www/1m" "$BATS_TEST_TMPDIR/got"
	run ker 10 curl -sS -o /dev/null -w '%{http_code}' "http://$STACK_IP:8081/nothere"
	assert_output 404
	run ker 60 ab -q -n 500 -c 20 "http://$STACK_IP:8081/index.html"
	assert_output --partial "Failed requests:        0"
	run ker 60 ab -q -k -n 100 -c 10 "http://$STACK_IP:8081/1m"
	assert_output --partial "Complete requests:      100"
	assert_output --partial "Failed requests:        0"
	tap_assert_crossed $((100 * MiB)) 10000
}

@test "haproxy under the preload, backends on the kernel: HTTP byte-exact and ab 300, TCP mode echo of 2 MB" {
	need haproxy ab socat
	mkdir -p "$SRV/www"
	make_data "$SRV/www/1m" "$MiB"
	echo hello-haproxy >"$SRV/www/index.html"
	bg_ker web 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	bg_ker echo 60 socat TCP-LISTEN:9001,bind=$HOST_IP,reuseaddr,fork EXEC:cat
	wait_kernel_listen 9000
	wait_kernel_listen 9001
	cat >"$SRV/ha.cfg" <<-EOF
		defaults
		    timeout connect 5s
		    timeout client 10s
		    timeout server 10s
		frontend fe
		    mode http
		    bind 0.0.0.0:8082
		    default_backend be
		frontend fetcp
		    mode tcp
		    bind 0.0.0.0:8083
		    default_backend betcp
		backend be
		    mode http
		    server s1 $HOST_IP:9000
		backend betcp
		    mode tcp
		    server s1 $HOST_IP:9001
	EOF
	bg_pre haproxy 60 haproxy -db -f "$SRV/ha.cfg"
	answers "http://$STACK_IP:8082/index.html"
	tap_mark
	run ker 30 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8082/1m"
	assert_success
	assert_same_file "$SRV/www/1m" "$BATS_TEST_TMPDIR/got"
	run ker 60 ab -q -n 300 -c 10 "http://$STACK_IP:8082/index.html"
	assert_output --partial "Complete requests:      300"
	assert_output --partial "Failed requests:        0"
	make_data "$BATS_TEST_TMPDIR/in" 2000000
	ip netns exec "$NS" timeout 30 nc -N "$STACK_IP" 8083 <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/echo"
	assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/echo"
	# Both ways through the stack: client side and backend side.
	tap_assert_crossed $((MiB + 4000000)) $((MiB + 4000000))
}

@test "memcached under the preload (TCP and UDP) with the kernel's libmemcached tools; memccp under the preload against the kernel's memcached" {
	need memcached memccp memccat memccapable memcslap
	make_data "$SRV/blob" 500000
	# -u root: run as root, the stack opened as root (memcached would drop
	# to nobody before its first socket otherwise).
	bg_pre mc 60 memcached -u root -l 0.0.0.0 -p 11211 -U 11211 -t 2
	wait_stack_up
	wait_until 20 "memcached to answer" ip netns exec "$NS" memcping --servers="$STACK_IP"
	tap_mark
	run ker 10 memccp --servers="$STACK_IP" "$SRV/blob"
	assert_success
	# memccat adds a newline.
	ip netns exec "$NS" timeout 10 memccat --servers="$STACK_IP" blob | head -c 500000 >"$BATS_TEST_TMPDIR/got"
	assert_same_file "$SRV/blob" "$BATS_TEST_TMPDIR/got"
	run ker 30 memccapable -h "$STACK_IP" -p 11211
	assert_output --partial "All tests passed"
	run ker 30 memcslap --servers="$STACK_IP" --concurrency=10 --execute-number=100
	assert_success
	run ker 10 "$PY" -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.sendto(b'\x00\x01\x00\x00\x00\x01\x00\x00version\r\n', ('$STACK_IP', 11211))
print(s.recvfrom(200)[0][8:].decode().split()[0])"
	assert_output VERSION
	tap_assert_crossed 500000 500000
	stop mc
	bg_ker kmc 60 memcached -u root -l "$HOST_IP" -p 11212
	wait_kernel_listen 11212
	run pre 10 memccp --servers="$HOST_IP:11212" "$SRV/blob"
	assert_success
	ip netns exec "$NS" timeout 10 memccat --servers="$HOST_IP:11212" blob | head -c 500000 >"$BATS_TEST_TMPDIR/got2"
	assert_same_file "$SRV/blob" "$BATS_TEST_TMPDIR/got2"
}

@test "rsync --daemon under the preload (a fork child per connection): module list, pull and push byte-exact" {
	need rsync
	mkdir -p "$SRV/mod" "$BATS_TEST_TMPDIR/dst"
	make_data "$SRV/mod/f1" 400000
	make_data "$SRV/mod/f2" 1200000
	cat >"$SRV/rsyncd.conf" <<-EOF
		use chroot = no
		port = 8873
		[m]
		    path = $SRV/mod
		    read only = no
		    uid = root
		    gid = root
	EOF
	bg_pre rsyncd 60 rsync --daemon --no-detach --config="$SRV/rsyncd.conf"
	wait_stack_up
	wait_until 20 "rsyncd to answer" ip netns exec "$NS" rsync "rsync://$STACK_IP:8873/"
	tap_mark
	run ker 10 rsync "rsync://$STACK_IP:8873/"
	assert_output --regexp "^m[[:space:]]"
	run ker 30 rsync -a "rsync://$STACK_IP:8873/m/" "$BATS_TEST_TMPDIR/dst/"
	assert_success
	assert_same_file "$SRV/mod/f1" "$BATS_TEST_TMPDIR/dst/f1"
	assert_same_file "$SRV/mod/f2" "$BATS_TEST_TMPDIR/dst/f2"
	make_data "$BATS_TEST_TMPDIR/up" 700000
	run ker 30 rsync -a "$BATS_TEST_TMPDIR/up" "rsync://$STACK_IP:8873/m/"
	assert_success
	assert_same_file "$BATS_TEST_TMPDIR/up" "$SRV/mod/up"
	tap_assert_crossed 1600000 700000
}

@test "openssl s_server -WWW under the preload serves 1 MB byte-exact to curl and s_client; s_client under the preload talks to the kernel's s_server -rev" {
	need openssl curl
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SRV/key.pem" -out "$SRV/cert.pem" -days 2 \
		-subj /CN=pstack.test 2>/dev/null
	make_data "$SRV/blob" 1000000
	# -WWW serves the files of its working folder.
	bg_pre tls 60 sh -c "cd '$SRV' && exec openssl s_server -accept 8443 -cert cert.pem -key key.pem -WWW -quiet"
	wait_until 20 "s_server to answer" ip netns exec "$NS" curl -skf -o /dev/null --max-time 2 "https://$STACK_IP:8443/blob"
	tap_mark
	run ker 30 curl -sSkf -o "$BATS_TEST_TMPDIR/got" "https://$STACK_IP:8443/blob"
	assert_success
	assert_same_file "$SRV/blob" "$BATS_TEST_TMPDIR/got"
	printf 'GET /blob HTTP/1.0\r\n\r\n' | ip netns exec "$NS" timeout 20 openssl s_client -connect "$STACK_IP:8443" \
		-quiet 2>/dev/null | tail -c 1000000 >"$BATS_TEST_TMPDIR/got2"
	assert_same_file "$SRV/blob" "$BATS_TEST_TMPDIR/got2"
	tap_assert_crossed 2000000 1000
	stop tls
	bg_ker rev 60 openssl s_server -accept 8444 -cert "$SRV/cert.pem" -key "$SRV/key.pem" -rev -quiet
	wait_kernel_listen 8444
	# -quiet keeps the session after the input ended (-ign_eof): the
	# answer is read, and timeout ends s_client after it.
	run sh -c "printf 'hello-pstack\n' | ip netns exec $NS timeout 4 env LD_PRELOAD=$PRELOAD \
		openssl s_client -connect $HOST_IP:8444 -quiet 2>/dev/null | head -1"
	assert_output "kcatsp-olleh"
}

# ---- Node.js, asyncio, MQTT ------------------------------------------------

NODE_SERVER='
const http = require("http"), crypto = require("crypto");
http.createServer((req, res) => {
  if (req.url === "/echo") {
    const h = crypto.createHash("sha256"); let n = 0;
    req.on("data", d => { h.update(d); n += d.length; });
    req.on("end", () => res.end(`${n} ${h.digest("hex")}\n`));
  } else {
    res.end(`hello-node ${req.socket.remoteAddress}\n`);
  }
}).listen(+process.argv[1], () => console.log("listening"));
'
# 200 GETs over 10 keep-alive connections; prints "done 200 bad 0".
NODE_CLIENT='
const http = require("http");
const [host, port] = [process.argv[1], +process.argv[2]];
const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
let done = 0, bad = 0;
const end = () => { if (++done === 200) { console.log("done", done, "bad", bad); agent.destroy(); } };
for (let i = 0; i < 200; i++)
  http.get({ host, port, path: "/", agent }, res => {
    let b = ""; res.on("data", d => b += d);
    res.on("end", () => { if (!b.startsWith("hello-node")) bad++; end(); });
  }).on("error", e => { bad++; end(); });
'

@test "Node.js: its http client under the preload against a kernel Node server; its http server under the preload: client address, 3 MB POST hashed right, ab 500" {
	need node ab
	bg_ker knode 60 node -e "$NODE_SERVER" 8085
	wait_kernel_listen 8085
	tap_mark
	run pre 30 node -e "$NODE_CLIENT" "$HOST_IP" 8085
	assert_output "done 200 bad 0"
	tap_assert_crossed 10000 10000
	bg_pre node 60 node -e "$NODE_SERVER" 8084
	wait_log "$(out node)" listening 20
	make_data "$BATS_TEST_TMPDIR/in" 3000000
	tap_mark
	run ker 10 curl -sS -f "http://$STACK_IP:8084/"
	assert_output "hello-node ::ffff:$HOST_IP"
	run ker 30 curl -sS -f --data-binary "@$BATS_TEST_TMPDIR/in" "http://$STACK_IP:8084/echo"
	assert_output "3000000 $(sha "$BATS_TEST_TMPDIR/in")"
	run ker 60 ab -q -n 500 -c 20 "http://$STACK_IP:8084/"
	assert_output --partial "Failed requests:        0"
	tap_assert_crossed 10000 3000000
}

NODE_CLUSTER='
const cluster = require("cluster"), http = require("http");
if (cluster.isPrimary) {
  let up = 0;
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on("listening", () => { if (++up === 2) console.log("listening"); });
} else {
  http.createServer((req, res) => res.end(`worker ${process.pid}\n`)).listen(+process.argv[1]);
}
'

# The primary accepts and hands each connection to a worker with
# SCM_RIGHTS (round-robin, Node's default on Linux): the fd it passes must be
# the connection (preload.c, expose_passed).
@test "Node.js cluster (2 workers) under the preload: 60 requests answered by both workers, ab 300" {
	need node ab
	bg_pre cluster 60 node -e "$NODE_CLUSTER" 8086
	wait_log "$(out cluster)" listening 20
	tap_mark
	run ker 60 sh -c "for i in \$(seq 60); do curl -sS -f --max-time 5 http://$STACK_IP:8086/ || exit 1; done"
	assert_success
	[ "$(echo "$output" | sort -u | wc -l)" = 2 ] || fail "answers: $(echo "$output" | sort | uniq -c)"
	run ker 60 ab -q -n 300 -c 10 "http://$STACK_IP:8086/"
	assert_output --partial "Complete requests:      300"
	assert_output --partial "Failed requests:        0"
	tap_assert_crossed 10000 10000
}

ASYNCIO_SERVER='
import asyncio, hashlib, sys
async def handle(r, w):
    h, n = hashlib.sha256(), 0
    while d := await r.read(65536):
        h.update(d); n += len(d)
    peer = w.get_extra_info("peername")[0]
    w.write(f"{n} {h.hexdigest()} {peer}\n".encode())
    await w.drain(); w.close(); await w.wait_closed()
async def main():
    s = await asyncio.start_server(handle, "0.0.0.0", int(sys.argv[1]))
    print("listening", flush=True)
    async with s: await s.serve_forever()
asyncio.run(main())
'
# 50 concurrent connections, each sends 100-500 KB, half-closes, and checks
# the size, hash and its own address in the answer.
ASYNCIO_CLIENT='
import asyncio, hashlib, os, sys
async def one(host, port, size):
    data = os.urandom(size)
    r, w = await asyncio.open_connection(host, port)
    me = w.get_extra_info("sockname")[0]
    w.write(data); await w.drain(); w.write_eof()
    line = (await r.readline()).decode().split()
    w.close(); await w.wait_closed()
    return line == [str(size), hashlib.sha256(data).hexdigest(), me]
async def main():
    host, port = sys.argv[1], int(sys.argv[2])
    res = await asyncio.gather(*[one(host, port, 100000 * (i % 5 + 1)) for i in range(50)])
    print("ok", sum(res))
asyncio.run(main())
'

@test "Python asyncio streams: server under the preload with 50 concurrent kernel clients, and 50 preloaded clients against a kernel server, byte-exact" {
	bg_pre aserver 60 "$PY" -c "$ASYNCIO_SERVER" 8087
	wait_log "$(out aserver)" listening 20
	tap_mark
	run ker 60 "$PY" -c "$ASYNCIO_CLIENT" "$STACK_IP" 8087
	assert_output "ok 50"
	tap_assert_crossed 1000 15000000
	stop aserver
	bg_ker kserver 60 "$PY" -c "$ASYNCIO_SERVER" 8088
	wait_log "$(out kserver)" listening 20
	tap_mark
	run pre 60 "$PY" -c "$ASYNCIO_CLIENT" "$HOST_IP" 8088
	assert_output "ok 50"
	tap_assert_crossed 15000000 1000
}

@test "mosquitto under the preload: retained QoS 1 messages from the kernel's mosquitto_pub reach mosquitto_sub; mosquitto_pub and _sub under the preload with a kernel broker" {
	need mosquitto mosquitto_pub mosquitto_sub
	# user root: the broker keeps root, which opened the stack (it would
	# switch to the mosquitto user before its first socket otherwise).
	printf 'user root\nlistener 1883 0.0.0.0\nallow_anonymous true\n' >"$SRV/m.conf"
	bg_pre broker 60 mosquitto -c "$SRV/m.conf"
	wait_stack_up
	wait_until 20 "mosquitto to answer" ip netns exec "$NS" mosquitto_pub -h "$STACK_IP" -t t/ping -m ping
	tap_mark
	local i
	for i in 1 2 3; do
		run ker 10 mosquitto_pub -h "$STACK_IP" -t "t/m$i" -m "msg$i" -q 1 -r
		assert_success
	done
	run ker 10 mosquitto_sub -h "$STACK_IP" -t "t/+" -C 3 -q 1
	assert_success
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "msg1 msg2 msg3 " ] || fail "got: $output"
	tap_assert_crossed 100 100
	stop broker
	printf 'user root\nlistener 1884 %s\nallow_anonymous true\n' "$HOST_IP" >"$SRV/k.conf"
	bg_ker kbroker 60 mosquitto -c "$SRV/k.conf"
	wait_kernel_listen 1884
	tap_mark
	run pre 10 mosquitto_pub -h "$HOST_IP" -p 1884 -t k/a -m from-pstack -q 1 -r
	assert_success
	run pre 10 mosquitto_sub -h "$HOST_IP" -p 1884 -t k/a -C 1 -q 1
	assert_output from-pstack
	tap_assert_crossed 100 100
}
