#!/usr/bin/env bats
# More of Debian's servers, unmodified, under the preload, each compared with
# the same server on the kernel's stack in the same run: vsftpd (passive
# mode: a listener per transfer whose address the server tells; active
# mode: a connection back from port 20, made by the session's privileged
# process; a session process made by a raw clone that drops root), dnsmasq
# (DNS over UDP and TCP, the answer's source address, a truncated answer
# retried over TCP), tinyproxy (a connection in, one out), exim4 (SMTP, a
# process forked per connection, delivery by an exec'd exim), stunnel4
# (TLS in front of a kernel-side TCP server), varnish (a cache whose
# manager binds the listening socket and whose child, forked after, listens)
# and tftpd-hpa (a fork child per transfer, which sends from a new UDP
# socket bound to the server's address).
#
# The kernel's twin: a namespace NS-k whose veth end is named tap0 with
# pstack's address and MAC (as tests/diff/run.sh does), its peer NS-q at
# 192.0.2.1: the same client commands run in NS-q against the kernel and in
# NS against pstack, and their results must be equal. A package that
# cannot be installed skips its test (tests/deps.sh installs them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 42
}
teardown() {
	e2e_teardown
	twin_teardown
}

# ---- vsftpd ----------------------------------------------------------------

# vsftpd_conf SUBJ: a standalone vsftpd on port 21 with its defaults
# (isolate, isolate_network, privilege separation, connect_from_port_20):
# anonymous logins as daemon, uploads into up/, its log in SUBJ.log.
vsftpd_conf() {
	mkdir -p "$SRV/$1/ftp/up" "$SRV/empty"
	chmod 0755 "$SRV/$1" "$SRV/$1/ftp" "$SRV/empty"
	chown daemon "$SRV/$1/ftp/up"
	cp "$SRV/4m" "$SRV/$1/ftp/4m"
	chmod 0644 "$SRV/$1/ftp/4m"
	cat >"$SRV/$1.conf" <<-EOF
		listen=YES
		listen_port=21
		background=NO
		anonymous_enable=YES
		anon_root=$SRV/$1/ftp
		ftp_username=daemon
		write_enable=YES
		anon_upload_enable=YES
		no_anon_password=YES
		connect_from_port_20=YES
		secure_chroot_dir=$SRV/empty
		log_ftp_protocol=YES
		xferlog_enable=YES
		vsftpd_log_file=$SRV/$1.log
	EOF
}

# ftp_run k|p: passive and active, each way, 4 MiB, and a listing; one line
# per transfer with curl's exit status, then the listing.
ftp_run() {
	local d=$BATS_TEST_TMPDIR/$1 mode rc
	mkdir -p "$d"
	for mode in pasv port; do
		local opt=()
		[ $mode = port ] && opt=(-P -)
		rc=0
		on "$1" 20 curl -sS "${opt[@]}" -o "$d/get-$mode" "ftp://$STACK_IP/4m" || rc=$?
		echo "get $mode $rc"
		rc=0
		on "$1" 20 curl -sS "${opt[@]}" -T "$SRV/up4m" "ftp://$STACK_IP/up/put-$mode" || rc=$?
		echo "put $mode $rc"
	done
	on "$1" 10 curl -sS -l "ftp://$STACK_IP/up/" | sort
}

