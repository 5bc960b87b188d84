package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.wire.MalformedMessageException;
import io.flotilla.wire.MessageBatchCodec;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The simulated network between the nodes of one run: each node's {@link PeerSender}. A batch is
 * encoded with the real wire codec when sent and decoded when it arrives (so no two nodes share a
 * message object), and arrives after a seeded delay, or is lost, delivered twice, or split into
 * single messages that arrive out of order. Partitions put nodes in sides; a batch crosses only
 * within a side, checked when it is sent and when it arrives. A node that is down refuses the
 * connection (send returns false). Owned by the seed's thread.
 */
final class RuntimeSimNetwork {
    /** Frame limit for decoding, as generous as a real transport's. */
    private static final int MAX_BATCH_BYTES = 64 << 20;

    private final RuntimeSimCluster cluster;
    private final RuntimeSimConfig config;
    private final SplittableRandom random;
    /** side[i] for node i + 1: nodes talk only within a side. */
    private final int[] side;
    private boolean lossy = true;
    private long batchesDelivered;

    RuntimeSimNetwork(RuntimeSimCluster cluster, RuntimeSimConfig config, SplittableRandom random) {
        this.cluster = cluster;
        this.config = config;
        this.random = random;
        this.side = new int[config.totalNodes()];
    }

    PeerSender senderOf(long fromNode) {
        return (to, messages) -> send(fromNode, to, messages);
    }

    /** Loss and duplication off (the final quiet period); delays and reordering stay. */
    void stopFaults() {
        lossy = false;
    }

    boolean connected(long a, long b) {
        return side[(int) a - 1] == side[(int) b - 1];
    }

    /** The side of the partition {@code node} is on: 0 or 1 (0 for every node when healed). */
    int side(long node) {
        return side[(int) node - 1];
    }

    boolean partitioned() {
        for (int s : side) {
            if (s != side[0]) {
                return true;
            }
        }
        return false;
    }

    void isolate(long node) {
        Arrays.fill(side, 0);
        side[(int) node - 1] = 1;
    }

    /** Puts each node on side 0 or 1 by {@code sides}' bits (bit i for node i + 1). */
    void split(int sides) {
        for (int i = 0; i < side.length; i++) {
            side[i] = (sides >>> i) & 1;
        }
    }

    void heal() {
        Arrays.fill(side, 0);
    }

    String describeSides() {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s <= 1; s++) {
            b.append(s == 0 ? "{" : " | {");
            boolean first = true;
            for (int i = 0; i < side.length; i++) {
                if (side[i] == s) {
                    b.append(first ? "" : ",").append(i + 1);
                    first = false;
                }
            }
            b.append('}');
        }
        return b.toString();
    }

    long batchesDelivered() {
        return batchesDelivered;
    }

    private boolean send(long from, long to, List<Message> messages) {
        if (to < 1 || to > config.totalNodes() || !cluster.node(to).up()) {
            return false;
        }
        if (!connected(from, to)) {
            return true;
        }
        if (lossy && random.nextInt(1000) < config.lossPermille()) {
            return true;
        }
        try {
            if (messages.size() > 1 && random.nextInt(1000) < config.splitPermille()) {
                for (Message m : messages) {
                    schedule(from, to, MessageBatchCodec.encodeBatch(List.of(m)));
                }
            } else {
                byte[] frame = MessageBatchCodec.encodeBatch(messages);
                schedule(from, to, frame);
                if (lossy && random.nextInt(1000) < config.duplicatePermille()) {
                    schedule(from, to, frame);
                }
            }
        } catch (RuntimeException e) {
            cluster.checker().violation(RuntimeSimChecker.Kind.WIRE_REFUSED, "node " + from + " sent node " + to
                    + " messages the wire codec cannot encode: " + e.getMessage() + "; " + messages);
        }
        return true;
    }

    private void schedule(long from, long to, byte[] frame) {
        long delayNs = 50_000 + random.nextLong(1_500_000);
        if (random.nextInt(1000) < config.slowPermille()) {
            delayNs += random.nextLong(2 * config.tickNs());
        }
        cluster.scheduler().after(delayNs, () -> arrive(from, to, frame));
    }

    private void arrive(long from, long to, byte[] frame) {
        RuntimeSimNode target = cluster.node(to);
        if (!target.up() || !connected(from, to)) {
            return;
        }
        List<Message> messages;
        try {
            messages = MessageBatchCodec.decodeBatch(ByteBuffer.wrap(frame), MAX_BATCH_BYTES);
        } catch (MalformedMessageException e) {
            // The real transport closes the connection on a malformed frame: the batch is lost.
            cluster.checker().violation(RuntimeSimChecker.Kind.WIRE_REFUSED, "node " + to + " refuses a batch from node "
                    + from + ": " + e.getMessage());
            return;
        }
        batchesDelivered++;
        target.deliver(messages);
    }
}
