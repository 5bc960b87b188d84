package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node serves Prometheus metrics over HTTP, and they move with the work it does. */
class NodeMetricsTest {
    @TempDir
    Path dir;

    private static String scrape(int port) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    /** {@link #scrape} for a condition polled by {@link TestCluster#await}: a failure to scrape fails the test. */
    private static String scrapeInAwait(int port) {
        try {
            return scrape(port);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The value of the sample whose name and labels are exactly {@code series}. */
    private static double value(String metrics, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(metrics);
        assertThat(m.find()).as("series %s in\n%s", series, metrics).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void servesTheLogTheRequestsAndTheRangesAsTheyChange() throws Exception {
        int[] port = TestCluster.freePorts(1);
        try (TestCluster cluster = new TestCluster(dir)) {
            cluster.start(2);
            cluster.start(3);
            FlotillaNode one = FlotillaNode.start(cluster.config(1).withMetricsListen(new InetSocketAddress("127.0.0.1", port[0])));
            try (FlotillaClient client = FlotillaClient.builder()
                    .seeds("127.0.0.1:" + one.clientAddress().getPort()).clusterId(TestCluster.CLUSTER_ID)
                    .requestTimeout(Duration.ofSeconds(15)).build()) {
                String before = scrape(port[0]);
                assertThat(value(before, "flotilla_ranges")).isEqualTo(TestCluster.RANGES);
                assertThat(value(before, "flotilla_meta_replica")).isEqualTo(1);
                for (int i = 0; i < 20; i++) {
                    client.sync().put("k" + i, "v");
                }
                // The client sends writes to each range's leader, which need not be node 1: send one
                // to node 1 for every range, answered there either way (applied, or NotLeader).
                try (TestKvClient direct = new TestKvClient(one.clientAddress())) {
                    for (RangeDescriptor range : one.stateMachine().ranges()) {
                        direct.call(Request.newBuilder().setHeader(cluster.header(range).setClientId(7).setSequence(1))
                                .setPut(PutRequest.newBuilder().setKey(range.getStartKey()).setValue(ByteString.copyFromUtf8("v"))));
                    }
                }
                // Node 1 may lead none of the ranges the writes went to, and a write is acknowledged once
                // two replicas hold it: node 1's copies can land after the acknowledgements.
                TestCluster.await(10_000, "node 1's log counting the writes' entries", () -> {
                    String now = scrapeInAwait(port[0]);
                    return value(now, "flotilla_log_fsyncs_total") > value(before, "flotilla_log_fsyncs_total")
                            && value(now, "flotilla_log_entries_total") > value(before, "flotilla_log_entries_total");
                });
                String after = scrape(port[0]);
                assertThat(value(after, "flotilla_peer_flushes_total")).isPositive();
                assertThat(value(after, "flotilla_request_seconds_count{kind=\"write\"}")).isGreaterThanOrEqualTo(TestCluster.RANGES);
                assertThat(after).contains("flotilla_apply_lag_entries{stat=\"max\"}");
                // The log's latencies: each fsync is observed, and the group commits that contain them.
                double fsyncs = value(after, "flotilla_log_fsync_seconds_count") - value(before, "flotilla_log_fsync_seconds_count");
                assertThat(fsyncs).isPositive();
                assertThat(value(after, "flotilla_log_commit_seconds_count")).isGreaterThanOrEqualTo(value(after, "flotilla_log_fsync_seconds_count"));
                assertThat(value(after, "flotilla_log_entries_per_fsync_count")).isEqualTo(value(after, "flotilla_log_fsync_seconds_count"));
                assertThat(value(after, "flotilla_log_entries_per_fsync_sum")).isPositive();
                assertThat(value(after, "flotilla_request_errors_total{error=\"BUSY\"}")).isZero();
                assertThat(value(after, "flotilla_snapshot_send_seconds_count")).isZero();
                assertThat(value(after, "flotilla_snapshot_installed_bytes_total")).isZero();
                assertThat(value(after, "flotilla_replica_moves_total")).isZero();

                client.splitRange("m".getBytes(StandardCharsets.UTF_8)).join();
                TestCluster.await(10_000, "the split counted", () -> {
                    String now = scrapeInAwait(port[0]);
                    return value(now, "flotilla_splits_total") == 1 && value(now, "flotilla_ranges") == TestCluster.RANGES + 1;
                });
            } finally {
                one.close();
            }
        }
    }
}
