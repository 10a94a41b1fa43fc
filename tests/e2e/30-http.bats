#!/usr/bin/env bats
# HTTP through the stack: curl, wget and examples/http_get under the
# preload against python's http.server on the kernel side, and the other way
# round; a threaded server under load; loopback that stays with the kernel.

load lib

setup() {
	e2e_setup
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$WWW"
}
teardown() { e2e_teardown; }

# kernel_http PORT: python3 -m http.server on 192.0.2.1:PORT serving $WWW.
kernel_http() {
	bg_ker http 300 "$PY" -m http.server --bind "$HOST_IP" --directory "$WWW" "$1"
	wait_kernel_listen "$1"
}

# stack_http PORT [ARGS...]: python3 -m http.server under the preload, serving $WWW.
stack_http() {
	local port=$1
	shift
	bg_pre http 300 "$PY" -m http.server --directory "$WWW" "$@" "$port"
	wait_stack_up
	wait_until 20 "the preloaded http.server to answer" \
		ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "http://$STACK_IP:$port/"
}

@test "curl under the preload downloads 1 KB from the kernel's http.server" {
	san_check curl
	make_data "$WWW/small" 1024
	kernel_http 8000
	tap_mark
	run pre 30 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/small"
	assert_success
	assert_same_file "$WWW/small" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 100 1024
}

@test "curl under the preload downloads 64 MiB from the kernel's http.server" {
	san_check curl
	make_data "$WWW/big" $((64 * MiB))
	kernel_http 8000
	tap_mark
	run pre 120 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/big"
	assert_success
	assert_same_file "$WWW/big" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 1000 $((64 * MiB))
}

@test "the kernel's curl downloads from http.server under the preload (default bind)" {
	make_data "$WWW/file" $((4 * MiB))
	stack_http 8000
	tap_mark
	run ker 60 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((4 * MiB)) 100
}

@test "the kernel's curl downloads from http.server --bind :: under the preload (dual-stack)" {
	make_data "$WWW/file" $((4 * MiB))
	stack_http 8000 --bind ::
	tap_mark
	run ker 60 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((4 * MiB)) 100
}

@test "the kernel's curl downloads from http.server --bind 0.0.0.0 under the preload" {
	make_data "$WWW/file" $((4 * MiB))
	stack_http 8000 --bind 0.0.0.0
	tap_mark
	run ker 60 curl -sS -f -o "$BATS_TEST_TMPDIR/got" "http://$STACK_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((4 * MiB)) 100
}

@test "wget under the preload downloads from the kernel's http.server" {
	san_check wget
	make_data "$WWW/file" $((4 * MiB))
	kernel_http 8000
	tap_mark
	run pre 60 wget -q -O "$BATS_TEST_TMPDIR/got" "http://$HOST_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 100 $((4 * MiB))
}

@test "examples/http_get under the preload downloads from the kernel's http.server" {
	make_data "$WWW/file" $((4 * MiB))
	kernel_http 8000
	tap_mark
	run pre 60 sh -c "'$EXAMPLES/http_get' $HOST_IP 8000 /file > '$BATS_TEST_TMPDIR/got'"
	assert_success
	assert_output --partial "200"
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed 100 $((4 * MiB))
}

@test "examples/http_get on the kernel downloads from http.server under the preload" {
	make_data "$WWW/file" $((4 * MiB))
	stack_http 8000 --bind 0.0.0.0
	tap_mark
	run ker 60 sh -c "'$EXAMPLES/http_get' $STACK_IP 8000 /file > '$BATS_TEST_TMPDIR/got'"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/got"
	tap_assert_crossed $((4 * MiB)) 100
	# And a 404 is reported as a failure.
	run ker 20 "$EXAMPLES/http_get" "$STACK_IP" 8000 /missing
	assert_failure
	assert_output --partial "404"
}

@test "a threaded server under the preload serves 2000 requests from 20 concurrent kernel clients" {
	bg_pre http 300 "$PY" -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("hello " + self.path + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H)
print("serving", flush=True)
s.serve_forever()
'
	wait_log "$(out http)" serving
	wait_stack_up
	wait_until 20 "the threaded server to answer" \
		ip netns exec "$NS" curl -sf -o /dev/null --max-time 2 "http://$STACK_IP:8080/probe"
	tap_mark
	run ker 240 "$PY" -c '
import http.client, threading
ok = 0
bad = []
lock = threading.Lock()
def client(k):
    global ok
    for i in range(100):
        path = "/c%d/r%d" % (k, i)
        try:
            c = http.client.HTTPConnection("192.0.2.2", 8080, timeout=20)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
            good = r.status == 200 and body == ("hello " + path + "\n").encode()
        except Exception as e:
            good = False
            body = repr(e)
        with lock:
            if good:
                ok += 1
            else:
                bad.append((path, body))
ts = [threading.Thread(target=client, args=(k,)) for k in range(20)]
for t in ts: t.start()
for t in ts: t.join()
print("ok", ok, "failed", len(bad))
for b in bad[:5]: print(b)
'
	assert_success
	assert_line "ok 2000 failed 0"
	tap_assert_crossed $((2000 * 100)) $((2000 * 60))
}

@test "http.server under the preload on every address answers curl on localhost, as the kernel's would, and the TAP side still" {
	# A listener on the wildcard address hears 127.0.0.1 on Linux. Under
	# the preload the connection to localhost is the kernel's (loopback
	# stays with the kernel): the listener's loopback side takes it.
	make_data "$WWW/file" $((1 * MiB))
	stack_http 8000 --bind 0.0.0.0
	run ker 30 curl -sS -f -o "$BATS_TEST_TMPDIR/lo" "http://127.0.0.1:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/lo"
	# and a client under the preload, which goes to the kernel's loopback
	# too (python's: curl hangs under a sanitizer's runtime alone)
	run pre 30 "$PY" -c 'import sys, urllib.request
open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=20).read())' \
		"http://localhost:8000/file" "$BATS_TEST_TMPDIR/lo2"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/lo2"
	tap_mark
	run ker 30 curl -sS -f -o "$BATS_TEST_TMPDIR/tap" "http://$STACK_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/tap"
	tap_assert_crossed $((1 * MiB)) 100
}

@test "curl http://localhost:PORT/ under the preload reaches a kernel server on loopback" {
	san_check curl
	echo "loopback stays with the kernel" >"$WWW/index.txt"
	bg_ker lo 60 "$PY" -m http.server --bind 127.0.0.1 --directory "$WWW" 8001
	wait_kernel_listen 8001
	run pre 30 curl -sS -f "http://localhost:8001/index.txt"
	assert_success
	assert_output "loopback stays with the kernel"
	run pre 30 curl -sS -f "http://127.0.0.1:8001/index.txt"
	assert_success
	assert_output "loopback stays with the kernel"
	# The same program reaches the stack's side too: both in one process.
	make_data "$WWW/file" 4096
	kernel_http 8000
	tap_mark
	run pre 30 curl -sS -f -o "$BATS_TEST_TMPDIR/a" "http://127.0.0.1:8001/file" \
		-o "$BATS_TEST_TMPDIR/b" "http://$HOST_IP:8000/file"
	assert_success
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/a"
	assert_same_file "$WWW/file" "$BATS_TEST_TMPDIR/b"
	tap_assert_crossed 100 4096
}
