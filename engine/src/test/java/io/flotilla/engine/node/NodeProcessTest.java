package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's main as a real process: it prints its ready line once it serves, a second process on
 * the same data directory is refused with a clear message and exit status 1, and SIGTERM shuts it
 * down gracefully.
 */
class NodeProcessTest {
    private static final Pattern READY = Pattern.compile("flotilla node 1 ready: clients at ([^:]+):(\\d+) .*");

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly().waitFor();
        }
    }

    private Process launch(Path stderr, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), FlotillaNodeMain.class.getName(),
                "--exit-when-stdin-closes"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        processes.add(p);
        return p;
    }

    /** Lines of {@code p}'s stdout, read by a daemon thread. */
    private static BlockingQueue<String> stdout(Process p) {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (java.io.IOException e) {
                // The process ended.
            }
        }, "test-node-stdout");
        t.setDaemon(true);
        t.start();
        return lines;
    }

    @Test
    void theMainServesAfterItsReadyLineRefusesASecondProcessAndStopsOnSigterm() throws Exception {
        int[] ports = TestCluster.freePorts(3);
        String[] args = {"--node-id", "1", "--cluster-id", "9", "--data-dir", dir.resolve("node1").toString(),
                "--initial-cluster", "1=127.0.0.1:" + ports[0] + ":" + ports[1] + ":" + ports[2], "--client-listen", "0",
                "--initial-ranges", "2", "--workers", "1"};
        Path firstErr = dir.resolve("first.err");
        Process first = launch(firstErr, args);
        BlockingQueue<String> out = stdout(first);
        String ready = null;
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); ready == null && first.isAlive()
                && System.nanoTime() < deadline; ) {
            ready = out.poll(100, TimeUnit.MILLISECONDS);
        }
        assertThat(ready).as("ready line; stderr:%n%s", Files.exists(firstErr) ? Files.readString(firstErr) : "").isNotNull();
        Matcher m = READY.matcher(ready);
        assertThat(m.matches()).as(ready).isTrue();
        InetSocketAddress clients = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));

        try (TestKvClient client = new TestKvClient(clients)) {
            RequestHeader.Builder h = RequestHeader.newBuilder().setClusterId(9);
            Response routes = client.call(Request.newBuilder().setHeader(h).setRouteLookup(RouteLookupRequest.getDefaultInstance()));
            assertThat(routes.getRouteLookup().getRangesCount()).isEqualTo(2);
            RangeDescriptor first0 = routes.getRouteLookup().getRanges(0);
            h.setRangeId(first0.getRangeId()).setRangeEpoch(first0.getEpoch());
            ByteString k = ByteString.copyFromUtf8("key");
            // Ready means serving; the range elects its leader meanwhile, so retry NotLeader as a client does.
            Response put = null;
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    (put == null || put.getError().hasNotLeader()) && System.nanoTime() < deadline; ) {
                put = client.call(Request.newBuilder().setHeader(h.clone().setClientId(1).setSequence(1))
                        .setPut(PutRequest.newBuilder().setKey(k).setValue(ByteString.copyFromUtf8("value"))));
            }
            assertThat(put.hasPut()).as("put answered %s", put).isTrue();
            Response get = client.call(Request.newBuilder().setHeader(h).setGet(GetRequest.newBuilder().setKey(k)));
            assertThat(get.getGet().getValue().toStringUtf8()).isEqualTo("value");
        }

        Path secondErr = dir.resolve("second.err");
        Process second = launch(secondErr, args);
        assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(second.exitValue()).isEqualTo(FlotillaNodeMain.EXIT_START_FAILED);
        assertThat(Files.readString(secondErr)).contains("is in use by the node with pid " + first.pid())
                .contains("another Flotilla node is running on it");

        first.destroy();  // SIGTERM
        assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(first.exitValue()).isEqualTo(143);
        assertThat(Files.readString(firstErr)).contains("node 1: shutting down").contains("node 1: stopped in");
    }
}
