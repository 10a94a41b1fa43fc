#!/bin/sh
# What pstack needs from Debian's archive, for building, testing and the demo.
#   sh tests/deps.sh check     exit 0 when everything is installed
#   sh tests/deps.sh install   install whatever is missing (as root), idempotently
set -eu

PACKAGES="build-essential make gcc clang libclang-rt-14-dev libcmocka-dev pkg-config
bats bats-assert bats-support
iproute2 iputils-ping arping iptables netcat-openbsd socat curl wget telnet tcpdump
python3 iperf3 sockperf tmux procps psmisc
wrk apache2-utils gnuplot-nox
nginx-light redis-server redis-tools dnsmasq-base bind9-dnsutils
postgresql-client openssh-server openssh-client
apache2-bin lighttpd haproxy memcached libmemcached-tools python3-gunicorn openbsd-inetd rsync
openssl nodejs mosquitto mosquitto-clients
vsftpd tinyproxy stunnel4 exim4-daemon-light varnish tftpd-hpa tftp-hpa
bind9 mariadb-server mariadb-client
libnginx-mod-stream dante-server openjdk-17-jdk-headless systemd
h2o microsocks redis-sentinel nsd iputils-tracepath traceroute"

missing() {
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

case "${1:-check}" in
check)
	m=$(missing)
	if [ -n "$m" ]; then
		echo "missing packages:" $m
		exit 1
	fi
	;;
install)
	m=$(missing)
	[ -z "$m" ] && { echo "deps: everything is installed"; exit 0; }
	if [ "$(id -u)" != 0 ]; then
		echo "deps: these packages are missing and installing them needs root: $m" >&2
		exit 1
	fi
	echo "deps: installing" $m
	export DEBIAN_FRONTEND=noninteractive
	# The servers among them (nginx, redis, sshd, lighttpd, haproxy,
	# memcached, mosquitto, inetd, vsftpd, tinyproxy, stunnel, exim, tftpd,
	# named, mariadb, h2o, redis-sentinel, nsd) are for the tests, which start their own inside
	# their namespaces: no system service is started by the install
	# (invoke-rc.d asks policy-rc.d; 101 is "action forbidden").
	guard=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		guard=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$guard"
		chmod 755 "$guard"
		trap 'rm -f "$guard"' EXIT
	fi
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $m
	;;
*)
	echo "usage: $0 check|install" >&2
	exit 2
	;;
esac
