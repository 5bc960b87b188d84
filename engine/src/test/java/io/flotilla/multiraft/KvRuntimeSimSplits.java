package io.flotilla.multiraft;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.RangeSplitter;
import io.flotilla.engine.node.MissingReplicas;
import io.flotilla.engine.node.SplitStarter;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import io.flotilla.multiraft.RuntimeSimChecker.Kind;
import io.flotilla.raft.RaftNode;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.KeySpace;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Range splits in the key-value runtime simulation. A seeded step of the run proposes a split of a
 * random range — through its leader's log, as the node's service does, with the real
 * {@link RangeSplitter#command} — at a key strictly inside it: its first key after its start, its
 * last key, another of its keys, just after one, or just after its start; and at the key of a
 * write that took effect while its client lost the answer. So ranges split several generations
 * deep while clients write and the nemeses crash, partition, snapshot and change membership (a
 * range's descriptor follows its group's membership changes, so the new range starts on the
 * range's voters as of the split). Every replica applies it with {@link KvStateMachine#apply},
 * and the real {@link SplitStarter} starts the new range's group there (its campaign retries on
 * the simulation's clock). Each node runs the real {@link MissingReplicas} once an election
 * timeout, with the newest descriptors standing in for the meta range's record.
 *
 * <p>Checked: replicas that apply one split (a replay after a restart included) agree on both of
 * its descriptors; the ranges (the newest descriptor of each range id on any node) cover the key
 * space with no gap after every split a replica applies, and tile it (no overlap either) at the
 * end; at the
 * end every acknowledged split shows on every live replica of its range (the new range's state,
 * and its group hosted), also on a replica that installed a snapshot of the range taken after the
 * split and so never applied it: MissingReplicas must have joined it to the new range (in seeds
 * with a snapshot channel, which a node always has; without one such a replica is exempt, and a
 * new range left with no quorum that way is not read at the end, see {@link #stranded}). Owned by
 * the seed's thread.
 */
final class KvRuntimeSimSplits {
    /** New range ids count up from here, above the seed's group ids (below 2^40): unique and the same in every replay. */
    static final long FIRST_NEW_RANGE_ID = 1L << 41;
    private static final long MIN_GAP_NS = 100_000_000L;
    private static final long GAP_SPREAD_NS = 400_000_000L;

    /** A split as the first replica to apply it made it. */
    private record Made(long node, RangeDescriptor left, RangeDescriptor right) {
    }

    /** A split whose proposer was answered with its applied result. */
    private record Acknowledged(long parentId, long index, RangeDescriptor left, RangeDescriptor right) {
    }

    private final RuntimeSimCluster cluster;
    private final KvRuntimeSimApplication app;
    private final SplittableRandom random;
    private long nextRangeId = FIRST_NEW_RANGE_ID;
    /** New range id → the split that made it. */
    private final Map<Long, Made> made = new LinkedHashMap<>();
    /** New range id → the nodes whose listener heard the split. */
    private final Map<Long, Set<Long>> heardBy = new HashMap<>();
    private final List<Acknowledged> acknowledged = new ArrayList<>();
    /** Node → range → the highest snapshot index it installed of the range. */
    private final Map<Long, Map<Long, Long>> installedAt = new HashMap<>();
    /** Per node: the real listener of its current runtime. */
    private final Map<Long, SplitStarter> starters = new HashMap<>();
    private final Map<Long, MultiRaftNode> startersRuntime = new HashMap<>();
    /** Per node: the real MissingReplicas of its current runtime, run on the simulation's clock. */
    private final Map<Long, MissingReplicas> missing = new HashMap<>();
    private final Map<Long, MultiRaftNode> missingRuntime = new HashMap<>();
    /** Replicas that missed a split (a snapshot past it) and joined the new range through MissingReplicas. */
    long joinedAfterMissedSplit;
    long proposed;
    long refused;
    long missedBySnapshot;
    /** Splits proposed at the key of a write that took effect and whose outcome its client does not know. */
    long atWritesInDoubt;
    /** Ranges split off that ended with no quorum of replicas (its others never applied the split), see {@link #stranded}. */
    final Set<Long> strandedRanges = new TreeSet<>();

    KvRuntimeSimSplits(RuntimeSimCluster cluster, KvRuntimeSimApplication app, SplittableRandom random) {
        this.cluster = cluster;
        this.app = app;
        this.random = random;
    }

    /** Splits applied: new ranges made on at least one replica. */
    int applied() {
        return made.size();
    }

    void start() {
        cluster.scheduler().after(gapNs(), this::proposeOne);
        if (cluster.config().snapshots()) {
            // As a node does once a second (it always has a snapshot channel, which an empty replica needs).
            cluster.scheduler().after(cluster.config().electionTimeoutNs(), this::joinMissingReplicas);
        }
    }

    /**
     * Each live node runs a round of the real {@link MissingReplicas}, with the newest descriptor of
     * each range on any node standing in for the meta range's record (what the nodes' records converge to).
     */
    private void joinMissingReplicas() {
        RuntimeSimConfig config = cluster.config();
        if (now() < config.runNs() + 40 * config.electionTimeoutNs()) {
            cluster.scheduler().after(config.electionTimeoutNs(), this::joinMissingReplicas);
        }
        for (RuntimeSimNode n : cluster.nodes()) {
            if (!n.up() || n.stateMachine() == null) {
                continue;
            }
            for (long joined : missing(n).round(this::newestById)) {
                joinedAfterMissedSplit++;
                n.hosted.putIfAbsent(joined, new long[0]); // a restart joins it again, empty, as the node would
                cluster.trace("node " + n.id + " joins range " + joined + ", which it missed the split of (MissingReplicas)");
            }
            for (long joined : missing(n).joinListed(newestById())) {
                joinedAfterMissedSplit++;
                n.hosted.putIfAbsent(joined, new long[0]);
                cluster.trace("node " + n.id + " joins range " + joined + ", which lists it and sends it nothing (MissingReplicas)");
            }
        }
    }

    private MissingReplicas missing(RuntimeSimNode node) {
        MultiRaftNode runtime = node.node();
        if (missingRuntime.get(node.id) != runtime) {
            missing.put(node.id, new MissingReplicas(node.id, runtime, app.kv(node)));
            missingRuntime.put(node.id, runtime);
        }
        return missing.get(node.id);
    }

    private Map<Long, RangeDescriptor> newestById() {
        Map<Long, RangeDescriptor> byId = new HashMap<>();
        for (RangeDescriptor d : newestRanges().values()) {
            byId.put(d.getRangeId(), d);
        }
        return byId;
    }

    private long gapNs() {
        return MIN_GAP_NS + random.nextLong(GAP_SPREAD_NS);
    }

    private long now() {
        return cluster.scheduler().nowNs();
    }

    // ---------------------------------------------------------------- proposing

    private void proposeOne() {
        RuntimeSimConfig config = cluster.config();
        if (now() >= config.runNs()) {
            return;
        }
        cluster.scheduler().after(gapNs(), this::proposeOne);
        List<RangeDescriptor> ranges = new ArrayList<>(newestRanges().values());
        RangeDescriptor pick = ranges.get(random.nextInt(ranges.size()));
        if (config.snapshots() && now() >= config.runNs() / 4
                && KeySpace.contains(app.ranges().get(0), pick.getStartKey())) {
            // The clients leave the first range cold from here (its old records must be rewritten forward): so do splits.
            return;
        }
        propose(pick.getRangeId(), null);
    }

    /**
     * A write took effect whose client will not hear of it (its attempt's outcome is unknown, or
     * the node it went to is gone): split at its key now (while the run goes), so the client's
     * retry may reach the new range, which must answer it from the sessions it copied.
     */
    void splitAtWriteInDoubt(ByteString key) {
        if (now() >= cluster.config().runNs()) {
            return;
        }
        RangeDescriptor range = newestRanges().floorEntry(key).getValue();
        if (propose(range.getRangeId(), key)) {
            atWritesInDoubt++;
            cluster.trace("(that split is at the key of a write whose outcome its client does not know)");
        }
    }

    /** Proposes a split of {@code rangeId} through its leader, at {@code at} or (null) a key {@link #splitKey} picks; false if it did not. */
    private boolean propose(long rangeId, ByteString at) {
        RuntimeSimNode via = cluster.leaderOf(rangeId);
        if (via == null) {
            return false;
        }
        RangeDescriptor range = app.kv(via).descriptor(rangeId);
        if (range == null) {
            return false;
        }
        ByteString key = at != null ? at : splitKey(via, range);
        if (key == null || RangeSplitter.checkSplitKey(range, key) != null
                || KvRuntimeSimApplication.LIMITS.checkKey(key) != null) {
            return false;
        }
        long newRangeId = nextRangeId++;
        byte[] command = RangeSplitter.command(range.getEpoch(), key, newRangeId, now() / 1_000_000).toByteArray();
        long attemptId = app.clients().registerAttempt(command);
        Call call = cluster.checker().newCall(CallKind.PROPOSE, via.id, via.incarnation(), rangeId, attemptId);
        proposed++;
        cluster.trace("split: range " + rangeId + " " + describe(range) + " at " + KeyFormat.describe(key) + " into new range "
                + newRangeId + ", via node " + via.id);
        via.node().propose(rangeId, command, cluster.proposalListener(call, via.stateMachine(), true,
                (answer, number, captured) -> answered(range, key, newRangeId, answer, number,
                        answer == RuntimeSimCluster.Answer.APPLIED ? (WriteResult) captured : null)));
        return true;
    }

    /** A key strictly inside {@code range} (or null): its first key after its start, its last, another, just after one, or just after its start. */
    private ByteString splitKey(RuntimeSimNode via, RangeDescriptor range) {
        ScanResponse page = app.kv(via).scan(range.getRangeId(), ScanRequest.newBuilder().setStartKey(range.getStartKey())
                .setEndKey(range.getEndKey()).setKeysOnly(true).build());
        List<ByteString> keys = new ArrayList<>();
        if (page != null) {
            for (KeyValue kv : page.getEntriesList()) {
                if (KeySpace.compare(kv.getKey(), range.getStartKey()) > 0) {
                    keys.add(kv.getKey());
                }
            }
        }
        int dice = random.nextInt(100);
        if (keys.isEmpty() || dice >= 90) {
            return range.getStartKey().concat(ByteString.copyFrom(new byte[] {0}));
        }
        if (dice < 25) {
            return keys.get(0);
        }
        if (dice < 50) {
            return keys.get(keys.size() - 1);
        }
        ByteString some = keys.get(random.nextInt(keys.size()));
        return dice < 75 ? some : some.concat(ByteString.copyFrom(new byte[] {0}));
    }

    private void answered(RangeDescriptor range, ByteString key, long newRangeId, RuntimeSimCluster.Answer answer, long index,
            WriteResult result) {
        if (answer != RuntimeSimCluster.Answer.APPLIED) {
            cluster.trace("split of range " + range.getRangeId() + " into " + newRangeId + ": " + answer);
            return;
        }
        if (result == null) {
            cluster.checker().violation(Kind.WRONG_RESULT, "the split of range " + range.getRangeId() + " into " + newRangeId
                    + " applied at " + index + " but the state machine has no result for it");
            return;
        }
        if (result.hasError()) {
            refused++;
            // The key was checked against the descriptor the split carries: only a change of epoch in between refuses it.
            if (result.getError().getKindCase() != Error.KindCase.EPOCH_MISMATCH) {
                cluster.checker().violation(Kind.WRONG_RESULT, "the split of range " + range.getRangeId() + " at epoch "
                        + range.getEpoch() + " at " + KeyFormat.describe(key) + " was answered "
                        + result.getError().getKindCase() + " (" + result.getError().getMessage() + ")");
            }
            cluster.trace("split of range " + range.getRangeId() + " into " + newRangeId + " refused: "
                    + result.getError().getMessage());
            return;
        }
        RangeDescriptor left = result.getSplit().getLeft();
        RangeDescriptor right = result.getSplit().getRight();
        if (right.getRangeId() != newRangeId || !right.getStartKey().equals(key) || left.getRangeId() != range.getRangeId()) {
            cluster.checker().violation(Kind.WRONG_RESULT, "the split of range " + range.getRangeId() + " at "
                    + KeyFormat.describe(key) + " into " + newRangeId + " was answered " + describe(left) + " and " + describe(right));
        }
        acknowledged.add(new Acknowledged(range.getRangeId(), index, left, right));
        app.clients().splitSeen(left, right);
        cluster.trace("split of range " + range.getRangeId() + " acknowledged at " + index + ": " + describe(left) + ", "
                + describe(right));
    }

    // ---------------------------------------------------------------- the listener

    /**
     * The split listener of {@code node}'s state machine: it checks what the replica made and hands
     * it to the real {@link SplitStarter} of the node's current runtime (a new one per incarnation,
     * as a restarted node makes its own).
     */
    KvStateMachine.SplitListener listener(RuntimeSimNode node) {
        return (left, right) -> {
            heard(node, left, right);
            node.hosted.putIfAbsent(right.getRangeId(), voters(right));
            starter(node).onSplit(left, right);
        };
    }

    private SplitStarter starter(RuntimeSimNode node) {
        MultiRaftNode runtime = node.node();
        if (startersRuntime.get(node.id) != runtime) {
            int incarnation = node.incarnation();
            starters.put(node.id, new SplitStarter(node.id, runtime, (retry, delayMs) -> cluster.scheduler().after(
                    delayMs * 1_000_000, () -> {
                        // A timer thread dies with its process: a retry of an incarnation that is gone does nothing.
                        if (node.live() && node.incarnation() == incarnation) {
                            retry.run();
                        }
                    })));
            startersRuntime.put(node.id, runtime);
        }
        return starters.get(node.id);
    }

    /** The voters a range's descriptor names, which its group starts with. */
    static long[] voters(RangeDescriptor range) {
        return range.getReplicasList().stream().filter(r -> r.getRole() == ReplicaRole.VOTER)
                .mapToLong(ReplicaDescriptor::getNodeId).toArray();
    }

    private void heard(RuntimeSimNode node, RangeDescriptor left, RangeDescriptor right) {
        long newRangeId = right.getRangeId();
        heardBy.computeIfAbsent(newRangeId, r -> new TreeSet<>()).add(node.id);
        Made first = made.putIfAbsent(newRangeId, new Made(node.id, left, right));
        if (first == null) {
            cluster.trace("node " + node.id + " applied the split of range " + left.getRangeId() + ": " + describe(left) + ", "
                    + describe(right));
        } else if (!first.left().equals(left) || !first.right().equals(right)) {
            cluster.checker().violation(Kind.SPLIT_DISAGREES, "node " + node.id + " split range " + left.getRangeId() + " into "
                    + describe(left) + " and " + describe(right) + "; node " + first.node() + " split it into "
                    + describe(first.left()) + " and " + describe(first.right()));
        }
        app.splitApplied(node.id, left.getRangeId(), newRangeId);
        checkTiling("after node " + node.id + " applied the split into range " + newRangeId, false);
    }

    /** {@code node} installed a snapshot of {@code rangeId} at {@code index}. */
    void installed(long node, long rangeId, long index) {
        installedAt.computeIfAbsent(node, n -> new HashMap<>()).merge(rangeId, index, Math::max);
    }

    // ---------------------------------------------------------------- ranges left without a quorum

    /**
     * Whether the range holding {@code key} (by the newest descriptors) is a range split off that
     * fewer than a quorum of its voters host, every one missing because it never applied the split
     * (it installed a snapshot of the range taken after it, or its replica of the range was
     * destroyed first) and, without a snapshot channel, cannot join it (see MissingReplicas): it
     * has no leader for good. Its keys are not read at the end (the run counts them). A voter that applied the split and hosts no group is
     * no excuse: that fails SPLIT_MISSING and the final reads.
     */
    boolean stranded(ByteString key) {
        RangeDescriptor range = newestRanges().floorEntry(key).getValue();
        long rangeId = range.getRangeId();
        if (!made.containsKey(rangeId)) {
            return false;
        }
        long[] voters = voters(range);
        int hosting = 0;
        for (long v : voters) {
            RuntimeSimNode n = cluster.node(v);
            if (n.live() && n.node().groupView(rangeId) != null) {
                hosting++;
            } else if (heardBy.getOrDefault(rangeId, Set.of()).contains(v)) {
                return false;
            }
        }
        boolean stranded = hosting < voters.length / 2 + 1;
        if (stranded && strandedRanges.add(rangeId)) {
            cluster.trace("range " + describe(range) + " is hosted by " + hosting + " of its voters "
                    + Arrays.toString(voters) + ", the others never applied its split: its keys are not read");
        }
        return stranded;
    }

    // ---------------------------------------------------------------- checks

    /** The newest descriptor of each range id on any node, up or down (a down node's last state), by start key. */
    private TreeMap<ByteString, RangeDescriptor> newestRanges() {
        Map<Long, RangeDescriptor> newest = new HashMap<>();
        for (RuntimeSimNode n : cluster.nodes()) {
            if (n.stateMachine() == null) {
                continue;
            }
            for (RangeDescriptor d : app.kv(n).ranges()) {
                // The newest by epoch, then conf version (a move changes the replicas, not the keys).
                newest.merge(d.getRangeId(), d, (a, b) -> RouteTable.compareVersions(a, b) >= 0 ? a : b);
            }
        }
        TreeMap<ByteString, RangeDescriptor> byStart = new TreeMap<>(KeySpace::compare);
        for (RangeDescriptor d : newest.values()) {
            RangeDescriptor other = byStart.put(d.getStartKey(), d);
            if (other != null) {
                cluster.checker().violation(Kind.RANGES_DO_NOT_TILE, "ranges " + describe(other) + " and " + describe(d)
                        + " start at the same key");
            }
        }
        return byStart;
    }

    /**
     * The newest descriptors cover the key space from the empty key to no end with no gap and, if
     * {@code strict}, each starting where the last ended (no overlap). While the run goes they may
     * overlap for a while: a node that crashed after making a new range durably and before its
     * narrowed range was flushed restarts with the new range and the range as it was before the
     * split, until its log applies the split again (see {@link RangeSplitter}); where no other node
     * has applied the split yet, the old descriptor is the newest. A gap is never right: the new
     * range is made before the range narrows. After the quiet period every log has caught up.
     */
    void checkTiling(String when, boolean strict) {
        ByteString coveredTo = ByteString.EMPTY;
        boolean ended = false;
        for (RangeDescriptor d : newestRanges().values()) {
            boolean gap = !ended && KeySpace.compare(d.getStartKey(), coveredTo) > 0;
            boolean overlap = ended || KeySpace.compare(d.getStartKey(), coveredTo) < 0;
            if (gap || (strict && overlap)) {
                cluster.checker().violation(Kind.RANGES_DO_NOT_TILE, when + ": range " + describe(d) + " follows "
                        + (ended ? "a range with no end" : "ranges that end at " + KeyFormat.describe(coveredTo))
                        + ": ranges " + describeAll());
                return;
            }
            if (!ended && (d.getEndKey().isEmpty() || KeySpace.compare(d.getEndKey(), coveredTo) > 0)) {
                coveredTo = d.getEndKey();
                ended = d.getEndKey().isEmpty();
            }
        }
        if (!ended) {
            cluster.checker().violation(Kind.RANGES_DO_NOT_TILE, when + ": no range holds the keys from "
                    + KeyFormat.describe(coveredTo) + ": ranges " + describeAll());
        }
    }

    /**
     * At the end, every node up: every acknowledged split shows on every live replica of its range
     * that is past it (the new range's state is there and its group is hosted), and a replica
     * of the range that is a voter has caught up past it. A replica that installed a snapshot of
     * the range at or after the split's index, and so never applied the split, must have joined
     * the new range through MissingReplicas if the new range lists it (exempt only in seeds with
     * no snapshot channel, where an empty replica cannot catch up).
     */
    void finalChecks() {
        checkTiling("at the end", true);
        for (Acknowledged a : acknowledged) {
            long newRangeId = a.right().getRangeId();
            for (RuntimeSimNode n : cluster.nodes()) {
                if (!n.live()) {
                    continue;
                }
                RangeDescriptor parent = app.kv(n).descriptor(a.parentId());
                if (parent == null) {
                    continue; // its replica was destroyed or removed
                }
                if (parent.getEpoch() < a.left().getEpoch()) {
                    RaftNode replica = n.replica(a.parentId());
                    if (replica != null && contains(replica.confState().voters(), n.id)) {
                        cluster.checker().violation(Kind.SPLIT_MISSING, "node " + n.id + " is a voter of range "
                                + a.parentId() + " and still holds it at epoch " + parent.getEpoch() + " after the quiet period,"
                                + " before the split acknowledged at index " + a.index() + " (applied " + replica.appliedIndex()
                                + ", commit " + replica.commitIndex() + ")");
                    }
                    continue;
                }
                boolean heard = heardBy.getOrDefault(newRangeId, Set.of()).contains(n.id);
                long installed = installedAt.getOrDefault(n.id, Map.of()).getOrDefault(a.parentId(), 0L);
                String missing = app.kv(n).descriptor(newRangeId) == null ? "no state of new range " + newRangeId
                        : n.node().groupView(newRangeId) == null ? "the state of new range " + newRangeId + " and no group for it"
                        : null;
                if (missing != null && heard && !listedIn(newRangeId, n.id)) {
                    continue; // applied the split, then the new range removed it (a move) and RemovedReplicas dropped it
                }
                if (missing != null && !heard && installed >= a.index()) {
                    RangeDescriptor newest = newestById().get(newRangeId);
                    if (newest == null || !contains(voters(newest), n.id)) {
                        continue; // it joined the range after the split: never a replica of the new range
                    }
                    if (!cluster.config().snapshots()) {
                        continue; // without a snapshot channel the node cannot join (see joinMissingReplicas)
                    }
                    missedBySnapshot++;
                    missing += " (it installed a snapshot of range " + a.parentId() + " at " + installed + ", past the split,"
                            + " and did not join the new range, which lists it)";
                }
                if (missing != null) {
                    cluster.checker().violation(Kind.SPLIT_MISSING, "node " + n.id + " holds range " + a.parentId()
                            + " at epoch " + parent.getEpoch() + ", past the split acknowledged at index " + a.index() + ", with "
                            + missing + (heard ? " (it applied the split)" : ""));
                }
            }
        }
    }

    /** Whether the newest descriptor of {@code rangeId} lists node {@code node} (a range nobody holds lists everyone it had). */
    private boolean listedIn(long rangeId, long node) {
        RangeDescriptor newest = newestById().get(rangeId);
        return newest == null || RouteTable.hasReplicaOn(newest, node);
    }

    private static boolean contains(long[] ids, long id) {
        for (long x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    private String describeAll() {
        StringBuilder b = new StringBuilder();
        for (RangeDescriptor d : newestRanges().values()) {
            b.append(describe(d)).append(' ');
        }
        return b.toString().trim();
    }

    static String describe(RangeDescriptor d) {
        return d.getRangeId() + KeyFormat.describeInterval(d.getStartKey(), d.getEndKey()) + "@" + d.getEpoch();
    }
}
