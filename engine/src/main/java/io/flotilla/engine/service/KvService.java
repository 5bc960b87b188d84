package io.flotilla.engine.service;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvErrors;
import io.flotilla.engine.kv.RangeSplitter;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.router.KeyFormat;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import io.flotilla.wal.Wal;
import java.util.List;
import io.flotilla.wal.WalRecordEncoder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing service of one node: maps each {@link Request} to the runtime and the state
 * machine. Every request is checked by the {@link RequestValidator} (cluster, range, epoch, limits,
 * keys — an error is answered at once, nothing is proposed), then writes go to the {@link WritePath},
 * reads to the {@link ReadPath}, route lookups and node status to the {@link StatusService}, a
 * replica's account of its range's health to the {@link RangeExplainer}, a
 * rejoining node's requests to the {@link RejoinService}; a split is proposed like a write. Every
 * request is answered exactly once, by its deadline ({@code timeout_ms}, or the node's default)
 * at the latest: a write the runtime has not answered by then gets Timeout (its outcome is unknown),
 * a read Unavailable. {@link #handle} runs on the connection's event loop; answers come from any
 * thread through the connection's {@link ResponseWriter}.
 */
public final class KvService implements RequestHandler {
    private static final Logger LOG = LoggerFactory.getLogger(KvService.class);
    /** A repeated split that finds the split's right side here but not yet its left asks again after this. */
    private static final int SPLIT_APPLYING_RETRY_MS = 10;

    private final long nodeId;
    private final int defaultTimeoutMs;
    private final KvStateMachine stateMachine;
    private final RequestValidator validator;
    private final WritePath writes;
    private final ReadPath reads;
    private final StatusService status;
    private final RejoinService rejoins;
    private final LeaderTransfers leaderTransfers;
    private final MoveService moves;
    private final RangeExplainer explainer;
    private final LongSupplier clockMs;
    private final LongSupplier newRangeIds;
    private final RangeLoad load;
    private final MultiRaftNode runtime;
    private final LeaderHints hints;
    private java.util.concurrent.ExecutorService middleKeys;
    private final ServiceMetrics metrics;
    private volatile boolean stopping;

    public KvService(long nodeId, long clusterId, int defaultTimeoutMs, MultiRaftNode runtime, Wal wal,
            KvStateMachine stateMachine, KvLimits limits, ClusterDirectory directory, LongSupplier clockMs,
            LongSupplier newRangeIds, RangeLoad load, ServiceMetrics metrics, MoveSources moveSources,
            KnownMetaRange knownMeta) {
        this.metrics = metrics;
        this.nodeId = nodeId;
        this.defaultTimeoutMs = defaultTimeoutMs;
        this.stateMachine = stateMachine;
        this.clockMs = clockMs;
        this.newRangeIds = newRangeIds;
        this.load = load;
        this.validator = new RequestValidator(nodeId, clusterId, limits);
        this.runtime = runtime;
        this.hints = new LeaderHints(nodeId, runtime, directory);
        this.writes = new WritePath(runtime, stateMachine, hints,
                WalRecordEncoder.maxEntryPayloadBytes(wal.config().maxRecordBytes()));
        this.reads = new ReadPath(runtime, stateMachine, hints);
        this.rejoins = new RejoinService(runtime, hints);
        this.leaderTransfers = new LeaderTransfers(nodeId, runtime, hints);
        this.moves = new MoveService(nodeId, runtime, hints, directory, stateMachine, moveSources);
        this.explainer = new RangeExplainer(nodeId, runtime, stateMachine);
        this.status = new StatusService(nodeId, clusterId, runtime, stateMachine, wal, directory, knownMeta, metrics::answered,
                moveSources::rejoining);
    }

    /** From now on every request is answered Unavailable (the node is shutting down). Any thread. */
    public void stopServing() {
        stopping = true;
        moves.close();
    }

    /** Requests answered since the node started. */
    public long requestsServed() {
        return metrics.answered();
    }

    @Override
    public void handle(Request request, ResponseWriter out) {
        Reply reply = new Reply(request.getRequestId(), request.getBodyCase(), out, metrics);
        try {
            dispatch(request, reply);
        } catch (RuntimeException e) {
            LOG.error("request {} ({}) failed", request.getRequestId(), request.getBodyCase(), e);
            reply.fail(KvErrors.internal("the node failed to handle the request (" + e + "); this is a bug in the node:"
                    + " report it"));
        }
    }

    private void dispatch(Request request, Reply reply) {
        if (stopping) {
            reply.fail(Errors.unavailable("node " + nodeId + " is shutting down: retry with another replica"));
            return;
        }
        RequestHeader header = request.getHeader();
        Error error = validator.checkCluster(header);
        if (error != null) {
            reply.fail(error);
            return;
        }
        switch (request.getBodyCase()) {
            case ROUTE_LOOKUP:
                reply.send(status.routeLookup(request.getRouteLookup()));
                return;
            case NODE_STATUS:
                reply.send(status.nodeStatus());
                return;
            case HOST_REPLICA:
                moves.host(request.getHostReplica(), reply);
                return;
            case LIST_MOVES:
                listMoves(reply);
                return;
            case EXPLAIN_RANGE:
                // Any replica answers, whatever the request's epoch: the range may have no leader.
                reply.armDeadline(deadlineAfterMs(header), () -> Errors.unavailable("node " + nodeId
                        + " did not report on range " + header.getRangeId() + " in time: its worker is busy, ask again"));
                explainer.explain(header.getRangeId(), reply);
                return;
            case BODY_NOT_SET:
                reply.fail(KvErrors.internal("the request carries no operation this node knows (is the client newer than"
                        + " the node?)"));
                return;
            default:
                break;
        }
        long groupId = header.getRangeId();
        RangeDescriptor range = stateMachine.descriptor(groupId);
        error = validator.checkRange(header, range);
        if (error != null) {
            if (error.hasEpochMismatch()) {
                error = withCurrentRanges(error, range, request);
            } else if (error.hasRangeNotFound()) {
                error = withRangesHoldingKey(error, request);
            }
            reply.fail(error);
            return;
        }
        error = validator.checkMetaUse(request, range);
        if (error != null) {
            reply.fail(error);
            return;
        }
        if (request.getBodyCase() == Request.BodyCase.SPLIT_RANGE) {
            split(groupId, range, request, reply);
            return;
        }
        if (request.getBodyCase() == Request.BodyCase.MOVE_STEP) {
            armDeadline(header, reply, false);
            moves.step(groupId, request.getMoveStep(), reply);
            return;
        }
        if (request.getBodyCase() == Request.BodyCase.MOVE_REPLICA) {
            error = moves.checkStart(request.getMoveReplica());
        } else if (request.getBodyCase() == Request.BodyCase.UPDATE_SETTINGS) {
            error = moves.checkSettings(request.getUpdateSettings(), stateMachine.recordedSettings());
        } else if (request.getBodyCase() == Request.BodyCase.ADD_NODE) {
            error = moves.checkAddNode(request.getAddNode());
        }
        if (error != null) {
            reply.fail(error);
            return;
        }
        if (request.getBodyCase() == Request.BodyCase.TRANSFER_LEADER) {
            leaderTransfers.transfer(groupId, request.getTransferLeader(), reply);
            return;
        }
        if (request.getBodyCase() == Request.BodyCase.REJOIN_REPLICA) {
            reply.armDeadline(deadlineAfterMs(header), () -> Errors.timeout("range " + groupId + " did not apply the"
                    + " rejoin step in time: ask again (each step is taken only if the membership still calls for it)"));
            rejoins.rejoin(groupId, request.getRejoinReplica(), reply);
            return;
        }
        boolean write = WriteCommands.isWrite(request);
        load.record(groupId, RequestValidator.firstKey(request), write);
        if (write) {
            WriteCommand command = WriteCommands.command(request, clockMs.getAsLong());
            error = firstOf(validator.checkWrite(command), validator.checkKeys(request, range));
            if (error != null) {
                reply.fail(error);
                return;
            }
            armDeadline(header, reply, true);
            writes.propose(groupId, command, reply);
            return;
        }
        error = firstOf(validator.checkReadKeys(request), validator.checkKeys(request, range));
        if (error != null) {
            reply.fail(error);
            return;
        }
        armDeadline(header, reply, false);
        switch (request.getBodyCase()) {
            case GET:
                reads.get(range, request.getGet(), header.getConsistency(), reply);
                return;
            case SCAN:
                reads.scan(range, request.getScan(), header.getConsistency(), reply);
                return;
            default:
                reply.fail(KvErrors.internal("request kind " + request.getBodyCase() + " is not served yet"));
        }
    }

    /** The moves, from the meta range's leader (which drives them); other nodes point there. */
    private void listMoves(Reply reply) {
        GroupView meta = runtime.groupView(MetaRange.ID);
        if (meta == null || !meta.leading()) {
            reply.fail(hints.notLeader(MetaRange.ID, meta == null ? 0 : meta.leaderNodeId()));
            return;
        }
        reply.send(moves.list());
    }

    /**
     * Proposes a split of the range (its leader answers; a follower's proposal is refused with
     * NotLeader). The new range's id is allocated here, before the proposal: every replica must
     * apply the same command.
     */
    private void split(long groupId, RangeDescriptor range, Request request, Reply reply) {
        ByteString key = request.getSplitRange().getSplitKey();
        if (key.isEmpty()) {
            splitAtMiddle(groupId, range, request, reply);
            return;
        }
        if (key.equals(range.getStartKey())) {
            // A boundary is there already: the split is done (a retry of one that applied lands here).
            SplitRangeResponse.Builder done = alreadySplit(range);
            if (done.hasLeft()) {
                reply.send(Response.newBuilder().setSplitRange(done));
            } else {
                // The split's right side is here and its left not yet: this node is applying it now.
                reply.fail(KvErrors.busy(SPLIT_APPLYING_RETRY_MS, "node " + nodeId + " is applying the split at "
                        + KeyFormat.describe(key)));
            }
            return;
        }
        Error error = firstOf(validator.checkSplitKey(key), RangeSplitter.checkSplitKey(range, key));
        if (error != null) {
            reply.fail(error);
            return;
        }
        WriteCommand command = RangeSplitter.command(request.getHeader().getRangeEpoch(), key, newRangeIds.getAsLong(),
                clockMs.getAsLong());
        armDeadline(request.getHeader(), reply, true);
        writes.propose(groupId, command, reply);
    }

    /**
     * A split with no key: at the range's middle key by stored bytes, which the leader finds by
     * reading the range's keys once — on a thread of its own, never on the event loop (a range at
     * the default split size is 128 MiB). A follower answers NotLeader without reading.
     */
    private void splitAtMiddle(long groupId, RangeDescriptor range, Request request, Reply reply) {
        GroupView view = runtime.groupView(groupId);
        if (view == null || !view.leading()) {
            reply.fail(hints.notLeader(groupId, view == null ? 0 : view.leaderNodeId()));
            return;
        }
        armDeadline(request.getHeader(), reply, true);
        middleKeys().execute(() -> {
            ByteString middle = stateMachine.middleKey(groupId);
            if (middle == null || RangeSplitter.checkSplitKey(range, middle) != null) {
                reply.fail(KvErrors.invalidArgument("range " + groupId + " holds fewer than two keys: there is no middle"
                        + " key to split it at"));
                return;
            }
            writes.propose(groupId, RangeSplitter.command(request.getHeader().getRangeEpoch(), middle,
                    newRangeIds.getAsLong(), clockMs.getAsLong()), reply);
        });
    }

    /** The answer to a split at {@code right}'s first key: {@code right}, and the hosted range that ends there. */
    private SplitRangeResponse.Builder alreadySplit(RangeDescriptor right) {
        SplitRangeResponse.Builder answer = SplitRangeResponse.newBuilder().setRight(right).setAlreadySplit(true);
        for (RangeDescriptor range : stateMachine.ranges()) {
            if (range.getEndKey().equals(right.getStartKey())) {
                answer.setLeft(range);
            }
        }
        return answer;
    }

    /** The thread that finds middle keys, started on first use (most nodes never split by hand). */
    private synchronized java.util.concurrent.ExecutorService middleKeys() {
        if (middleKeys == null) {
            middleKeys = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "flotilla-split-middle-key-" + nodeId);
                t.setDaemon(true);
                return t;
            });
        }
        return middleKeys;
    }

    /**
     * An EpochMismatch that also carries this node's descriptor of the range holding the request's
     * key, when that is another range (the key moved in a split): the client routes again at once.
     */
    private Error withCurrentRanges(Error error, RangeDescriptor range, Request request) {
        ByteString key = RequestValidator.firstKey(request);
        if (key == null || KeySpace.contains(range, key)) {
            return error;
        }
        for (RangeDescriptor other : stateMachine.ranges()) {
            if (!MetaRange.isMeta(other) && KeySpace.contains(other, key)) {
                return KvErrors.epochMismatch(range, request.getHeader().getRangeEpoch(), List.of(range, other));
            }
        }
        return error;
    }

    /**
     * A RangeNotFound that also carries the range this node holds the request's key in, if any: a
     * replica that has yet to apply a split still holds the new range's keys in the range split, at
     * the older epoch, so the client tries another replica rather than forget the new range.
     */
    private Error withRangesHoldingKey(Error error, Request request) {
        ByteString key = RequestValidator.firstKey(request);
        if (key == null) {
            return error;
        }
        for (RangeDescriptor range : stateMachine.ranges()) {
            if (KeySpace.contains(range, key)) {
                return error.toBuilder().setRangeNotFound(error.getRangeNotFound().toBuilder().addRanges(range)).build();
            }
        }
        return error;
    }

    private static Error firstOf(Error a, Error b) {
        return a != null ? a : b;
    }

    private long timeoutMs(RequestHeader header) {
        return header.getTimeoutMs() > 0 ? header.getTimeoutMs() : defaultTimeoutMs;
    }

    /** When to answer at the latest: a tenth of the time (at most 50 ms) before the client's own deadline. */
    private long deadlineAfterMs(RequestHeader header) {
        long timeoutMs = timeoutMs(header);
        return Math.max(1, timeoutMs - Math.min(50, timeoutMs / 10));
    }

    /**
     * The answer at the deadline ({@link #deadlineAfterMs}, so that it can reach the client in time).
     */
    private void armDeadline(RequestHeader header, Reply reply, boolean write) {
        long timeoutMs = timeoutMs(header);
        reply.armDeadline(deadlineAfterMs(header), () -> write
                ? Errors.timeout("range " + header.getRangeId() + " did not commit the write within " + timeoutMs
                        + " ms; its outcome is unknown. Retry with the same client id and sequence (the session makes"
                        + " the retry safe)")
                : Errors.unavailable("range " + header.getRangeId() + " could not confirm a read within " + timeoutMs
                        + " ms (no leader, or no quorum answered): retry, possibly with another replica"));
    }
}