@test "vsftpd with its defaults under the preload: 4 MiB each way in passive and active mode (from port 20) byte-exact, as on the kernel" {
	have vsftpd vsftpd curl
	# vsftpd's sessions set RLIMIT_AS (100 MB): a sanitizer's runtime
	# cannot map its shadow memory there ("ERROR: Failed to mmap").
	[ -z "$SAN_RT" ] || skip "vsftpd limits its sessions' address space, where the sanitizer runtime cannot map its shadow memory"
	make_data "$SRV/4m" $((4 * MiB))
	make_data "$SRV/up4m" $((4 * MiB))
	vsftpd_conf k
	vsftpd_conf p
	bg_k kftp 60 vsftpd "$SRV/k.conf"
	bg_pre ftp 60 vsftpd "$SRV/p.conf"
	wait_until 10 "the kernel's vsftpd to listen" k_listens 21
	wait_until 20 "vsftpd to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "ftp://$STACK_IP/"
	# The active-mode connection's SYN, from port 20 (connect_from_port_20).
	bg_ker syn20 30 tcpdump -l -n -i "$TAP" -c 1 'tcp src port 20 and tcp[tcpflags] & tcp-syn != 0'
	wait_log "$(err syn20)" "listening on"
	twin_compare ftp_run
	assert_equal "$(echo "$KOUT" | head -4 | tr '\n' ' ')" "get pasv 0 put pasv 0 get port 0 put port 0 "
	local s
	for s in k p; do
		assert_same_file "$SRV/4m" "$BATS_TEST_TMPDIR/$s/get-pasv"
		assert_same_file "$SRV/4m" "$BATS_TEST_TMPDIR/$s/get-port"
		assert_same_file "$SRV/up4m" "$SRV/$s/ftp/up/put-pasv"
		assert_same_file "$SRV/up4m" "$SRV/$s/ftp/up/put-port"
	done
	bg_wait syn20 10
	run cat "$(out syn20)"
	assert_output --partial "$STACK_IP.20 > $HOST_IP."
	tap_assert_crossed $((8 * MiB)) $((8 * MiB))
}

# ---- dnsmasq -----------------------------------------------------------------

# dns_run k|p: A over UDP and TCP, NXDOMAIN, a 3 kB TXT answer over UDP (too
# big: dig retries over TCP) and with +ignore (the truncated answer itself),
# each answer's source checked by dig (it refuses a reply from another
# address). One line per question.
dns_run() {
	local q=(dig -p 53 "@$STACK_IP" +time=2 +tries=1)
	on "$1" 10 "${q[@]}" +short a.pstack.test A
	on "$1" 10 "${q[@]}" +short +tcp www.pstack.test A
	on "$1" 10 "${q[@]}" nothere.test A | grep -o 'status: [A-Z]*'
	on "$1" 10 "${q[@]}" +short +bufsize=1232 t.pstack.test TXT | wc -c
	on "$1" 10 "${q[@]}" +ignore +bufsize=1232 t.pstack.test TXT | grep -oE 'flags: [a-z ]*;|MSG SIZE.*'
	on "$1" 10 "${q[@]}" +short +tcp t.pstack.test TXT | wc -c
}

@test "dnsmasq under the preload: A over UDP and TCP, NXDOMAIN, a 3 kB TXT truncated over UDP and retried over TCP, answered from the address asked, as on the kernel" {
	san_check dnsmasq
	have dnsmasq-base dnsmasq dig
	local txt args
	txt=$(head -c 3000 /dev/zero | tr '\0' a | fold -w 200 | paste -sd,)
	# The wildcard socket (dnsmasq's default): dnsmasq answers no query
	# without its IP_PKTINFO, also once its socket is shared with the
	# child it forks for each TCP query (the relay's header carries it).
	args=(-k -C /dev/null --port=53 --no-resolv --no-hosts --log-facility=-
		--address=/pstack.test/192.0.2.77 --host-record=www.pstack.test,192.0.2.78
		--txt-record=t.pstack.test,"$txt" --address=/nothere.test/)
	# One more interface than lo and tap0, as a host has (an IPv6
	# link-local address only): dnsmasq's scan reads netlink's list of
	# addresses, then asks about each one's interface.
	nsx ip link add x0 type veth peer name x1
	nsx ip link set x0 up
	nsx ip link set x1 up
	ip -n "$NSK" link add x0 type veth peer name x1
	ip -n "$NSK" link set x0 up
	ip -n "$NSK" link set x1 up
	# A pid file of each one's own: dnsmasq -k unlinks its pid file and
	# creates it with O_EXCL, so two started at once race for
	# /var/run/dnsmasq.pid (one fails: "File exists").
	bg_k kdns 60 dnsmasq "${args[@]}" --pid-file="$BATS_TEST_TMPDIR/kdns.pid"
	bg_pre dns 60 dnsmasq "${args[@]}" --pid-file="$BATS_TEST_TMPDIR/dns.pid"
	wait_until 10 "the kernel's dnsmasq" k_listens 53 udp
	wait_stack_up
	wait_until 20 "dnsmasq to answer" ip netns exec "$NS" dig +time=1 +tries=1 -p 53 "@$STACK_IP" a.pstack.test
	twin_compare dns_run
	assert_equal "$(echo "$KOUT" | head -3 | tr '\n' ' ')" "192.0.2.77 192.0.2.78 status: NXDOMAIN "
	echo "$KOUT" | grep -q "flags: qr aa tc rd ra;" || fail "no truncated answer: $KOUT"
	tap_assert_crossed 6000 300
}

