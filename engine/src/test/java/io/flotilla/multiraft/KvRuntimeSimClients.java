package io.flotilla.multiraft;

import com.google.protobuf.ByteString;
import io.flotilla.check.Operation;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteRequest;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.WriteOp;
import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import io.flotilla.multiraft.RuntimeSimChecker.Kind;
import io.flotilla.router.KeySpace;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The key-value runtime simulation's clients, which behave as the real client does: each has a
 * random client id and sequence numbers from 1 across all ranges (a write keeps its sequence when
 * a split moves its key), and the lowest unacknowledged one that every write carries; a write that
 * is refused, busy, of unknown outcome or unanswered is sent again with the same (client id,
 * sequence), to the leader it was pointed to or another replica, until its deadline; a write given
 * up on releases its sequence (the client never sends it again). Each client routes by key through
 * its own route cache ({@link KvRuntimeSimRoutes}) and sends the epoch it routed by; an answer
 * EpochMismatch, or a node that holds no such range (the service's RangeNotFound), makes it look
 * the key up again on a replica and retry, so a retried write may reach the range a split made
 * and must be answered there as it was first applied. Reads go through the runtime's
 * {@link MultiRaftNode#read} and are served by {@link KvStateMachine#getOnWorker}, checked against
 * the epoch they routed by. The operations: puts, deletes and compare-and-sets of a few shared
 * registers per range, atomic batches over two of them (with a condition, or without), appends to
 * a list only the client writes (a CAS from the list it knows to the list plus a unique token), and
 * requests the range must refuse without changing anything (over a limit, a stale epoch, a key of
 * another range, a command that does not decode). Every written value is unique.
 *
 * <p>Checked here: a retried write's answers agree (a CAS or batch that failed must not find its
 * own value, an append must not find its own token), every answer is one the request can have,
 * and at the end every acknowledged append is in its list exactly once, in order, and no append
 * answered as failed is. Registers and lists go into the history for the linearizability checker;
 * a write whose outcome the client never learned is an unknown-outcome operation, after which the
 * client continues under a new history id (its client id stays, as the real client's does). A
 * client whose session expired continues with a new client id. Owned by the seed's thread.
 */
final class KvRuntimeSimClients implements RuntimeSimWorkload {
    private static final int OP_DEADLINE_ELECTION_TIMEOUTS = 6;
    /** A request unanswered for this many election timeouts is sent again elsewhere (the first may still answer). */
    private static final int RESEND_ELECTION_TIMEOUTS = 2;
    /** A list longer than this starts a new one, so values stay within the limits. */
    private static final int LIST_ROLL_BYTES = 100;
    /** Node clocks differ by up to this much each way: proposed_at_ms is the proposing node's clock. */
    private static final int CLOCK_SKEW_MS = 50;

    private enum OpKind { READ, PUT, DELETE, CAS, BATCH, APPEND, TOO_LARGE, STALE_EPOCH, WRONG_RANGE, MALFORMED }

    /** The sequences of one client, for all ranges, as the real client's session tracker keeps them. */
    private static final class Session {
        long nextSequence = 1;
        final TreeSet<Long> unacked = new TreeSet<>();
        /** Ranges that answered one of this client's writes with its applied result: they hold (or held) the session. */
        final Set<Long> established = new HashSet<>();

        long begin() {
            unacked.add(nextSequence);
            return nextSequence++;
        }

        long firstUnacked() {
            return unacked.isEmpty() ? nextSequence : unacked.first();
        }
    }

    /** A list only one client appends to: its key, what the client knows it holds, and the fate of each token. */
    private static final class ListState {
        final int rangeIndex;
        final String label;
        /** What the client believes the list holds (null: absent); meaningless while {@code !known}. */
        String value;
        boolean known = true;
        final List<String> acknowledged = new ArrayList<>();
        final List<String> refused = new ArrayList<>();
        /** Read after the quiet period; null until then. */
        String finalValue;
        boolean finalRead;

        ListState(int rangeIndex, String label) {
            this.rangeIndex = rangeIndex;
            this.label = label;
        }
    }

    private static final class Client {
        long clientId;
        int historyId;
        final Map<Long, Long> leaderHints = new HashMap<>();
        Session session = new Session();
        KvRuntimeSimRoutes routes;
        final Map<Integer, ListState> lists = new HashMap<>();
    }

    private static final class Op {
        final OpKind kind;
        final int rangeIndex;
        /** The range it was last routed to, and by which epoch (0 before the first attempt). */
        long groupId;
        long epoch;
        /** History key (register or list label). */
        final String label;
        final String expected;
        final String value;
        /** BATCH: the second register and its value. */
        String label2;
        String value2;
        boolean conditional;
        ListState list;
        String token;
        long sequence;
        final long callNs;
        final long deadlineNs;
        boolean finalRead;
        final List<Call> attempts = new ArrayList<>();
        Call currentRead;
        long via;
        boolean done;
        /** An attempt was answered onOutcomeUnknown: it may apply. */
        boolean maybeApplied;
        /** The first non-error result an attempt applied with; every other attempt that applies must agree. */
        WriteResult result;
        long lastProposedAtMs = -1;

        Op(OpKind kind, int rangeIndex, String label, String expected, String value, long callNs, long deadlineNs) {
            this.kind = kind;
            this.rangeIndex = rangeIndex;
            this.label = label;
            this.expected = expected;
            this.value = value;
            this.callNs = callNs;
            this.deadlineNs = deadlineNs;
        }

        boolean bad() {
            return kind.ordinal() >= OpKind.TOO_LARGE.ordinal();
        }
    }

    private final RuntimeSimCluster cluster;
    private final RuntimeSimConfig config;
    private final KvRuntimeSimApplication app;
    private final SplittableRandom random;
    private final List<Operation> history = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final List<ListState> lists = new ArrayList<>();
    private final Map<String, String> lastSeen = new HashMap<>();
    /** The bytes of every proposal attempt → its attempt id, so applied entries can be told apart. */
    private final Map<ByteBuffer, Long> attempts = new HashMap<>();
    /** Attempt id → the range and index it first applied at (on any replica). */
    private final Map<Long, long[]> appliedAt = new HashMap<>();
    /** The value of each write in progress → its op (for {@link #firstWritten}). */
    private final Map<ByteString, Op> inFlight = new HashMap<>();
    /** Attempt id → the epoch it was routed by. */
    private final Map<Long, Long> epochSent = new HashMap<>();
    private final long[] clockSkewMs;
    private int nextHistoryId;
    private long nextValue;
    private long nextAttemptId;
    private long unknownOps;
    private int finalReadsPending;
    long retries;
    long sessionsExpired;
    long refusedAsExpected;
    /** Busy answers from the state machine (a full session table, too many unacknowledged writes): retried. */
    long busyAnswers;
    /** Reads issued with {@code leaseRead} (a leader holding its lease answers them without a heartbeat round). */
    long leaseReads;
    /** Retries answered from the session: another attempt of the same write had applied at a lower index. */
    long answeredFromSession;
    /** Writes answered by another range than the one that wrote their value: a range a split made, from the sessions it copied. */
    long answeredAcrossSplit;
    /** Answers EpochMismatch (a split changed the range the client routed by): routed again. */
    long rerouted;
    /** Route lookups on a replica. */
    long lookups;
    /** Requests to a node that holds no such range (the service's RangeNotFound): looked up again and retried. */
    long rangeNotFound;
    /** Keys not read at the end: their range has no quorum of replicas, its others never having applied its split (see {@link KvRuntimeSimSplits#stranded}). */
    long strandedKeys;
    /** Batches given up on unapplied because a split had put their two keys in different ranges. */
    long batchesSplitApart;

    KvRuntimeSimClients(RuntimeSimCluster cluster, KvRuntimeSimApplication app, SplittableRandom random) {
        this.cluster = cluster;
        this.config = cluster.config();
        this.app = app;
        this.random = random;
        this.clockSkewMs = new long[config.totalNodes() + 1];
        for (int n = 1; n <= config.totalNodes(); n++) {
            clockSkewMs[n] = random.nextLong(2 * CLOCK_SKEW_MS + 1) - CLOCK_SKEW_MS;
        }
    }

    @Override
    public List<Operation> history() {
        return history;
    }

    @Override
    public long unknownOps() {
        return unknownOps;
    }

    /** The attempt whose command is {@code data}, or 0 (a no-op, a conf change); notes where it applied. */
    long attemptOf(byte[] data, long groupId, long index) {
        Long id = data.length == 0 ? null : attempts.get(ByteBuffer.wrap(data));
        if (id == null) {
            return 0;
        }
        appliedAt.putIfAbsent(id, new long[] {groupId, index});
        return id;
    }

    /**
     * A split was acknowledged: each client learns of it with a coin's chance, as a real client's
     * route cache would from another of its requests in flight (they share it), so a retry in
     * progress may go to the new range next.
     */
    void splitSeen(RangeDescriptor left, RangeDescriptor right) {
        for (Client c : clients) {
            if (random.nextBoolean()) {
                c.routes.learn(left);
                c.routes.learn(right);
            }
        }
    }

    /**
     * A replica wrote {@code value} for the first time, in {@code groupId}. If its write's client
     * will not hear of it — the attempt's outcome is unknown, or the node it went to is gone — a
     * split at its key may follow ({@link KvRuntimeSimSplits#splitAtWriteInDoubt}), so that the
     * client's retry may reach the new range.
     */
    void firstWritten(ByteString value, long groupId) {
        Op op = inFlight.get(value);
        if (op == null || op.done || op.attempts.isEmpty() || app.splits() == null) {
            return;
        }
        Call last = op.attempts.get(op.attempts.size() - 1);
        RuntimeSimNode proposer = cluster.node(last.node);
        boolean answerLost = op.maybeApplied || !proposer.live() || proposer.incarnation() != last.incarnation;
        if (answerLost) {
            app.splits().splitAtWriteInDoubt(key(op.rangeIndex, op.label));
        }
    }

    /** A new attempt id for a proposal of another part of the simulation (a split), so the checker can tell it apart. */
    long registerAttempt(byte[] command) {
        long attemptId = ++nextAttemptId;
        attempts.put(ByteBuffer.wrap(command), attemptId);
        return attemptId;
    }

    private long now() {
        return cluster.scheduler().nowNs();
    }

    private static String registerLabel(int rangeIndex, int k) {
        return "g" + rangeIndex + "-k" + k;
    }

    /** The key of {@code label} in range {@code rangeIndex}: the range's first two bytes, then the label. */
    private ByteString key(int rangeIndex, String label) {
        RangeDescriptor range = app.ranges().get(rangeIndex);
        ByteString prefix = range.getStartKey().isEmpty() ? ByteString.copyFrom(new byte[] {0, 0}) : range.getStartKey();
        return prefix.concat(ByteString.copyFromUtf8(label));
    }

    private static ByteString bytes(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private Client newClient() {
        Client c = new Client();
        c.clientId = randomClientId();
        c.historyId = nextHistoryId++;
        c.routes = new KvRuntimeSimRoutes(app.ranges());
        return c;
    }

    private long randomClientId() {
        long id;
        do {
            id = random.nextLong();
        } while (id == 0);
        return id;
    }

    @Override
    public void start() {
        for (int i = 0; i < config.clients(); i++) {
            Client c = newClient();
            clients.add(c);
            cluster.scheduler().after(random.nextLong(10_000_000), () -> nextOp(c));
        }
        if (app.splits() != null) {
            app.splits().start();
        }
        if (app.moves() != null) {
            app.moves().start();
        }
    }

    // ---------------------------------------------------------------- choosing operations

    private void nextOp(Client c) {
        if (now() >= config.runNs()) {
            return;
        }
        int rangeIndex = random.nextInt(config.groupIds().length);
        if (config.snapshots() && rangeIndex == 0 && config.groupIds().length > 1 && now() >= config.runNs() / 4) {
            // As in the register simulation: the first range goes cold, so purge must rewrite its records forward.
            rangeIndex = 1 + random.nextInt(config.groupIds().length - 1);
        }
        String label = registerLabel(rangeIndex, random.nextInt(config.keysPerGroup()));
        long deadline = now() + OP_DEADLINE_ELECTION_TIMEOUTS * config.electionTimeoutNs();
        int dice = random.nextInt(100);
        Op op;
        if (dice < 28) {
            op = new Op(OpKind.READ, rangeIndex, label, null, null, now(), deadline);
        } else if (dice < 43) {
            op = new Op(OpKind.PUT, rangeIndex, label, null, newValue(), now(), deadline);
        } else if (dice < 46) {
            op = new Op(OpKind.DELETE, rangeIndex, label, null, null, now(), deadline);
        } else if (dice < 60) {
            String expected = random.nextInt(4) != 0 ? lastSeen.get(label) : null;
            op = new Op(OpKind.CAS, rangeIndex, label, expected, newValue(), now(), deadline);
        } else if (dice < 70) {
            boolean conditional = random.nextBoolean();
            String expected = conditional && random.nextInt(4) != 0 ? lastSeen.get(label) : null;
            op = new Op(OpKind.BATCH, rangeIndex, label, expected, newValue(), now(), deadline);
            op.conditional = conditional;
            op.label2 = registerLabel(rangeIndex, (Integer.parseInt(label.substring(label.indexOf('k') + 1)) + 1)
                    % config.keysPerGroup());
            op.value2 = newValue();
        } else if (dice < 93) {
            op = append(c, rangeIndex, deadline);
        } else {
            OpKind[] bad = {OpKind.TOO_LARGE, OpKind.STALE_EPOCH, OpKind.WRONG_RANGE, OpKind.MALFORMED};
            OpKind kind = bad[random.nextInt(bad.length)];
            if (kind == OpKind.WRONG_RANGE && config.groupIds().length == 1) {
                kind = OpKind.STALE_EPOCH;
            }
            op = new Op(kind, rangeIndex, label, null, "bad" + newValue(), now(), deadline);
        }
        if (op.kind != OpKind.READ && op.kind != OpKind.MALFORMED) {
            op.sequence = c.session.begin();
        }
        Op started = op;
        if (op.value != null && !op.bad()) {
            inFlight.put(bytes(op.value), op);
        }
        cluster.scheduler().after(deadline - now(), () -> deadline(c, started));
        attempt(c, op);
    }

    private String newValue() {
        return "v" + nextValue++;
    }

    /** An append to the client's list in the range; a list that does not know its value reads it first. */
    private Op append(Client c, int rangeIndex, long deadline) {
        ListState list = c.lists.get(rangeIndex);
        if (list == null || (list.known && list.value != null && list.value.length() > LIST_ROLL_BYTES)) {
            list = new ListState(rangeIndex, "g" + rangeIndex + "-L" + Long.toHexString(c.clientId) + "-"
                    + (list == null ? 0 : Integer.parseInt(list.label.substring(list.label.lastIndexOf('-') + 1)) + 1));
            c.lists.put(rangeIndex, list);
            lists.add(list);
        }
        if (!list.known) {
            Op read = new Op(OpKind.READ, rangeIndex, list.label, null, null, now(), deadline);
            read.list = list;
            return read;
        }
        String token = "t" + nextValue++;
        String next = list.value == null ? token : list.value + "," + token;
        Op op = new Op(OpKind.APPEND, rangeIndex, list.label, list.value, next, now(), deadline);
        op.list = list;
        op.token = token;
        return op;
    }

    // ---------------------------------------------------------------- commands

    /** The command an attempt proposes: built afresh by the node it goes to (its clock), with the op's sequence. */
    private byte[] command(Client c, Op op, long via) {
        long nowMs = Math.max(0, now() / 1_000_000 + clockSkewMs[(int) via]);
        // Attempts of one op differ in their bytes, so the checker can tell which applied.
        long proposedAtMs = Math.max(nowMs, op.lastProposedAtMs + 1);
        op.lastProposedAtMs = proposedAtMs;
        if (op.kind == OpKind.MALFORMED) {
            byte[] garbage = new byte[12];
            ByteBuffer.wrap(garbage).putLong(proposedAtMs).putInt((int) op.sequence ^ random.nextInt());
            garbage[0] = 0; // field number 0: no protobuf message starts so
            return garbage;
        }
        WriteCommand.Builder b = WriteCommand.newBuilder().setClientId(c.clientId).setSequence(op.sequence)
                .setFirstUnackedSequence(c.session.firstUnacked())
                .setSessionEstablished(c.session.established.contains(op.groupId)).setProposedAtMs(proposedAtMs)
                .setRangeEpoch(op.epoch);
        ByteString key = key(op.rangeIndex, op.label);
        switch (op.kind) {
            case PUT -> b.setPut(PutRequest.newBuilder().setKey(key).setValue(bytes(op.value)));
            case DELETE -> b.setDelete(DeleteRequest.newBuilder().setKey(key));
            case CAS, APPEND -> b.setCompareAndSet(cas(key, op.expected, op.value));
            case BATCH -> {
                BatchWriteRequest.Builder batch = BatchWriteRequest.newBuilder()
                        .addOps(WriteOp.newBuilder().setPut(PutRequest.newBuilder().setKey(key).setValue(bytes(op.value))))
                        .addOps(WriteOp.newBuilder().setPut(PutRequest.newBuilder().setKey(key(op.rangeIndex, op.label2))
                                .setValue(bytes(op.value2))));
                if (op.conditional) {
                    Condition.Builder condition = Condition.newBuilder().setKey(key);
                    if (op.expected == null) {
                        condition.setExpectAbsent(true);
                    } else {
                        condition.setExpectedValue(bytes(op.expected));
                    }
                    batch.addConditions(condition);
                }
                b.setBatchWrite(batch);
            }
            case TOO_LARGE -> {
                switch ((int) (op.sequence % 3)) {
                    case 0 -> b.setPut(PutRequest.newBuilder().setKey(key).setValue(bytes(op.value
                            + "x".repeat(KvRuntimeSimApplication.LIMITS.maxValueBytes()))));
                    case 1 -> b.setPut(PutRequest.newBuilder().setKey(key.concat(bytes("k".repeat(
                            KvRuntimeSimApplication.LIMITS.maxKeyBytes())))).setValue(bytes(op.value)));
                    default -> {
                        BatchWriteRequest.Builder batch = BatchWriteRequest.newBuilder();
                        for (int i = 0; i <= KvRuntimeSimApplication.LIMITS.maxBatchOps(); i++) {
                            batch.addOps(WriteOp.newBuilder().setPut(PutRequest.newBuilder().setKey(key)
                                    .setValue(bytes(op.value + "-" + i))));
                        }
                        b.setBatchWrite(batch);
                    }
                }
            }
            case STALE_EPOCH -> b.setRangeEpoch(op.epoch - 1)
                    .setPut(PutRequest.newBuilder().setKey(key).setValue(bytes(op.value)));
            case WRONG_RANGE -> {
                int other = (op.rangeIndex + 1) % config.groupIds().length;
                b.setPut(PutRequest.newBuilder().setKey(key(other, registerLabel(other, 0))).setValue(bytes(op.value)));
            }
            default -> throw new IllegalStateException("no command for " + op.kind);
        }
        return b.build().toByteArray();
    }

    private static CompareAndSetRequest cas(ByteString key, String expected, String value) {
        CompareAndSetRequest.Builder cas = CompareAndSetRequest.newBuilder().setKey(key).setNewValue(bytes(value));
        if (expected == null) {
            cas.setExpectAbsent(true);
        } else {
            cas.setExpectedValue(bytes(expected));
        }
        return cas.build();
    }

    // ---------------------------------------------------------------- attempts

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

    /**
     * Half the time, a write whose attempt went unanswered or whose outcome is unknown finds its
     * route refreshed when it is sent again: the real client has many requests in flight over one
     * route cache, and another may have learned of a split meanwhile. So a retry of a write its
     * range applied just before splitting may go to the range the split made, which must answer it
     * from the sessions it copied — the case exactly-once across splits is about.
     */
    private void refreshMeanwhile(Client c, Op op) {
        if (app.splits() != null && random.nextBoolean()) {
            lookUp(c, key(op.rangeIndex, op.label));
        }
    }

    private void retryLater(Client c, Op op) {
        retries++;
        long backoffNs = op.via > 0 ? 500_000 + random.nextLong(2_000_000) : 2_000_000 + random.nextLong(10_000_000);
        cluster.scheduler().after(backoffNs, () -> attempt(c, op));
    }

    /**
     * Routes the op by its key through the client's cache (looking the key up if the cache has no
     * range for it); false if it cannot be sent now. A batch whose keys a split put in different
     * ranges is given up on: it can apply nowhere, so it never will, but an earlier attempt may have.
     */
    private boolean route(Client c, Op op) {
        ByteString key = key(op.rangeIndex, op.label);
        RangeDescriptor range = c.routes.route(key);
        if (range == null) {
            lookUp(c, key);
            range = c.routes.route(key);
        }
        if (range == null) {
            return false;
        }
        if (op.kind == OpKind.BATCH && !KeySpace.contains(range, key(op.rangeIndex, op.label2))) {
            batchesSplitApart++;
            cluster.checker().trace("client " + c.historyId + " gives up on BATCH " + op.label + ", " + op.label2
                    + ": range " + KvRuntimeSimSplits.describe(range) + " holds only the first key");
            giveUp(c, op);
            return false;
        }
        op.groupId = range.getRangeId();
        op.epoch = range.getEpoch();
        return true;
    }

    /**
     * A route lookup, as the real client's locator makes it: one replica (the first that holds any
     * range with the key, from a random node on) answers with the descriptor it holds, which may be
     * stale; the cache takes it only if it is newer than what it has.
     */
    private void lookUp(Client c, ByteString key) {
        lookups++;
        int first = random.nextInt(config.totalNodes());
        for (int i = 0; i < config.totalNodes(); i++) {
            RuntimeSimNode n = cluster.node(1 + (first + i) % config.totalNodes());
            if (!n.up()) {
                continue;
            }
            RangeDescriptor best = null;
            for (RangeDescriptor d : app.kv(n).ranges()) {
                if (KeySpace.contains(d, key) && (best == null || d.getEpoch() > best.getEpoch())) {
                    best = d;
                }
            }
            if (best != null) {
                c.routes.learn(best);
                return;
            }
        }
    }

    /** The range {@code op} was sent to by {@code epoch} no longer is that: learn what the answer says, look up again. */
    private void reroute(Client c, Op op, long groupId, long epoch, List<RangeDescriptor> current) {
        rerouted++;
        c.routes.forget(groupId, epoch);
        for (RangeDescriptor d : current) {
            c.routes.learn(d);
        }
        if (c.routes.route(key(op.rangeIndex, op.label)) == null) {
            lookUp(c, key(op.rangeIndex, op.label));
        }
    }

    private void attempt(Client c, Op op) {
        if (op.done || now() >= op.deadlineNs) {
            return;
        }
        if (!route(c, op)) {
            if (!op.done) {
                retryLater(c, op);
            }
            return;
        }
        long via = pickNode(c, op);
        RuntimeSimNode n = cluster.node(via);
        if (!n.up()) {
            c.leaderHints.remove(op.groupId);
            retryLater(c, op);
            return;
        }
        if (app.kv(n).descriptor(op.groupId) == null) {
            // The node's service answers RangeNotFound: it holds no such range (not a replica, or not yet, or no longer).
            rangeNotFound++;
            c.leaderHints.remove(op.groupId);
            lookUp(c, key(op.rangeIndex, op.label));
            retryLater(c, op);
            return;
        }
        if (op.kind == OpKind.READ) {
            read(c, op, n);
            return;
        }
        byte[] command = command(c, op, via);
        long attemptId = registerAttempt(command);
        epochSent.put(attemptId, op.epoch);
        Call call = cluster.checker().newCall(CallKind.PROPOSE, via, n.incarnation(), op.groupId, attemptId);
        op.attempts.add(call);
        n.node().propose(op.groupId, command, cluster.proposalListener(call, n.stateMachine(), true,
                (answer, number, captured) -> onProposal(c, op, call, answer, number, captured)));
        cluster.scheduler().after(RESEND_ELECTION_TIMEOUTS * config.electionTimeoutNs(), () -> {
            if (!op.done && call.answers == 0 && op.attempts.get(op.attempts.size() - 1) == call) {
                refreshMeanwhile(c, op);
                attempt(c, op);
            }
        });
    }

    private void read(Client c, Op op, RuntimeSimNode n) {
        Call call = cluster.checker().newCall(CallKind.READ, n.id, n.incarnation(), op.groupId, 0);
        op.currentRead = call;
        KvStateMachine kv = app.kv(n);
        ByteString key = key(op.rangeIndex, op.label);
        long epoch = op.epoch;
        // Half the reads may be answered from the leader's lease: the checks below hold them to
        // linearizability all the same.
        ReadListener listener = new ReadListener() {
            @Override
            public void onReadable(long groupId) {
                Response.Builder r = kv.getOnWorker(groupId, key, epoch);
                if (cluster.checker().answered(call, "onReadable", false)) {
                    cluster.scheduler().after(0, () -> onRead(c, op, call, true, r));
                }
            }

            @Override
            public void onFailed(long groupId) {
                if (cluster.checker().answered(call, "onFailed", false)) {
                    cluster.scheduler().after(0, () -> onRead(c, op, call, false, null));
                }
            }

            @Override
            public void onBusy(long groupId) {
                if (cluster.checker().answered(call, "onBusy", false)) {
                    cluster.scheduler().after(0, () -> onRead(c, op, call, false, null));
                }
            }
        };
        if (random.nextBoolean()) {
            leaseReads++;
            n.node().leaseRead(op.groupId, listener);
        } else {
            n.node().read(op.groupId, listener);
        }
        cluster.scheduler().after(RESEND_ELECTION_TIMEOUTS * config.electionTimeoutNs(), () -> {
            if (!op.done && op.currentRead == call) {
                attempt(c, op);
            }
        });
    }

    private void onRead(Client c, Op op, Call call, boolean readable, Response.Builder response) {
        if (op.done) {
            return;
        }
        if (readable && response != null && response.hasError()) {
            Error e = response.getError();
            if (e.getKindCase() != Error.KindCase.EPOCH_MISMATCH || e.getEpochMismatch().getRangesCount() == 0
                    || e.getEpochMismatch().getRanges(0).getEpoch() == op.epoch) {
                cluster.checker().violation(Kind.WRONG_RESULT, "read of " + op.label + " in range " + call.groupId
                        + " at epoch " + op.epoch + " was answered " + e.getKindCase() + " (" + e.getMessage() + ")");
            } else if (op.currentRead == call) {
                op.currentRead = null;
                reroute(c, op, call.groupId, op.epoch, e.getEpochMismatch().getRangesList());
                retryLater(c, op);
            }
            return;
        }
        if (!readable || response == null) {
            // Failed, busy, or this node holds no state of the range (its replica went): try again.
            if (op.currentRead == call) {
                op.currentRead = null;
                retryLater(c, op);
            }
            return;
        }
        GetResponse r = response.getGet();
        op.done = true;
        c.leaderHints.put(call.groupId, call.node);
        String value = r.getFound() ? r.getValue().toStringUtf8() : null;
        history.add(Operation.read(c.historyId, op.label, value, op.callNs, now()));
        if (op.list != null) {
            if (op.finalRead) {
                op.list.finalValue = value;
                op.list.finalRead = true;
            } else {
                op.list.value = value;
                op.list.known = true;
            }
        } else {
            lastSeen.put(op.label, value);
        }
        cluster.checker().trace("client " + c.historyId + " read " + op.label + " = " + value + " at index "
                + r.getReadAtIndex() + " via node " + call.node + (op.finalRead ? " (final)" : ""));
        finished(c, op);
    }

    private void onProposal(Client c, Op op, Call call, RuntimeSimCluster.Answer answer, long number, Object captured) {
        switch (answer) {
            case APPLIED -> applied(c, op, call, number, (WriteResult) captured);
            case REFUSED, BUSY -> {
                if (op.done) {
                    return;
                }
                op.via = answer == RuntimeSimCluster.Answer.REFUSED ? number : 0;
                if (number > 0) {
                    c.leaderHints.put(call.groupId, number);
                } else {
                    c.leaderHints.remove(call.groupId);
                }
                retryLater(c, op);
            }
            default -> {
                // Outcome unknown: it may apply. The retry carries the same sequence, so it applies at most once.
                op.maybeApplied = true;
                if (!op.done && app.splits() != null && random.nextBoolean()) {
                    // As a client whose request timed out: it tries again an election timeout later, routed afresh.
                    c.leaderHints.remove(call.groupId);
                    retries++;
                    cluster.scheduler().after(config.electionTimeoutNs(), () -> {
                        if (!op.done) {
                            lookUp(c, key(op.rangeIndex, op.label));
                            attempt(c, op);
                        }
                    });
                } else if (!op.done) {
                    c.leaderHints.remove(call.groupId);
                    refreshMeanwhile(c, op);
                    retryLater(c, op);
                }
            }
        }
    }

    private void applied(Client c, Op op, Call call, long index, WriteResult result) {
        if (result == null) {
            cluster.checker().violation(Kind.WRONG_RESULT, call + " applied at " + index + " but the state machine has no"
                    + " result for it");
            return;
        }
        boolean error = result.hasError();
        if (!error && op.result != null && !op.result.equals(result)) {
            cluster.checker().violation(Kind.EXACTLY_ONCE, "client " + Long.toHexString(c.clientId) + " write " + op.sequence
                    + " (" + op.kind + " " + op.label + ") was answered " + brief(op.result) + " and, for another attempt"
                    + " applied at " + index + ", " + brief(result) + ": it applied twice");
        }
        if (!error && op.result == null) {
            op.result = result;
        }
        if (!error) {
            c.session.established.add(call.groupId);
        }
        if (!error && !op.done) {
            for (Call other : op.attempts) {
                long[] at = appliedAt.get(other.attemptId);
                if (other != call && at != null && at[0] == call.groupId && at[1] < index) {
                    answeredFromSession++;
                    break;
                }
            }
            Long writtenBy = op.value == null ? null : app.firstWrittenBy(bytes(op.value));
            if (writtenBy != null && writtenBy != call.groupId) {
                // Its value was written by another range: an attempt took effect there before a split moved the key.
                answeredAcrossSplit++;
            }
        }
        if (op.done) {
            return;
        }
        c.leaderHints.put(call.groupId, call.node);
        Error.KindCase errorKind = error ? result.getError().getKindCase() : Error.KindCase.KIND_NOT_SET;
        long sent = epochSent.getOrDefault(call.attemptId, 0L);
        boolean epochMoved = errorKind == Error.KindCase.EPOCH_MISMATCH && result.getError().getEpochMismatch().getRangesCount() > 0
                && result.getError().getEpochMismatch().getRanges(0).getEpoch() != sent;
        if (epochMoved && !op.bad()) {
            // A split changed the range since the client routed: nothing was written; route again.
            reroute(c, op, call.groupId, sent, result.getError().getEpochMismatch().getRangesList());
            retryLater(c, op);
            return;
        }
        if (errorKind == Error.KindCase.BUSY) {
            busyAnswers++;
            retryLater(c, op);
            return;
        }
        if (errorKind == Error.KindCase.SESSION_EXPIRED) {
            // Sessions are admitted before anything else is checked, bad requests' too.
            sessionsExpired++;
            op.maybeApplied = true;
            cluster.checker().trace("client " + Long.toHexString(c.clientId) + ": " + result.getError().getMessage());
            giveUp(c, op);
            // As the error says: continue with a new client id.
            c.clientId = randomClientId();
            c.session = new Session();
            c.lists.clear();
            return;
        }
        if (op.bad()) {
            Error.KindCase expected = switch (op.kind) {
                case TOO_LARGE -> Error.KindCase.TOO_LARGE;
                case STALE_EPOCH -> Error.KindCase.EPOCH_MISMATCH;
                case WRONG_RANGE -> Error.KindCase.KEY_NOT_IN_RANGE;
                default -> Error.KindCase.INTERNAL;
            };
            // A key of another range, routed by an epoch a split has since changed, is refused for the epoch first.
            boolean alsoExpected = op.kind == OpKind.WRONG_RANGE && epochMoved;
            if (errorKind != expected && !alsoExpected) {
                cluster.checker().violation(Kind.WRONG_RESULT, op.kind + " request " + call + " was answered " + brief(result)
                        + ", not " + expected);
            } else {
                refusedAsExpected++;
            }
            done(c, op);
            return;
        }
        if (error) {
            cluster.checker().violation(Kind.WRONG_RESULT, op.kind + " " + op.label + " (client "
                    + Long.toHexString(c.clientId) + " sequence " + op.sequence + ") was answered " + brief(result));
            giveUp(c, op);
            return;
        }
        record(c, op, call, index, result);
        done(c, op);
    }

    /** A write's final answer: into the history, and the checks a second apply would fail. */
    private void record(Client c, Op op, Call call, long index, WriteResult result) {
        long returned = now();
        switch (op.kind) {
            case PUT -> {
                expect(op, result, result.hasPut());
                history.add(Operation.write(c.historyId, op.label, op.value, op.callNs, returned));
                lastSeen.put(op.label, op.value);
            }
            case DELETE -> {
                expect(op, result, result.hasDelete());
                history.add(Operation.write(c.historyId, op.label, null, op.callNs, returned));
                lastSeen.put(op.label, null);
            }
            case CAS, APPEND -> {
                expect(op, result, result.hasCompareAndSet());
                boolean swapped = result.getCompareAndSet().getSucceeded();
                String current = result.getCompareAndSet().getCurrentFound()
                        ? result.getCompareAndSet().getCurrentValue().toStringUtf8() : null;
                history.add(Operation.cas(c.historyId, op.label, op.expected, op.value, swapped, op.callNs, returned));
                if (!swapped) {
                    ownEffect(c, op, current);
                }
                if (op.kind == OpKind.APPEND) {
                    (swapped ? op.list.acknowledged : op.list.refused).add(op.token);
                    op.list.value = swapped ? op.value : current;
                    op.list.known = true;
                } else {
                    lastSeen.put(op.label, swapped ? op.value : current);
                }
            }
            case BATCH -> {
                expect(op, result, result.hasBatchWrite());
                boolean succeeded = result.getBatchWrite().getSucceeded();
                if (op.conditional) {
                    history.add(Operation.cas(c.historyId, op.label, op.expected, op.value, succeeded, op.callNs, returned));
                } else {
                    expect(op, result, succeeded);
                    history.add(Operation.write(c.historyId, op.label, op.value, op.callNs, returned));
                }
                if (succeeded) {
                    history.add(Operation.write(c.historyId, op.label2, op.value2, op.callNs, returned));
                    lastSeen.put(op.label, op.value);
                    lastSeen.put(op.label2, op.value2);
                } else {
                    String current = result.getBatchWrite().getCurrentFound()
                            ? result.getBatchWrite().getCurrentValue().toStringUtf8() : null;
                    ownEffect(c, op, current);
                    lastSeen.put(op.label, current);
                }
            }
            default -> throw new IllegalStateException("no record for " + op.kind);
        }
        cluster.checker().trace("client " + c.historyId + " " + op.kind + " " + op.label + " := " + op.value
                + (op.expected != null || op.kind == OpKind.CAS || op.kind == OpKind.APPEND ? " if " + op.expected : "")
                + ": " + brief(result) + " at " + index + " via node " + call.node + " (sequence " + op.sequence + ", attempt "
                + call.attemptId + ")");
    }

    private void expect(Op op, WriteResult result, boolean holds) {
        if (!holds) {
            cluster.checker().violation(Kind.WRONG_RESULT, op.kind + " " + op.label + " was answered " + brief(result));
        }
    }

    /** A conditional write that failed must not find its own effect: that is a retry that applied a second time. */
    private void ownEffect(Client c, Op op, String current) {
        boolean mine = current != null && (current.equals(op.value)
                || (op.token != null && Arrays.asList(current.split(",")).contains(op.token)));
        if (mine) {
            cluster.checker().violation(Kind.EXACTLY_ONCE, op.kind + " " + op.label + " := " + op.value + " of client "
                    + Long.toHexString(c.clientId) + " sequence " + op.sequence + " was answered failed, current value "
                    + current + ": its own write, so an earlier attempt applied and the retry applied again");
        }
    }

    private static String brief(WriteResult r) {
        if (r.hasError()) {
            return r.getError().getKindCase() + " (" + r.getError().getMessage() + ")";
        }
        return r.toString().replace('\n', ' ').trim();
    }

    private void deadline(Client c, Op op) {
        if (!op.done) {
            giveUp(c, op);
        }
    }

    /** The client stops trying: its sequence is released; a write that may have applied is of unknown outcome. */
    private void giveUp(Client c, Op op) {
        op.done = true;
        if (op.kind == OpKind.READ) {
            if (op.finalRead) {
                cluster.checker().violation(Kind.FINAL_READ_FAILED, "no read of " + op.label + " in range " + op.groupId
                        + " succeeded within " + RuntimeSimChecker.ms(op.deadlineNs - op.callNs) + " after the quiet period");
            }
            finished(c, op);
            return;
        }
        release(c, op);
        boolean mayApply = op.maybeApplied;
        for (Call a : op.attempts) {
            mayApply |= a.answers == 0;
        }
        if (mayApply && !op.bad()) {
            unknownOps++;
            switch (op.kind) {
                case PUT -> history.add(Operation.unknownWrite(c.historyId, op.label, op.value, op.callNs));
                case DELETE -> history.add(Operation.unknownWrite(c.historyId, op.label, null, op.callNs));
                case CAS, APPEND -> history.add(Operation.unknownCas(c.historyId, op.label, op.expected, op.value, op.callNs));
                case BATCH -> {
                    history.add(op.conditional ? Operation.unknownCas(c.historyId, op.label, op.expected, op.value, op.callNs)
                            : Operation.unknownWrite(c.historyId, op.label, op.value, op.callNs));
                    history.add(Operation.unknownWrite(c.historyId, op.label2, op.value2, op.callNs));
                }
                default -> throw new IllegalStateException("no unknown outcome for " + op.kind);
            }
            if (op.list != null) {
                op.list.known = false;
            }
            cluster.checker().trace("client " + c.historyId + " gives up on " + op.kind + " " + op.label + " := " + op.value
                    + " (sequence " + op.sequence + ", outcome unknown)");
            // It may still take effect at any time: the client continues as a new one in the history (Jepsen's rule).
            c.historyId = nextHistoryId++;
        }
        finished(c, op);
    }

    private void done(Client c, Op op) {
        op.done = true;
        release(c, op);
        finished(c, op);
    }

    private void release(Client c, Op op) {
        if (op.sequence != 0) {
            c.session.unacked.remove(op.sequence);
        }
    }

    private void finished(Client c, Op op) {
        if (op.value != null) {
            inFlight.remove(bytes(op.value));
        }
        if (op.finalRead) {
            finalReadsPending--;
            return;
        }
        cluster.scheduler().after(random.nextLong(20_000_000), () -> nextOp(c));
    }

    // ---------------------------------------------------------------- the end

    /** After the quiet period: one read of every register and every list. */
    @Override
    public void finalReads(long deadlineNs) {
        for (int g = 0; g < config.groupIds().length; g++) {
            for (int k = 0; k < config.keysPerGroup(); k++) {
                finalRead(g, registerLabel(g, k), null, deadlineNs);
            }
        }
        for (ListState list : lists) {
            finalRead(list.rangeIndex, list.label, list, deadlineNs);
        }
    }

    private void finalRead(int rangeIndex, String label, ListState list, long deadlineNs) {
        if (app.splits() != null && app.splits().stranded(key(rangeIndex, label))) {
            strandedKeys++;
            return;
        }
        Client c = newClient();
        Op op = new Op(OpKind.READ, rangeIndex, label, null, null, now(), deadlineNs);
        op.finalRead = true;
        op.list = list;
        finalReadsPending++;
        cluster.scheduler().after(deadlineNs - now(), () -> deadline(c, op));
        attempt(c, op);
    }

    @Override
    public boolean finalReadsDone() {
        return finalReadsPending == 0;
    }

    /**
     * Every list as read at the end holds each of its acknowledged tokens, in the order they were
     * acknowledged, no token twice, and no token whose append was answered as failed.
     */
    @Override
    public void finalChecks() {
        if (app.splits() != null) {
            app.splits().finalChecks();
        }
        if (app.moves() != null) {
            app.moves().finalChecks();
        }
        for (ListState list : lists) {
            if (!list.finalRead) {
                continue; // FINAL_READ_FAILED already says so
            }
            List<String> tokens = list.finalValue == null ? List.of() : Arrays.asList(list.finalValue.split(","));
            Map<String, Integer> positions = new LinkedHashMap<>();
            for (int i = 0; i < tokens.size(); i++) {
                if (positions.putIfAbsent(tokens.get(i), i) != null) {
                    cluster.checker().violation(Kind.EXACTLY_ONCE, "list " + list.label + " holds token " + tokens.get(i)
                            + " twice: " + list.finalValue);
                }
            }
            int last = -1;
            for (String t : list.acknowledged) {
                Integer at = positions.get(t);
                if (at == null) {
                    cluster.checker().violation(Kind.ACKNOWLEDGED_LOST, "list " + list.label + " lacks acknowledged token " + t
                            + ": " + list.finalValue);
                } else if (at < last) {
                    cluster.checker().violation(Kind.ACKNOWLEDGED_LOST, "list " + list.label + " holds acknowledged token " + t
                            + " before one acknowledged earlier: " + list.finalValue);
                } else {
                    last = at;
                }
            }
            for (String t : list.refused) {
                if (positions.containsKey(t)) {
                    cluster.checker().violation(Kind.ACKNOWLEDGED_LOST, "list " + list.label + " holds token " + t
                            + " whose append was answered failed: " + list.finalValue);
                }
            }
        }
    }
}
