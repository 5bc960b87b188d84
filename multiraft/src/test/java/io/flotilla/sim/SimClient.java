package io.flotilla.sim;

import io.flotilla.check.OpKind;
import io.flotilla.check.Operation;
import io.flotilla.raft.ProposeResult;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * One client of one group. It runs one operation at a time on the keys {@code g<group>-k0..k2}:
 * reads through a read index on any replica, writes and compare-and-sets proposed to the replica it
 * believes leads. It retries definite refusals elsewhere, proposes a slow write again under the same
 * (clientId, seq) — the state machine applies it once — and after {@link SimConfig#opTimeoutUs()}
 * records a write as unknown (a read is dropped). Owned by the single thread that runs the seed.
 */
final class SimClient {
    private static final int KEYS = 3;

    final int clientId;
    final int groupId;
    private final SimCluster cluster;
    private final SimWorkload workload;
    private final SplittableRandom random;
    private long seq;
    private SimOp current;
    /** The node this client believes leads its group; 0 if it has no idea. */
    private int leaderHint;
    /** The last value this client knows each key held, for plausible CAS expectations. */
    private final TreeMap<String, String> lastSeen = new TreeMap<>();

    SimClient(SimCluster cluster, SimWorkload workload, SplittableRandom random, int clientId, int groupId) {
        this.cluster = cluster;
        this.workload = workload;
        this.random = random;
        this.clientId = clientId;
        this.groupId = groupId;
    }

    boolean busy() {
        return current != null && !current.done;
    }

    void start() {
        cluster.scheduler().after(random.nextLong(5 * SimConfig.MS), this::nextOp);
    }

    private void nextOp() {
        if (!workload.issuing()) {
            return;
        }
        seq++;
        int dice = random.nextInt(10);
        OpKind kind = dice < 4 ? OpKind.READ : dice < 8 ? OpKind.WRITE : OpKind.CAS;
        String key = "g" + groupId + "-k" + random.nextInt(KEYS);
        String value = kind == OpKind.READ ? null : "c" + clientId + "-" + seq;
        String expected = kind == OpKind.CAS && random.nextInt(4) != 0 ? lastSeen.get(key) : null;
        SimOp op = new SimOp(this, kind, seq, key, expected, value, cluster.scheduler().nowUs());
        current = op;
        cluster.scheduler().after(cluster.config().opTimeoutUs(), () -> timeout(op));
        attempt(op, chooseNode(kind == OpKind.READ && random.nextInt(3) == 0));
    }

    /** The hinted leader, or any node when there is no hint or {@code anyNode}. */
    private int chooseNode(boolean anyNode) {
        if (leaderHint != 0 && !anyNode) {
            return leaderHint;
        }
        return 1 + random.nextInt(cluster.config().nodeCount());
    }

    private int otherNode(int notThis) {
        int n = 1 + random.nextInt(cluster.config().nodeCount() - 1);
        return n >= notThis ? n + 1 : n;
    }

    private void attempt(SimOp op, int nodeId) {
        if (op.done) {
            return;
        }
        int attempt = ++op.attempts;
        SimReplica replica = cluster.replica(nodeId, groupId);
        if (!replica.isUp()) {
            // A connection refused: a definite failure.
            leaderHint = 0;
            retrySoon(op, otherNode(nodeId));
            return;
        }
        if (op.kind == OpKind.READ) {
            op.readRequestId = cluster.nextRequestId();
            replica.readIndex(op.readRequestId, op);
            cluster.scheduler().after(cluster.config().readRetryAfterUs(), () -> {
                if (!op.done && op.attempts == attempt) {
                    attempt(op, otherNode(nodeId));
                }
            });
            return;
        }
        ProposeResult result = replica.propose(op.command(), op);
        if (result == ProposeResult.ACCEPTED) {
            leaderHint = nodeId;
            cluster.scheduler().after(cluster.config().reproposeAfterUs(), () -> {
                if (!op.done && op.attempts == attempt) {
                    int hint = (int) replica.hintOrZero();
                    attempt(op, hint != 0 && hint != nodeId ? hint : otherNode(nodeId));
                }
            });
            return;
        }
        long hint = replica.raft().leader();
        leaderHint = hint != 0 && hint != nodeId ? (int) hint : 0;
        retrySoon(op, leaderHint != 0 ? leaderHint : otherNode(nodeId));
    }

    private void retrySoon(SimOp op, int nodeId) {
        int attempt = op.attempts;
        cluster.scheduler().after(SimConfig.MS + random.nextLong(4 * SimConfig.MS), () -> {
            if (!op.done && op.attempts == attempt) {
                attempt(op, nodeId);
            }
        });
    }

    /** A replica this client proposed to applied {@code op} (or had applied it already). */
    void onCommandApplied(SimOp op, boolean swapped) {
        if (op.done) {
            return;
        }
        long now = cluster.scheduler().nowUs();
        if (op.kind == OpKind.WRITE) {
            workload.record(groupId, Operation.write(clientId, op.key, op.value, op.callTimeUs, now));
        } else {
            workload.record(groupId, Operation.cas(clientId, op.key, op.expected, op.value, swapped, op.callTimeUs, now));
        }
        if (swapped) {
            lastSeen.put(op.key, op.value);
        }
        finish(op);
    }

    void onReadServed(SimOp op, String observed) {
        if (op.done) {
            return;
        }
        workload.record(groupId, Operation.read(clientId, op.key, observed, op.callTimeUs, cluster.scheduler().nowUs()));
        if (observed != null) {
            lastSeen.put(op.key, observed);
        } else {
            lastSeen.remove(op.key);
        }
        finish(op);
    }

    /** The read-index request {@code requestId} failed (no leader, or leadership lost): retry. */
    void onReadRefused(SimOp op, long requestId) {
        if (op.done || op.readRequestId != requestId) {
            return;
        }
        leaderHint = 0;
        int attempt = op.attempts;
        cluster.scheduler().after(SimConfig.MS + random.nextLong(4 * SimConfig.MS), () -> {
            if (!op.done && op.attempts == attempt) {
                attempt(op, chooseNode(true));
            }
        });
    }

    private void timeout(SimOp op) {
        if (op.done) {
            return;
        }
        if (op.kind == OpKind.WRITE) {
            workload.recordUnknown(groupId, Operation.unknownWrite(clientId, op.key, op.value, op.callTimeUs));
        } else if (op.kind == OpKind.CAS) {
            workload.recordUnknown(groupId, Operation.unknownCas(clientId, op.key, op.expected, op.value, op.callTimeUs));
        }
        // A read that timed out observed nothing: it is dropped from the history.
        leaderHint = 0;
        finish(op);
    }

    private void finish(SimOp op) {
        op.done = true;
        cluster.scheduler().after(random.nextLong(3 * SimConfig.MS), this::nextOp);
    }
}