# ---- tinyproxy ---------------------------------------------------------------

# proxy_run k|p: 2 MB through the proxy byte-exact (its sha), a 404 passed
# on, an upstream that refuses, an upstream the proxy's Allow refuses.
proxy_run() {
	local px=(curl -sS -x "http://$STACK_IP:8888")
	on "$1" 20 "${px[@]}" "http://$HOST_IP:9000/blob" | sha256sum | cut -d' ' -f1
	on "$1" 10 "${px[@]}" -o /dev/null -w '%{http_code}\n' "http://$HOST_IP:9000/nothere"
	on "$1" 10 "${px[@]}" -o /dev/null -w '%{http_code}\n' "http://$HOST_IP:9009/"
	on "$1" 10 "${px[@]}" -o /dev/null -w '%{http_code}\n' "http://$HOST_IP:9000/" -H 'Connection: close'
}

@test "tinyproxy under the preload, its upstream on the kernel: 2 MB byte-exact, 404 and a refused upstream answered as on the kernel" {
	have tinyproxy tinyproxy curl
	mkdir -p "$SRV/www"
	make_data "$SRV/www/blob" 2000000
	echo hello-tinyproxy >"$SRV/www/index.html"
	printf 'User root\nGroup root\nPort 8888\nListen 0.0.0.0\nTimeout 20\nMaxClients 20\nLogLevel Info\nAllow 192.0.2.0/24\n' \
		>"$SRV/tp.conf"
	bg_q kweb 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	bg_ker web 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	bg_k ktp 60 tinyproxy -d -c "$SRV/tp.conf"
	bg_pre tp 60 tinyproxy -d -c "$SRV/tp.conf"
	wait_kernel_listen 9000
	wait_until 10 "the kernel's tinyproxy" k_listens 8888
	wait_until 20 "tinyproxy to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 \
		-x "http://$STACK_IP:8888" "http://$HOST_IP:9000/index.html"
	twin_compare proxy_run
	assert_equal "$(echo "$KOUT" | head -1)" "$(sha "$SRV/www/blob")"
	# In from the client and out to the upstream: both through the stack.
	tap_assert_crossed 2000000 2000000
}

# ---- exim4 -------------------------------------------------------------------

SMTP_PY='
import smtplib, sys, email.message
s = smtplib.SMTP(sys.argv[1], 2525, timeout=10)
print(s.ehlo("client.test")[0])
m = email.message.EmailMessage()
m["From"] = "a@client.test"; m["To"] = "bob@pstack.test"; m["Subject"] = "hi"
m.set_content(open(sys.argv[2]).read())
print("refused:", s.send_message(m))
try:
    s.sendmail("a@client.test", ["eve@elsewhere.test"], "x")
except smtplib.SMTPRecipientsRefused as e:
    print("relay:", list(e.recipients.values())[0][0])
print(s.quit()[0])
'

