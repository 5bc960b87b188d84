package io.flotilla.transport.snapshot;

import io.flotilla.transport.TransportTestSupport;
import static org.assertj.core.api.Assertions.fail;

import io.flotilla.transport.proto.Handshake;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;
import java.util.function.Supplier;

/** Helpers for snapshot streaming tests: deadline waits, recording listeners, data, raw frames. Test thread only. */
final class SnapshotTestSupport {
    static final long CLUSTER = 7;
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private SnapshotTestSupport() {
    }

    /** Polls {@code condition} until it holds or the deadline passes; never sleeps a fixed time. */
    static void waitUntil(BooleanSupplier condition, Supplier<String> what) {
        long deadlineNs = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadlineNs > 0) {
                fail("timed out after " + TIMEOUT + " waiting for " + what.get());
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    /** The senders node 2's receiver takes in these tests: nodes 1 and 3 (tests of refusals use others). */
    static final LongPredicate PEERS_OF_2 = node -> node == 1 || node == 3;

    /** Test-friendly timings: fast retries. */
    static SnapshotConfig config(long nodeId) {
        return SnapshotConfig.of(CLUSTER, nodeId, 0).withRetry(10, 100, 50);
    }

    static byte[] randomBytes(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < n; i += 8) {
            long v = random.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    record Sent(long peerNodeId, long groupId, long index, boolean ok) {
    }

    record Received(long groupId, long index, long term) {
    }

    /** Records the sender's reports; written on its I/O thread, read by the test. */
    static final class SentRecorder implements SnapshotSender.Listener {
        final Queue<Sent> reports = new ConcurrentLinkedQueue<>();

        @Override
        public void onSnapshotSent(long peerNodeId, long groupId, long index, boolean ok) {
            reports.add(new Sent(peerNodeId, groupId, index, ok));
        }

        int count() {
            return reports.size();
        }

        List<Sent> list() {
            return new ArrayList<>(reports);
        }
    }

    /** Records the receiver's reports; written on its I/O thread, read by the test. */
    static final class ReceivedRecorder implements SnapshotReceiver.Listener {
        final Queue<Received> reports = new ConcurrentLinkedQueue<>();

        @Override
        public void onSnapshotReceived(long groupId, long index, long term) {
            reports.add(new Received(groupId, index, term));
        }

        int count() {
            return reports.size();
        }

        List<Received> list() {
            return new ArrayList<>(reports);
        }
    }

    // ---------------------------------------------------------------- raw frames

    static byte[] handshake(long cluster, long from, long to, int version) {
        return TransportTestSupport.frame(SnapshotFrame.newBuilder().setHandshake(Handshake.newBuilder().setClusterId(cluster)
                .setSenderNodeId(from).setReceiverNodeId(to).setProtocolVersion(version)).build().toByteArray());
    }
}
