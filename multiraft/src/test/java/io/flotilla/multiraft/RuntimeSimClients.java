package io.flotilla.multiraft;

import io.flotilla.check.Operation;
import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The runtime simulation's workload: a few clients, each with one register operation at a time
 * (read through {@link MultiRaftNode#read} and served from that node's state machine, write of a
 * unique value, or compare-and-set) on a few keys per group, recorded as a history for the
 * linearizability checker. A client follows leader hints and retries definite refusals (the
 * command never applied) with a new attempt, and gives up at the operation's deadline: a write
 * or CAS whose outcome it never learned is recorded as unknown, and the client continues under a
 * new id (it may still take effect). Reads retry freely: they change nothing. Owned by the seed's thread.
 */
final class RuntimeSimClients implements RuntimeSimWorkload {
    /** An operation gives up after this many election timeouts. */
    private static final int OP_DEADLINE_ELECTION_TIMEOUTS = 6;
    /** A read attempt that has not been answered after this many is retried elsewhere (the first may still answer). */
    private static final int READ_RETRY_ELECTION_TIMEOUTS = 2;
    /** With snapshots, each command carries this much padding, so logs span many small segments and purge has work. */
    private static final int SNAPSHOT_PAD_BYTES = 256;

    private enum OpKind { READ, WRITE, CAS }

    private static final class Client {
        int historyId;
        final Map<Long, Long> leaderHints = new HashMap<>();

        Client(int historyId) {
            this.historyId = historyId;
        }
    }

    private static final class Op {
        final OpKind kind;
        final long groupId;
        final String key;
        final String expected;
        final String value;
        final long callNs;
        final long deadlineNs;
        final boolean finalRead;
        /** Proposal attempts made; any unanswered one may still apply. */
        final List<Call> attempts = new ArrayList<>();
        /** The read attempt the client waits for now. */
        Call currentRead;
        /** Node to try next (a leader hint), 0: the client picks. */
        long via;
        boolean done;
        boolean outcomeUnknown;

        Op(OpKind kind, long groupId, String key, String expected, String value, long callNs, long deadlineNs, boolean finalRead) {
            this.kind = kind;
            this.groupId = groupId;
            this.key = key;
            this.expected = expected;
            this.value = value;
            this.callNs = callNs;
            this.deadlineNs = deadlineNs;
            this.finalRead = finalRead;
        }
    }

    private final RuntimeSimCluster cluster;
    private final RuntimeSimConfig config;
    private final SplittableRandom random;
    private final List<Operation> history = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    /** Last value each key was seen to hold or be written with: what a CAS expects. */
    private final Map<String, String> lastSeen = new HashMap<>();
    private int nextHistoryId;
    private long nextValue;
    private long nextAttemptId;
    private long unknownOps;
    private int finalReadsPending;

    RuntimeSimClients(RuntimeSimCluster cluster, RuntimeSimConfig config, SplittableRandom random) {
        this.cluster = cluster;
        this.config = config;
        this.random = random;
    }

    static String key(int groupIndex, int k) {
        return "g" + groupIndex + "-k" + k;
    }

    @Override
    public List<Operation> history() {
        return history;
    }

    @Override
    public long unknownOps() {
        return unknownOps;
    }

    @Override
    public void start() {
        for (int c = 0; c < config.clients(); c++) {
            Client client = new Client(nextHistoryId++);
            clients.add(client);
            cluster.scheduler().after(random.nextLong(10_000_000), () -> nextOp(client));
        }
    }

    private long now() {
        return cluster.scheduler().nowNs();
    }

    private void nextOp(Client c) {
        if (now() >= config.runNs()) {
            return;
        }
        int groupIndex = random.nextInt(config.groupIds().length);
        if (config.snapshots() && groupIndex == 0 && config.groupIds().length > 1 && now() >= config.runNs() / 4) {
            // With snapshots the first group goes cold after a quarter of the run: its old records
            // pin early log segments, so purge must rewrite them forward.
            groupIndex = 1 + random.nextInt(config.groupIds().length - 1);
        }
        long groupId = config.groupIds()[groupIndex];
        String key = key(groupIndex, random.nextInt(config.keysPerGroup()));
        int dice = random.nextInt(10);
        OpKind kind = dice < 4 ? OpKind.READ : dice < 8 ? OpKind.WRITE : OpKind.CAS;
        String value = kind == OpKind.READ ? null : "v" + nextValue++;
        String expected = kind == OpKind.CAS && random.nextInt(4) != 0 ? lastSeen.get(key) : null;
        long deadline = now() + OP_DEADLINE_ELECTION_TIMEOUTS * config.electionTimeoutNs();
        Op op = new Op(kind, groupId, key, expected, value, now(), deadline, false);
        cluster.scheduler().after(deadline - now(), () -> deadline(c, op));
        attempt(c, op);
    }

    /** After the final quiet period: one read of every register, which must succeed. */
    @Override
    public void finalReads(long deadlineNs) {
        for (int g = 0; g < config.groupIds().length; g++) {
            for (int k = 0; k < config.keysPerGroup(); k++) {
                Client c = new Client(nextHistoryId++);
                Op op = new Op(OpKind.READ, config.groupIds()[g], key(g, k), null, null, now(), deadlineNs, true);
                finalReadsPending++;
                cluster.scheduler().after(deadlineNs - now(), () -> deadline(c, op));
                attempt(c, op);
            }
        }
    }

    @Override
    public boolean finalReadsDone() {
        return finalReadsPending == 0;
    }

    private long pickNode(Client c, Op op) {
        if (op.via > 0 && op.via <= config.totalNodes()) {
            long via = op.via;
            op.via = 0;
            return via;
        }
        Long hint = c.leaderHints.get(op.groupId);
        if (hint != null && random.nextInt(10) < 7) {
            return hint;
        }
        return 1 + random.nextInt(config.totalNodes());
    }

    /** A client backs off a little before it tries again, more when nobody could name a leader. */
    private void retryLater(Client c, Op op) {
        long backoffNs = op.via > 0 ? 500_000 + random.nextLong(2_000_000) : 2_000_000 + random.nextLong(10_000_000);
        cluster.scheduler().after(backoffNs, () -> attempt(c, op));
    }

    private void attempt(Client c, Op op) {
        if (op.done || now() >= op.deadlineNs) {
            return;
        }
        long via = pickNode(c, op);
        RuntimeSimNode n = cluster.node(via);
        if (!n.up()) {
            // Connection refused: nothing was sent.
            c.leaderHints.remove(op.groupId);
            retryLater(c, op);
            return;
        }
        if (op.kind == OpKind.READ) {
            Call call = cluster.checker().newCall(CallKind.READ, via, n.incarnation(), op.groupId, 0);
            op.currentRead = call;
            n.node().read(op.groupId, cluster.readListener(call, n.registers(), op.key,
                    (answer, number, captured) -> onRead(c, op, call, answer, (String) captured)));
            cluster.scheduler().after(READ_RETRY_ELECTION_TIMEOUTS * config.electionTimeoutNs(), () -> {
                if (!op.done && op.currentRead == call) {
                    attempt(c, op);
                }
            });
            return;
        }
        long attemptId = ++nextAttemptId;
        byte kind = op.kind == OpKind.WRITE ? RuntimeSimRegisters.WRITE : RuntimeSimRegisters.CAS;
        byte[] command = RuntimeSimRegisters.encode(kind, attemptId, op.key, op.expected, op.value,
                config.snapshots() ? SNAPSHOT_PAD_BYTES : 0);
        Call call = cluster.checker().newCall(CallKind.PROPOSE, via, n.incarnation(), op.groupId, attemptId);
        op.attempts.add(call);
        n.node().propose(op.groupId, command, cluster.proposalListener(call, n.registers(), op.kind == OpKind.CAS,
                (answer, number, captured) -> onProposal(c, op, call, answer, number,
                        captured instanceof Boolean swapped ? swapped : null)));
    }

    private void onRead(Client c, Op op, Call call, RuntimeSimCluster.Answer answer, String value) {
        if (op.done) {
            return;
        }
        if (answer == RuntimeSimCluster.Answer.READABLE) {
            op.done = true;
            c.leaderHints.put(op.groupId, call.node);
            lastSeen.put(op.key, value);
            history.add(Operation.read(c.historyId, op.key, value, op.callNs, now()));
            cluster.checker().trace("client " + c.historyId + " read " + op.key + " = " + value + " via node " + call.node
                    + (op.finalRead ? " (final)" : ""));
            finished(c, op);
            return;
        }
        if (op.currentRead == call) {
            op.currentRead = null;
            retryLater(c, op);
        }
    }

    private void onProposal(Client c, Op op, Call call, RuntimeSimCluster.Answer answer, long number, Boolean swapped) {
        if (op.done) {
            return;
        }
        switch (answer) {
            case APPLIED -> {
                op.done = true;
                c.leaderHints.put(op.groupId, call.node);
                if (op.kind == OpKind.WRITE) {
                    history.add(Operation.write(c.historyId, op.key, op.value, op.callNs, now()));
                    lastSeen.put(op.key, op.value);
                } else {
                    boolean didSwap = swapped != null && swapped;
                    history.add(Operation.cas(c.historyId, op.key, op.expected, op.value, didSwap, op.callNs, now()));
                    if (didSwap) {
                        lastSeen.put(op.key, op.value);
                    }
                }
                cluster.checker().trace("client " + c.historyId + " " + op.kind + " " + op.key + " := " + op.value
                        + (op.kind == OpKind.CAS ? " if " + op.expected + (Boolean.TRUE.equals(swapped) ? " swapped" : " failed") : "")
                        + " applied at " + number + " via node " + call.node + " (attempt " + call.attemptId + ")");
                finished(c, op);
            }
            case REFUSED, BUSY -> {
                cluster.checker().trace("client " + c.historyId + " " + op.kind + " " + op.key + " := " + op.value + " attempt "
                        + call.attemptId + " via node " + call.node + ": " + call.firstAnswer);
                op.via = answer == RuntimeSimCluster.Answer.REFUSED ? number : 0;
                if (number > 0) {
                    c.leaderHints.put(op.groupId, number);
                } else {
                    c.leaderHints.remove(op.groupId);
                }
                retryLater(c, op);
            }
            default -> {
                // Outcome unknown: it may or may not apply. Give up on the operation now.
                op.outcomeUnknown = true;
                giveUp(c, op);
            }
        }
    }

    private void deadline(Client c, Op op) {
        if (op.done) {
            return;
        }
        giveUp(c, op);
    }

    private void giveUp(Client c, Op op) {
        op.done = true;
        if (op.kind == OpKind.READ) {
            if (op.finalRead) {
                cluster.checker().violation(RuntimeSimChecker.Kind.FINAL_READ_FAILED, "no read of " + op.key + " in group "
                        + op.groupId + " succeeded within " + RuntimeSimChecker.ms(op.deadlineNs - op.callNs) + " after the quiet period");
            }
            finished(c, op);
            return;
        }
        boolean mayApply = op.outcomeUnknown;
        for (Call a : op.attempts) {
            mayApply |= a.answers == 0;
        }
        if (mayApply) {
            unknownOps++;
            history.add(op.kind == OpKind.WRITE ? Operation.unknownWrite(c.historyId, op.key, op.value, op.callNs)
                    : Operation.unknownCas(c.historyId, op.key, op.expected, op.value, op.callNs));
            cluster.checker().trace("client " + c.historyId + " gives up on " + op.kind + " " + op.key + " := " + op.value
                    + " (outcome unknown)");
            // It may still take effect at any time: the client continues as a new one (Jepsen's rule).
            c.historyId = nextHistoryId++;
        }
        finished(c, op);
    }

    private void finished(Client c, Op op) {
        if (op.finalRead) {
            finalReadsPending--;
            return;
        }
        cluster.scheduler().after(random.nextLong(20_000_000), () -> nextOp(c));
    }
}
