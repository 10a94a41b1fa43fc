#!/usr/bin/env bats
# A fifth set of real programs, unmodified, under the preload, each compared
# with the same program on the kernel's stack in the same run: Java
# (OpenJDK's com.sun.net.httpserver, java.net.http's client, and
# java.nio's AsynchronousSocketChannel and AsynchronousServerSocketChannel,
# whose poller thread waits on an epoll before the first socket is in it).
#
# The kernel's twin and the helpers are twin.bash's: a namespace NS-k
# whose veth end is named tap0 with pstack's address and MAC, its peer NS-q
# at 192.0.2.1. A package that cannot be installed skips its test
# (tests/deps.sh installs them).

load lib
load twin

setup() {
	e2e_setup
	twin_setup 46
}
teardown() {
	e2e_teardown
	twin_teardown
}

# ---- Java ------------------------------------------------------------------

# JNet serve SECONDS: an HttpServer on 8090 (each answer: the client's
# address, the body's length and sha256) and an AsynchronousServerSocket
# echo on 8091. JNet client HOST: 10 POSTs at once through java.net.http's
# client (0 to 900 kB), then 1 MiB in 64 KiB rounds through the echo with an
# AsynchronousSocketChannel.
JNET='
import com.sun.net.httpserver.HttpServer;
import java.net.*;
import java.net.http.*;
import java.nio.ByteBuffer;
import java.nio.channels.*;
import java.security.MessageDigest;
import java.util.*;
import java.util.concurrent.*;

public class JNet {
    static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
    // An echo of each connection, as AsynchronousSocketChannel does it: its
    // poller thread waits on an epoll before the first channel is in it.
    static void echo(AsynchronousSocketChannel c) {
        new Thread(() -> {
            ByteBuffer b = ByteBuffer.allocate(65536);
            try {
                while (c.read(b).get() > 0) {
                    b.flip();
                    while (b.hasRemaining())
                        c.write(b).get();
                    b.clear();
                }
                c.close();
            } catch (Exception e) {
                System.out.println("echo: " + e);
            }
        }).start();
    }
    public static void main(String[] a) throws Exception {
        if (a[0].equals("serve")) {
            AsynchronousServerSocketChannel as = AsynchronousServerSocketChannel.open().bind(new InetSocketAddress(8091));
            as.accept(null, new CompletionHandler<AsynchronousSocketChannel, Void>() {
                public void completed(AsynchronousSocketChannel c, Void v) { as.accept(null, this); echo(c); }
                public void failed(Throwable t, Void v) { }
            });
            HttpServer s = HttpServer.create(new InetSocketAddress(8090), 50);
            s.createContext("/", ex -> {
                byte[] in = ex.getRequestBody().readAllBytes(), out;
                try {
                    out = ("from " + ex.getRemoteAddress().getAddress().getHostAddress() + " " + in.length + " " + sha(in) + "\n").getBytes();
                } catch (Exception e) { throw new RuntimeException(e); }
                ex.sendResponseHeaders(200, out.length);
                ex.getResponseBody().write(out);
                ex.close();
            });
            s.setExecutor(Executors.newFixedThreadPool(4));
            s.start();
            System.out.println("listening");
            Thread.sleep(Long.parseLong(a[1]) * 1000);
            System.exit(0);
        }
        // client HOST: java.net.http'\''s client (its selector manager thread), then
        // an AsynchronousSocketChannel'\''s connect, write and read.
        String host = a[1];
        HttpClient hc = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
        for (int i = 0; i < 10; i++)
            fs.add(hc.sendAsync(HttpRequest.newBuilder(URI.create("http://" + host + ":8090/" + i))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[100000 * i])).build(),
                    HttpResponse.BodyHandlers.ofString()));
        for (var f : fs) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            System.out.print("http " + r.statusCode() + " " + r.body());
        }
        AsynchronousSocketChannel c = AsynchronousSocketChannel.open();
        c.connect(new InetSocketAddress(host, 8091)).get(10, TimeUnit.SECONDS);
        byte[] d = new byte[1 << 20];
        new Random(7).nextBytes(d);
        ByteBuffer got = ByteBuffer.allocate(d.length);
        for (int off = 0; off < d.length; off += 65536) {
            ByteBuffer out = ByteBuffer.wrap(d, off, 65536);
            while (out.hasRemaining())
                c.write(out).get(10, TimeUnit.SECONDS);
            while (got.position() < off + 65536 && c.read(got).get(10, TimeUnit.SECONDS) > 0)
                ;
        }
        System.out.println("echo " + got.position() + " " + sha(got.array()).equals(sha(d)));
        c.close();
    }
}
'

# The JVM's C1 compiler alone and its serial collector: a third less CPU
# to start on a busy machine, the same socket calls.
JOPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

@test "Java under the preload: HttpServer and an AsynchronousServerSocketChannel echo for kernel clients, java.net.http and AsynchronousSocketChannel clients to kernel servers; as on the kernel" {
	have openjdk-17-jdk-headless java javac
	printf '%s' "$JNET" >"$SRV/JNet.java"
	javac -d "$SRV" "$SRV/JNet.java"
	local kout pout
	# The servers: on the kernel's twin and under the preload.
	bg_k kjava 60 java $JOPTS -cp "$SRV" JNet serve 50
	bg_pre java 60 java $JOPTS -cp "$SRV" JNet serve 50
	wait_until 20 "the kernel's java" k_listens 8091
	wait_log "$(out java)" listening 20
	kout=$(on k 20 java $JOPTS -cp "$SRV" JNet client "$STACK_IP" 2>&1) || true
	tap_mark
	pout=$(on p 20 java $JOPTS -cp "$SRV" JNet client "$STACK_IP" 2>&1) || true
	echo "kernel: $kout"
	echo "pstack: $pout"
	assert_equal "$pout" "$kout"
	assert_equal "$(echo "$kout" | grep -c "^http 200 from $HOST_IP ")" 10
	assert_equal "$(echo "$kout" | tail -1)" "echo 1048576 true"
	tap_assert_crossed "$MiB" $((MiB + 4000000))
	# The clients: on the kernel's twin and under the preload, against
	# servers at 192.0.2.1 on their side (the preloaded server goes first:
	# its listeners hold the ports on the namespace's loopback too).
	kill -TERM "$PID_java"
	bg_wait java 10
	bg_q qjava 60 java $JOPTS -cp "$SRV" JNet serve 50
	bg_ker hjava 60 java $JOPTS -cp "$SRV" JNet serve 50
	wait_until 20 "the twin peer's java" q_listens 8091
	wait_kernel_listen 8091
	kout=$(as k 20 java $JOPTS -cp "$SRV" JNet client "$HOST_IP" 2>&1) || true
	tap_mark
	pout=$(as p 20 java $JOPTS -cp "$SRV" JNet client "$HOST_IP" 2>&1) || true
	echo "kernel: $kout"
	echo "pstack: $pout"
	assert_equal "$pout" "$kout"
	assert_equal "$(echo "$kout" | grep -c "^http 200 from $STACK_IP ")" 10
	assert_equal "$(echo "$kout" | tail -1)" "echo 1048576 true"
	tap_assert_crossed $((MiB + 4000000)) "$MiB"
}