# exim_conf SUBJ: exim on 2525 (a child per connection), accepting mail
# for bob@pstack.test into SUBJ/mail/bob, refusing relay.
exim_conf() {
	mkdir -p "$SRV/$1/spool" "$SRV/$1/mail" "$SRV/$1/log"
	chmod 0777 "$SRV/$1/spool" "$SRV/$1/log"
	chmod 0755 "$SRV/$1"
	chown daemon "$SRV/$1/mail"
	cat >"$SRV/$1/exim.conf" <<-EOF
		keep_environment =
		exim_user = root
		exim_group = root
		primary_hostname = pstack.test
		domainlist local_domains = pstack.test
		daemon_smtp_ports = 2525
		spool_directory = $SRV/$1/spool
		log_file_path = $SRV/$1/log/%s
		acl_smtp_rcpt = acl_rcpt
		host_lookup =
		rfc1413_hosts =
		message_size_limit = 8M
		begin acl
		acl_rcpt:
		  accept domains = +local_domains
		  deny message = relay not permitted
		begin routers
		local:
		  driver = accept
		  local_parts = bob
		  transport = tofile
		begin transports
		tofile:
		  driver = appendfile
		  file = $SRV/$1/mail/\${local_part_data}
		  user = daemon
		  group = daemon
	EOF
}

@test "exim4 under the preload (a process forked per connection): an SMTP session with a 1 MB message delivered byte-exact and a relay refused, as on the kernel" {
	have exim4-daemon-light exim4
	base64 -w 76 /dev/urandom | head -c 1000000 >"$SRV/body.txt"
	chmod a+r "$SRV/body.txt"
	exim_conf k
	exim_conf p
	bg_k kexim 60 exim4 -C "$SRV/k/exim.conf" -bdf -q30m
	bg_pre exim 60 exim4 -C "$SRV/p/exim.conf" -bdf -q30m
	wait_until 10 "the kernel's exim" k_listens 2525
	# A probe first, then the session, then 3 more: exim's daemon closes
	# its copies of each connection it forked a child for with fclose()
	# (daemon.c, handle_smtp_call), which the preload does not see; the
	# next connection's fd takes the same number (shim_install_fresh).
	wait_until 20 "exim to listen" ip netns exec "$NS" nc -z "$STACK_IP" 2525
	twin_compare on 20 "$PY" -c "$SMTP_PY" "$STACK_IP" "$SRV/body.txt"
	assert_equal "$(echo "$KOUT" | tr '\n' ' ')" "250 refused: {} relay: 550 221 "
	local i
	for i in 1 2 3; do
		run on p 10 "$PY" -c "import smtplib, sys
s = smtplib.SMTP(sys.argv[1], 2525, timeout=5); print(s.ehlo('client.test')[0], s.quit()[0])" "$STACK_IP"
		assert_output "250 221"
	done
	# Delivered by a process exim exec'd (no network): the body, as sent.
	local s
	for s in k p; do
		wait_until 10 "$s's delivery" test -s "$SRV/$s/mail/bob"
		wait_until 10 "$s's delivery to end" grep -q "=> bob" "$SRV/$s/log/main"
		grep -q "H=(client.test) \[$HOST_IP\]" "$SRV/$s/log/main" || fail "$s: $(cat "$SRV/$s/log/main")"
		# The message as delivered: headers, a blank line, the body.
		sed '1,/^$/d' "$SRV/$s/mail/bob" | head -c 1000000 >"$BATS_TEST_TMPDIR/body-$s"
		assert_same_file "$SRV/body.txt" "$BATS_TEST_TMPDIR/body-$s"
	done
	tap_assert_crossed 1000 1000000
}

# ---- stunnel4 ----------------------------------------------------------------

# TLS_ECHO HOST PORT FILE: FILE through a TLS echo, at most 64 KiB ahead of
# what came back, and everything read back before the close: stunnel ends
# both sides at the client's end (socat's half-close once lost the echo's
# last 72 KB on the kernel's side), so nothing may be in flight then.
TLS_ECHO='
import socket, ssl, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, "rb").read()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=20))
sent, out = 0, bytearray()
while len(out) < len(data):
    if sent < len(data) and sent - len(out) < 65536:
        n = min(16384, len(data) - sent)
        s.sendall(data[sent:sent + n])
        sent += n
    else:
        b = s.recv(65536)
        if not b:
            break
        out += b
s.close()
sys.stdout.buffer.write(out)
'

