#!/usr/bin/env bats
# Still more of Debian's programs, unmodified, under the preload, each
# compared with the same program on the kernel's stack in the same run: the
# OpenSSH client (to a kernel sshd: a command and its output, sftp both
# ways), BIND 9's named (libuv: its UDP listeners read by
# syscall(SYS_recvmmsg); TCP for a zone transfer and a truncated answer's
# retry) and MariaDB's server (a thread per
# connection; mysqlslap's 10 clients at once).
#
# The kernel's twin (twin.bash), as in 42-servers2: a namespace NS-k whose veth end is
# named tap0 with pstack's address and MAC, its peer NS-q at 192.0.2.1; the
# same client commands run in NS-q against the kernel and in NS against
# pstack (or, for a client under test, in NS-k and under the preload in NS,
# against a server in NS-q and in NS), and their results must be equal. A
# package that cannot be installed skips its test (tests/deps.sh installs
# them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 43
}
teardown() {
	e2e_teardown
	twin_teardown
}

# ---- the OpenSSH client ---------------------------------------------------------

# ssh_run k|p: a command's output (the addresses it came from, then 1 MiB
# as its sha256), and 1 MiB up and down in one sftp session (the copies'
# sha256; scp is sftp too since OpenSSH 9.0).
ssh_run() {
	local d=$SRV/ssh o
	o=(-i "$d/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		-o BatchMode=yes -o LogLevel=ERROR -o GSSAPIAuthentication=no)
	as "$1" 20 ssh -n -p 2222 "${o[@]}" "root@$HOST_IP" 'echo "via $SSH_CONNECTION"; cat '"$d/down" | {
		IFS= read -r l
		echo "$l" | sed 's/ [0-9]* / PORT /'
		sha256sum | cut -d' ' -f1
	}
	printf 'put %s %s\nget %s %s\n' "$d/up" "$d/up-$1" "$d/down" "$d/down-$1" |
		as "$1" 20 sftp -q -P 2222 "${o[@]}" -b - "root@$HOST_IP" >/dev/null
	sha "$d/up-$1"
	sha "$d/down-$1"
}

@test "ssh and sftp under the preload to a kernel sshd: a command and its 1 MiB output, 1 MiB each way by sftp, byte-exact, as on the kernel" {
	[ -x /usr/sbin/sshd ] || skip "sshd is not installed (Debian: openssh-server)"
	have openssh-client ssh sftp
	san_check ssh
	local d=$SRV/ssh
	mkdir -p "$d" /run/sshd
	chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
	cp "$d/user_key.pub" "$d/authorized_keys"
	# SHLVL=1: the command's bash (a level up) does not read ~/.bashrc,
	# which Debian's bash does when sshd runs it (SSH_SOURCE_BASHRC) and
	# which may take seconds on a developer's machine (pyenv's set-up).
	cat >"$d/sshd_config" <<-CONF
		Port 2222
		ListenAddress $HOST_IP
		HostKey $d/host_key
		PidFile none
		AuthorizedKeysFile $d/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		Subsystem sftp internal-sftp
		SetEnv SHLVL=1
	CONF
	make_data "$d/up" $((1 * MiB))
	make_data "$d/down" $((1 * MiB))
	bg_ker sshd 60 /usr/sbin/sshd -D -e -f "$d/sshd_config"
	bg_q ksshd 60 /usr/sbin/sshd -D -e -f "$d/sshd_config"
	wait_kernel_listen 2222
	wait_until 10 "the twin's sshd" q_listens 2222
	twin_compare ssh_run
	assert_equal "$(echo "$KOUT" | tr '\n' ' ')" "via $STACK_IP PORT $HOST_IP 2222 $(sha "$d/down") $(sha "$d/up") $(sha "$d/down") "
	tap_assert_crossed $((1 * MiB)) $((2 * MiB))
}

# ---- BIND 9 -------------------------------------------------------------------

# named_conf SIDE: an authoritative-only named on 192.0.2.2 for pstack.test
# (1000 A records and a 2 kB TXT), its files in SRV/SIDE, owned by bind.
named_conf() {
	local d=$SRV/$1
	mkdir -p "$d"
	cp "$SRV/db" "$d/db"
	cat >"$d/named.conf" <<-EOF
		options {
			directory "$d";
			pid-file "$d/named.pid";
			listen-on port 53 { $STACK_IP; };
			listen-on-v6 { none; };
			recursion no;
			dnssec-validation no;
			allow-transfer { any; };
		};
		controls { };
		zone "pstack.test" { type primary; file "$d/db"; };
	EOF
	chown -R bind "$d"
}

# bind_run k|p: A over UDP and TCP, NXDOMAIN, the zone's transfer (TCP),
# a 2 kB TXT over UDP (truncated: dig retries over TCP) and with +ignore
# (the truncated answer itself), and 100 questions in one dig over UDP.
bind_run() {
	local q=(dig -p 53 "@$STACK_IP" +time=2 +tries=1)
	on "$1" 10 "${q[@]}" +short h77.pstack.test A
	on "$1" 10 "${q[@]}" +short +tcp h78.pstack.test A
	on "$1" 10 "${q[@]}" nothere.pstack.test A | grep -o 'status: [A-Z]*'
	on "$1" 10 "${q[@]}" pstack.test AXFR | grep -o 'XFR size: .*'
	on "$1" 10 "${q[@]}" +short +bufsize=1232 t.pstack.test TXT | wc -c
	on "$1" 10 "${q[@]}" +ignore +bufsize=1232 t.pstack.test TXT | grep -oE 'flags: [a-z ]*;|MSG SIZE.*'
	on "$1" 20 "${q[@]}" +short -f "$SRV/questions" | sha256sum | cut -d' ' -f1
}

@test "named (BIND 9, libuv) under the preload: A over UDP and TCP, NXDOMAIN, a zone transfer, a truncated answer retried over TCP, 100 questions, as on the kernel" {
	san_check named
	have bind9 named dig
	local i
	{
		echo '$TTL 300'
		echo '@ IN SOA ns hostmaster 1 3600 600 86400 300'
		echo '@ IN NS ns'
		echo "ns IN A $STACK_IP"
		for i in $(seq 1 1000); do echo "h$i IN A 192.0.2.$((i % 250 + 1))"; done
		echo "t IN TXT $(for i in $(seq 1 10); do printf '"%s" ' "$(head -c 200 /dev/zero | tr '\0' t)"; done)"
	} >"$SRV/db"
	for i in $(seq 1 100); do echo "h$((i * 7)).pstack.test A"; done >"$SRV/questions"
	named_conf k
	named_conf p
	# Four worker threads, each with a UDP socket of its own on port 53
	# (SO_REUSEPORT) that libuv reads by syscall(SYS_recvmmsg); root
	# dropped to bind after the sockets are bound.
	bg_k knamed 60 named -g -n 4 -u bind -c "$SRV/k/named.conf"
	bg_pre named 60 named -g -n 4 -u bind -c "$SRV/p/named.conf"
	wait_until 10 "the kernel's named" k_listens 53 udp
	wait_stack_up
	wait_until 20 "named to answer" ip netns exec "$NS" dig +time=1 +tries=1 -p 53 "@$STACK_IP" h1.pstack.test
	twin_compare bind_run
	assert_equal "$(echo "$KOUT" | head -3 | tr '\n' ' ')" "192.0.2.78 192.0.2.79 status: NXDOMAIN "
	echo "$KOUT" | grep -q "XFR size: 1005 records" || fail "no zone transfer: $KOUT"
	echo "$KOUT" | grep -q "flags: qr aa tc rd;" || fail "no truncated answer: $KOUT"
	tap_assert_crossed 30000 3000
}

# ---- MariaDB ------------------------------------------------------------------

# sql_run k|p: a 5 MB result, a table written and read back (its checksum),
# and mysqlslap's 10 clients at once (its summary's lines without times).
sql_run() {
	local m=(mysql -h "$STACK_IP" -u r --batch --skip-column-names)
	on "$1" 10 "${m[@]}" -e "select length(repeat('y', 5000000)), md5(repeat('y', 5000000))"
	on "$1" 10 "${m[@]}" -e "select repeat('z', 5000000)" | sha256sum | cut -d' ' -f1
	on "$1" 10 "${m[@]}" -e "create database t; use t; create table w (i int primary key, s text);
		insert into w select seq, repeat(char(65 + seq mod 26), seq) from seq_1_to_2000;
		select count(*), sum(length(s)), md5(group_concat(s order by i separator '')) from w"
	on "$1" 30 mysqlslap -h "$STACK_IP" -u r --concurrency=10 --iterations=1 --number-of-queries=100 \
		--auto-generate-sql --auto-generate-sql-load-type=mixed | grep -E 'Number of clients|queries per client'
}

@test "mariadbd under the preload (a thread per connection): a 5 MB result, a table written and read back, mysqlslap's 10 clients, as on the kernel" {
	have mariadb-server mariadbd mysql mysqladmin mysqlslap
	san_check mariadbd
	local s
	# An empty data folder and no grant tables: the server makes what it
	# needs in a second (mariadb-install-db would take longer than the rest).
	mkdir -p "$SRV/k" "$SRV/p"
	local args=(--no-defaults --user=root --bind-address="$STACK_IP" --port=3306 --skip-name-resolve
		--skip-grant-tables --skip-log-bin --innodb-buffer-pool-size=16M)
	bg_k kdb 60 mariadbd "${args[@]}" --datadir="$SRV/k" --socket="$SRV/k.sock" --pid-file="$SRV/k.pid"
	bg_pre db 60 mariadbd "${args[@]}" --datadir="$SRV/p" --socket="$SRV/p.sock" --pid-file="$SRV/p.pid"
	for s in k p; do
		wait_until 20 "mariadbd ($s) to be ready" mysqladmin -S "$SRV/$s.sock" ping
	done
	wait_until 10 "the kernel's mariadbd" k_listens 3306
	wait_stack_up
	twin_compare sql_run
	assert_equal "$(echo "$KOUT" | head -1)" "$(printf '5000000\t%s' "$(head -c 5000000 /dev/zero | tr '\0' y | md5sum | cut -d' ' -f1)")"
	assert_equal "$(echo "$KOUT" | sed -n 3p | cut -f1,2)" "$(printf '2000\t2001000')"
	echo "$KOUT" | grep -q "Number of clients running queries: 10" || fail "mysqlslap did not run: $KOUT"
	tap_assert_crossed 5000000 10000
}
