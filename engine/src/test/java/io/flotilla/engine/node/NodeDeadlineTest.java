package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that has lost its quorum still answers every request by the request's deadline, with an
 * error that says what to do: reads Unavailable (or NotLeader), writes Timeout, NotLeader or
 * Unavailable — never silence, never a success. (KvServiceDeadlineTest checks the deadline itself,
 * against a runtime that never answers.)
 */
class NodeDeadlineTest {
    /**
     * Room for scheduling on a loaded 2-core machine (several builds at once put the load at 8 and
     * delay a thread by tens of milliseconds); what the test guards is an answer in the order of the
     * deadline, not after the runtime's own timeouts or never.
     */
    private static final long SLACK_MS = 1_000;

    @TempDir
    Path dir;

    @Test
    void withoutAQuorumEveryRequestIsAnsweredByItsDeadline() throws Exception {
        try (TestCluster cluster = new TestCluster(dir).startAll()) {
            ByteString k = ByteString.copyFromUtf8("hazel");
            RangeDescriptor range = cluster.rangeOf(k);
            cluster.awaitLeader(range.getRangeId());
            cluster.stop(2);
            cluster.stop(3);
            // Node 1 alone: whether its replica still believes it leads (a quiescent leader only finds
            // out it lost its quorum once a request wakes it) or follows a leader that is gone, no read
            // point can be confirmed and no write can commit; the service's deadline answers them.
            try (TestKvClient client = new TestKvClient(cluster.clientAddress(1))) {
                long startNs = System.nanoTime();
                Response read = client.call(Request.newBuilder().setHeader(cluster.header(range).setTimeoutMs(100))
                        .setGet(GetRequest.newBuilder().setKey(k)));
                long readMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                Error e = read.getError();
                assertThat(e.hasUnavailable() || e.hasNotLeader()).as("read answered %s", read).isTrue();
                assertThat(readMs).as("read answered after %d ms", readMs).isLessThan(100 + SLACK_MS);

                startNs = System.nanoTime();
                Response write = client.call(Request.newBuilder()
                        .setHeader(cluster.header(range).setTimeoutMs(300).setClientId(4).setSequence(1))
                        .setPut(PutRequest.newBuilder().setKey(k).setValue(k)));
                long writeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                Error w = write.getError();
                assertThat(w.hasTimeout() || w.hasNotLeader() || w.hasUnavailable()).as("write answered %s", write).isTrue();
                assertThat(writeMs).as("write answered after %d ms", writeMs).isLessThan(300 + SLACK_MS);
            }
        }
    }
}