@test "stunnel4 under the preload: TLS in front of a kernel-side echo server, 2 MB byte-exact both ways, as on the kernel" {
	have stunnel4 stunnel4 socat openssl
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SRV/key.pem" -out "$SRV/cert.pem" -days 2 \
		-subj /CN=pstack.test 2>/dev/null
	cat >"$SRV/st.conf" <<-EOF
		foreground = yes
		pid =
		[echo]
		accept = 0.0.0.0:8443
		connect = $HOST_IP:9001
		cert = $SRV/cert.pem
		key = $SRV/key.pem
	EOF
	bg_q kecho 60 socat TCP-LISTEN:9001,bind=$HOST_IP,reuseaddr,fork EXEC:cat
	bg_ker echo 60 socat TCP-LISTEN:9001,bind=$HOST_IP,reuseaddr,fork EXEC:cat
	bg_k kst 60 stunnel4 "$SRV/st.conf"
	bg_pre st 60 stunnel4 "$SRV/st.conf"
	wait_kernel_listen 9001
	wait_until 10 "the kernel's stunnel" k_listens 8443
	wait_stack_up
	wait_until 20 "stunnel to listen" ip netns exec "$NS" nc -z "$STACK_IP" 8443
	make_data "$BATS_TEST_TMPDIR/in" 2000000
	local s rc
	for s in k p; do
		[ $s = p ] && tap_mark
		rc=0
		on $s 30 "$PY" -c "$TLS_ECHO" "$STACK_IP" 8443 "$BATS_TEST_TMPDIR/in" \
			>"$BATS_TEST_TMPDIR/got-$s" || rc=$?
		echo "$s: client $rc"
		[ $rc = 0 ] || fail "the TLS client against $s: $rc"
		assert_same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got-$s"
	done
	# TLS from the client, plain to the echo server: 2 MB each way, twice.
	tap_assert_crossed 4000000 4000000
}

# ---- tftpd-hpa ---------------------------------------------------------------

# tftp_got SUBJ FILE: FILE fetched from SUBJ's tftpd is there (tftp says 0
# also for an error, and retries a request nobody answers for long).
tftp_got() {
	local d=$BATS_TEST_TMPDIR/probe-$1
	mkdir -p "$d"
	rm -f "$d/$2"
	(cd "$d" && on "$1" 3 tftp -m binary "$STACK_IP" 69 -c get "$2" "$2") >/dev/null 2>&1 || true
	[ -s "$d/$2" ]
}

# tftp_run k|p: a 1 MB get and a 300 kB put, byte-exact (their shas as the
# server stored them), three gets at once, a missing file's error.
tftp_run() {
	local d=$BATS_TEST_TMPDIR/tftp-$1 i
	mkdir -p "$d"
	cp "$SRV/up" "$d/up"
	(cd "$d" && on "$1" 20 tftp -m binary "$STACK_IP" 69 -c get 1m got && on "$1" 20 tftp -m binary "$STACK_IP" 69 -c put up up) 2>&1
	sha256sum <"$d/got" | cut -d' ' -f1
	sha256sum <"$SRV/t$1/up" | cut -d' ' -f1
	for i in 1 2 3; do
		(cd "$d" && on "$1" 20 tftp -m binary "$STACK_IP" 69 -c get 1m "got$i") &
	done
	wait
	for i in 1 2 3; do
		cmp -s "$d/got$i" "$SRV/t$1/1m" && echo "same $i"
	done
	(cd "$d" && on "$1" 10 tftp -m binary "$STACK_IP" 69 -c get nothere nothere) 2>&1
}

@test "tftpd-hpa -L under the preload (each transfer from a fork child's new UDP socket bound to the server's address): get and put byte-exact, three at once, an error, as on the kernel" {
	san_check in.tftpd
	have tftpd-hpa in.tftpd
	have tftp-hpa tftp
	local s
	head -c 1048576 /dev/urandom >"$SRV/1m"
	head -c 300000 /dev/urandom >"$SRV/up"
	for s in k p; do
		# Its children take the user nobody: uploads need a folder anyone
		# may write in (and -c to create the file).
		mkdir -p "$SRV/t$s"
		cp "$SRV/1m" "$SRV/t$s/1m"
		chmod 0644 "$SRV/t$s/1m"
		chmod 0777 "$SRV/t$s"
	done
	bg_k ktftp 60 in.tftpd -L -c -s "$SRV/tk" -a "$STACK_IP:69"
	bg_pre tftp 60 in.tftpd -L -c -s "$SRV/tp" -a "$STACK_IP:69"
	wait_until 10 "the kernel's tftpd" tftp_got k 1m
	wait_stack_up
	wait_until 10 "the preloaded tftpd" tftp_got p 1m
	twin_compare tftp_run
	assert_equal "$(echo "$KOUT" | sed -n 1p)" "$(sha256sum <"$SRV/1m" | cut -d' ' -f1)"
	assert_equal "$(echo "$KOUT" | sed -n 2p)" "$(sha256sum <"$SRV/up" | cut -d' ' -f1)"
	assert_equal "$(echo "$KOUT" | sed -n 3,5p | tr '\n' ' ')" "same 1 same 2 same 3 "
	echo "$KOUT" | grep -q "File not found" || fail "no error for a missing file: $KOUT"
	tap_assert_crossed 4000000 300000
}

# ---- varnish -----------------------------------------------------------------

# cache_run k|p: through the cache to a python http.server backend: 2 MB
# byte-exact (its sha), the same again from the cache (X-Varnish then names
# two transactions), a 404 passed on, and ab's 300 requests.
cache_run() {
	local u=http://$STACK_IP:6081
	on "$1" 20 curl -sS "$u/blob" | sha256sum | cut -d' ' -f1
	on "$1" 20 curl -sS -o /dev/null -D - "$u/blob" | grep -i '^x-varnish:' | awk '{print NF - 1 " ids"}'
	on "$1" 10 curl -sS -o /dev/null -w '%{http_code}\n' "$u/nothere"
	on "$1" 60 ab -q -n 300 -c 10 "$u/index.html" | grep -E '^(Complete|Failed) requests'
}

@test "varnishd under the preload (its manager binds the listening socket, the child it forks listens and serves after dropping root): 2 MB byte-exact, a cache hit, a 404, ab 300, as on the kernel; a child killed is replaced and serves" {
	have varnish varnishd ab curl
	mkdir -p "$SRV/www"
	make_data "$SRV/www/blob" 2000000
	echo hello-varnish >"$SRV/www/index.html"
	bg_q kweb 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	bg_ker web 60 "$PY" -m http.server --bind "$HOST_IP" --directory "$SRV/www" 9000
	local args=(-F -a "$STACK_IP:6081" -b "$HOST_IP:9000" -s malloc,32m)
	bg_k kvc 60 varnishd "${args[@]}" -n "$SRV/vk"
	bg_pre vc 60 varnishd "${args[@]}" -n "$SRV/vp"
	wait_kernel_listen 9000
	wait_until 20 "the kernel's varnishd" k_listens 6081
	wait_stack_up
	wait_until 30 "varnishd to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 \
		"http://$STACK_IP:6081/index.html"
	twin_compare cache_run
	assert_equal "$(echo "$KOUT" | head -3 | tr '\n' ' ')" "$(sha "$SRV/www/blob") 2 ids 404 "
	! grep -h "used in a child process" "$(out vc)" "$(err vc)" || fail "a socket refused in varnishd's child"
	# In from the client (2 MB twice) and out to the backend (once).
	tap_assert_crossed 4000000 2000000
	# Its child killed, the manager forks another, which listens on the
	# same socket again (now a listener the first child made).
	local child
	child=$(comm -12 <(ip netns pids "$NS" | sort) <(pgrep -x cache-main | sort))
	[ -n "$child" ] || fail "no varnishd child in $NS"
	kill -KILL $child
	wait_until 30 "varnishd's second child" grep -q "Child ($child) died" "$(out vc)" "$(err vc)"
	wait_until 30 "varnishd's second child to answer" ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 \
		"http://$STACK_IP:6081/index.html"
	run on p 10 curl -sS "http://$STACK_IP:6081/index.html"
	assert_output hello-varnish
}
