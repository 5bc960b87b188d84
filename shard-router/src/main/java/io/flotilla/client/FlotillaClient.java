package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.BatchWriteResponse;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.CompareAndSetResponse;
import io.flotilla.kv.proto.DeleteRequest;
import io.flotilla.kv.proto.ExplainRangeRequest;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.HostReplicaRequest;
import io.flotilla.kv.proto.HostReplicaResponse;
import io.flotilla.kv.proto.ListMovesRequest;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveReplicaRequest;
import io.flotilla.kv.proto.MoveReplicaResponse;
import io.flotilla.kv.proto.MoveStepRequest;
import io.flotilla.kv.proto.MoveStepResponse;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.NodeStatusRequest;
import io.flotilla.kv.proto.AddNodeRequest;
import io.flotilla.kv.proto.AddNodeResponse;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RecordRangesRequest;
import io.flotilla.kv.proto.RejoinReplicaRequest;
import io.flotilla.kv.proto.RejoinStep;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.kv.proto.SplitRangeRequest;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.kv.proto.TransferLeaderRequest;
import io.flotilla.kv.proto.TransferLeaderResponse;
import io.flotilla.router.MetaRange;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.KeySpace;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The Flotilla client: get, put, delete, compare-and-set, batches and scans within one range, each
 * returning a {@link CompletableFuture}. It learns the ranges from the seeds (and the nodes they
 * name), sends each call to the leader of its key's range, follows leader changes, splits and
 * moves, and retries within the call's deadline; a retried write is applied once. Errors end the
 * future with a {@link FlotillaException} subclass. {@link #sync()} gives a blocking view.
 *
 * <p>Thread-safe: any thread may call it. The client owns one I/O thread (a Netty event loop) that
 * owns its connections, routes and sessions; futures complete on that thread unless the builder
 * was given a {@code callbackExecutor}, so a callback must not block unless one was given.
 * {@link #close()} ends that thread.
 */
public final class FlotillaClient implements AutoCloseable {
    private static final long CLOSE_TIMEOUT_MS = 5_000;

    private final ClientConfig config;
    private final long clientId;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final RequestDispatcher dispatcher;
    private final Semaphore inFlightPermits;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final BlockingFlotillaClient blocking;

    private FlotillaClient(ClientConfig config) {
        this.config = config;
        SecureRandom seedSource = new SecureRandom();
        long id;
        do {
            id = seedSource.nextLong();
        } while (id == 0);
        this.clientId = id;
        this.group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("flotilla-client-" + Long.toHexString(clientId), true), NioIoHandler.newFactory());
        this.loop = group.next();
        this.inFlightPermits = new Semaphore(config.maxInFlight());
        this.dispatcher = new RequestDispatcher(config, loop, clientId, new SplittableRandom(seedSource.nextLong()),
                inFlightPermits::release);
        this.blocking = new BlockingFlotillaClient(this);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The random 64-bit id of this client instance, which its writes carry. */
    public long clientId() {
        return clientId;
    }

    /** A blocking view of this client. */
    public BlockingFlotillaClient sync() {
        return blocking;
    }

    /** The value at {@code key}, or null if it is absent; read linearizably. */
    public CompletableFuture<byte[]> get(byte[] key) {
        return get(key, ReadConsistency.LINEARIZABLE);
    }

    /** The value at {@code key}, or null if it is absent, read at {@code consistency}. */
    public CompletableFuture<byte[]> get(byte[] key, ReadConsistency consistency) {
        ByteString k = copy(key, "key");
        Objects.requireNonNull(consistency, "consistency");
        return submit(new Operation<>("get " + KeyFormat.describe(k), k, false, consistency, Response.BodyCase.GET,
                (request, range) -> request.setGet(GetRequest.newBuilder().setKey(k)),
                (response, range) -> {
                    GetResponse get = response.getGet();
                    return get.getFound() ? get.getValue().toByteArray() : null;
                }));
    }

    /** The value at {@code key} as UTF-8 text, or null if it is absent. */
    public CompletableFuture<String> get(String key) {
        return get(utf8(key, "key")).thenApply(value -> value == null ? null : new String(value, StandardCharsets.UTF_8));
    }

    /** Writes {@code value} at {@code key}. */
    public CompletableFuture<Void> put(byte[] key, byte[] value) {
        ByteString k = copy(key, "key");
        ByteString v = copy(value, "value");
        return submit(new Operation<>("put " + KeyFormat.describe(k), k, true, ReadConsistency.LINEARIZABLE, Response.BodyCase.PUT,
                (request, range) -> request.setPut(PutRequest.newBuilder().setKey(k).setValue(v)),
                (response, range) -> null));
    }

    /** Writes {@code value} at {@code key}, both as UTF-8 text. */
    public CompletableFuture<Void> put(String key, String value) {
        return put(utf8(key, "key"), utf8(value, "value"));
    }

    /** Deletes {@code key}; completes with whether it existed. */
    public CompletableFuture<Boolean> delete(byte[] key) {
        ByteString k = copy(key, "key");
        return submit(new Operation<>("delete " + KeyFormat.describe(k), k, true, ReadConsistency.LINEARIZABLE,
                Response.BodyCase.DELETE,
                (request, range) -> request.setDelete(DeleteRequest.newBuilder().setKey(k)),
                (response, range) -> response.getDelete().getExisted()));
    }

    public CompletableFuture<Boolean> delete(String key) {
        return delete(utf8(key, "key"));
    }

    /**
     * Writes {@code newValue} at {@code key} if its value is {@code expected} now, or if it is absent
     * and {@code expected} is null.
     */
    public CompletableFuture<CasResult> compareAndSet(byte[] key, byte[] expected, byte[] newValue) {
        ByteString v = copy(newValue, "new value");
        return compareAndSet(key, expected, false, v);
    }

    /** Deletes {@code key} if its value is {@code expected} now. */
    public CompletableFuture<CasResult> compareAndDelete(byte[] key, byte[] expected) {
        Objects.requireNonNull(expected, "expected value (a delete of an absent key has nothing to compare)");
        return compareAndSet(key, expected, true, ByteString.EMPTY);
    }

    private CompletableFuture<CasResult> compareAndSet(byte[] key, byte[] expected, boolean deleteOnSuccess, ByteString newValue) {
        ByteString k = copy(key, "key");
        CompareAndSetRequest.Builder cas = CompareAndSetRequest.newBuilder().setKey(k).setNewValue(newValue)
                .setDeleteOnSuccess(deleteOnSuccess);
        if (expected == null) {
            cas.setExpectAbsent(true);
        } else {
            cas.setExpectedValue(ByteString.copyFrom(expected));
        }
        CompareAndSetRequest body = cas.build();
        byte[] written = deleteOnSuccess ? null : newValue.toByteArray();
        return submit(new Operation<>((deleteOnSuccess ? "compare-and-delete " : "compare-and-set ") + KeyFormat.describe(k), k, true,
                ReadConsistency.LINEARIZABLE, Response.BodyCase.COMPARE_AND_SET,
                (request, range) -> request.setCompareAndSet(body),
                (response, range) -> {
                    CompareAndSetResponse result = response.getCompareAndSet();
                    if (result.getSucceeded()) {
                        return new CasResult(true, written);
                    }
                    return new CasResult(false, result.getCurrentFound() ? result.getCurrentValue().toByteArray() : null);
                }));
    }

    /**
     * Applies {@code batch} atomically: all its conditions hold and all its writes apply, or nothing
     * does. Its keys must lie in one range, else the call fails with {@link KeysSpanRangesException}.
     */
    public CompletableFuture<BatchResult> batch(WriteBatch batch) {
        Objects.requireNonNull(batch, "batch");
        if (batch.isEmpty()) {
            throw new IllegalArgumentException("an empty batch has nothing to apply");
        }
        BatchWriteRequest body = batch.toRequest();
        List<ByteString> keys = batch.keys();
        ByteString first = keys.get(0);
        String description = "batch of " + body.getOpsCount() + " writes and " + body.getConditionsCount()
                + " conditions at " + KeyFormat.describe(first);
        return submit(new Operation<>(description, first, true, ReadConsistency.LINEARIZABLE, Response.BodyCase.BATCH_WRITE,
                (request, range) -> {
                    for (ByteString key : keys) {
                        if (!KeySpace.contains(range, key)) {
                            throw new KeysSpanRangesException(description + " names " + KeyFormat.describe(key)
                                    + ", outside range " + range.getRangeId() + " "
                                    + KeyFormat.describeInterval(range.getStartKey(), range.getEndKey())
                                    + " that holds its first key. A batch is atomic within one range only; split it by range.");
                        }
                    }
                    request.setBatchWrite(body);
                },
                (response, range) -> {
                    BatchWriteResponse result = response.getBatchWrite();
                    if (result.getSucceeded()) {
                        return new BatchResult(true, -1, null);
                    }
                    return new BatchResult(false, result.getFailedCondition(),
                            result.getCurrentFound() ? result.getCurrentValue().toByteArray() : null);
                }));
    }

    /** Up to {@code limit} entries of {@code [start, end)} (null end: no bound) in the range holding {@code start}, read linearizably. */
    public CompletableFuture<ScanResult> scan(byte[] start, byte[] end, int limit) {
        return scan(start, end, limit, ReadConsistency.LINEARIZABLE);
    }

    /**
     * Up to {@code limit} entries of {@code [start, end)} (null end: no bound), in key order, from the
     * one range holding {@code start}. When the interval goes beyond that range, or more keys remain,
     * the result's continuation is where the next call starts. A limit of 0 takes the node's page limit.
     */
    public CompletableFuture<ScanResult> scan(byte[] start, byte[] end, int limit, ReadConsistency consistency) {
        ByteString from = copy(start, "start key");
        ByteString to = end == null ? ByteString.EMPTY : ByteString.copyFrom(end);
        if (limit < 0) {
            throw new IllegalArgumentException("a scan limit is 0 (the node's page limit) or more, not " + limit);
        }
        if (!to.isEmpty() && KeySpace.compare(from, to) >= 0) {
            return CompletableFuture.completedFuture(new ScanResult(List.of(), null));
        }
        Objects.requireNonNull(consistency, "consistency");
        return submit(new Operation<>("scan " + KeyFormat.describeInterval(from, to), from, false, consistency, Response.BodyCase.SCAN,
                (request, range) -> request.setScan(ScanRequest.newBuilder().setStartKey(from)
                        .setEndKey(endWithin(range, to)).setLimit(limit)),
                (response, range) -> readScan(response.getScan(), range, to)));
    }

    /** The scan's end inside {@code range}: the caller's end if the range holds it, else empty (the range's end). */
    private static ByteString endWithin(RangeDescriptor range, ByteString end) {
        if (end.isEmpty()) {
            return ByteString.EMPTY;
        }
        boolean rangeEndsFirst = !range.getEndKey().isEmpty() && KeySpace.compare(range.getEndKey(), end) < 0;
        return rangeEndsFirst ? ByteString.EMPTY : end;
    }

    private static ScanResult readScan(ScanResponse scan, RangeDescriptor range, ByteString end) {
        List<ScanEntry> entries = new ArrayList<>(scan.getEntriesCount());
        for (KeyValue entry : scan.getEntriesList()) {
            entries.add(new ScanEntry(entry.getKey().toByteArray(), entry.getValue().toByteArray()));
        }
        byte[] continuation = null;
        if (scan.getMore()) {
            continuation = scan.getContinuationKey().toByteArray();
        } else if (!range.getEndKey().isEmpty() && (end.isEmpty() || KeySpace.compare(range.getEndKey(), end) < 0)) {
            continuation = range.getEndKey().toByteArray(); // the interval goes on in the next range
        }
        return new ScanResult(entries, continuation);
    }

    /**
     * Admin, used by a node that lost its data directory ({@code flotilla start --join}): asks the
     * leader of the range that holds {@code key} to take the next step of replacing node
     * {@code nodeId}'s old replica with its new one, whose applied index is {@code appliedIndex}
     * (0 while it holds nothing). Returns where the rejoin stands; repeat until
     * {@link RejoinStep#DONE}. Each step is one membership change, taken only if the range's
     * membership still calls for it, so repeating is safe.
     */
    public CompletableFuture<RejoinStep> rejoinReplica(byte[] key, long nodeId, long appliedIndex) {
        ByteString k = copy(key, "key");
        RejoinReplicaRequest body = RejoinReplicaRequest.newBuilder().setNodeId(nodeId).setAppliedIndex(appliedIndex).build();
        return submit(new Operation<>("rejoin of node " + nodeId + " to the range of " + KeyFormat.describe(k), k, false,
                ReadConsistency.LINEARIZABLE, Response.BodyCase.REJOIN_REPLICA,
                (request, range) -> request.setRejoinReplica(body),
                (response, range) -> response.getRejoinReplica().getStep()));
    }

    /**
     * Node to node, as {@link #rejoinReplica} for the meta range (the range that records every
     * range's descriptor, found by route lookups like any other range).
     */
    public CompletableFuture<RejoinStep> rejoinMetaReplica(long nodeId, long appliedIndex) {
        RejoinReplicaRequest body = RejoinReplicaRequest.newBuilder().setNodeId(nodeId).setAppliedIndex(appliedIndex).build();
        return submit(new Operation<>("rejoin of node " + nodeId + " to the meta range", null, false,
                ReadConsistency.LINEARIZABLE, Response.BodyCase.REJOIN_REPLICA,
                (request, range) -> request.setRejoinReplica(body),
                (response, range) -> response.getRejoinReplica().getStep()));
    }

    /**
     * Node to node: records {@code ranges} in the meta range, the cluster's directory of ranges,
     * which route lookups answer from. Each descriptor is kept only if it is newer (epoch, then conf
     * version) than the one held for its range, so repeating a record, or a late one, is harmless.
     * Completes with how many were kept. Nodes call this for the ranges they lead; applications
     * have no need to.
     */
    public CompletableFuture<Integer> recordRanges(List<RangeDescriptor> ranges) {
        RecordRangesRequest body = RecordRangesRequest.newBuilder().addAllRanges(ranges).build();
        return submit(new Operation<>("record of " + ranges.size() + " range descriptors in the meta range", null, true,
                ReadConsistency.LINEARIZABLE, Response.BodyCase.RECORD_RANGES,
                (request, range) -> request.setRecordRanges(body),
                (response, range) -> response.getRecordRanges().getRecorded()));
    }

    /**
     * Admin: splits the range that holds {@code splitKey} at that key. The range keeps the keys
     * below it and a new range, on the same nodes, takes the rest; both are at a new epoch, and
     * calls routed by the old one are routed again transparently. Completes with both descriptors
     * once the split is applied on the range's leader. If a range already starts at
     * {@code splitKey} there is nothing to split: it completes with that range as {@code right} and
     * {@code already_split} set, so a split is safe to retry.
     */
    public CompletableFuture<SplitRangeResponse> splitRange(byte[] splitKey) {
        ByteString k = copy(splitKey, "split key");
        SplitRangeRequest body = SplitRangeRequest.newBuilder().setSplitKey(k).build();
        return submit(new Operation<>("split at " + KeyFormat.describe(k), k, false, ReadConsistency.LINEARIZABLE,
                Response.BodyCase.SPLIT_RANGE, (request, range) -> request.setSplitRange(body),
                (response, range) -> response.getSplitRange()));
    }

    /**
     * Admin: splits the range that holds {@code keyInRange} at its middle key by stored bytes, which
     * the range's leader finds (reading the range's keys once). Otherwise as {@link #splitRange}; fails
     * with {@link InvalidArgumentException} if the range holds fewer than two keys.
     */
    public CompletableFuture<SplitRangeResponse> splitRangeAtMiddle(byte[] keyInRange) {
        ByteString k = copy(keyInRange, "key");
        return submit(new Operation<>("split of the range of " + KeyFormat.describe(k) + " at its middle key", k, false,
                ReadConsistency.LINEARIZABLE, Response.BodyCase.SPLIT_RANGE,
                (request, range) -> request.setSplitRange(SplitRangeRequest.getDefaultInstance()),
                (response, range) -> response.getSplitRange()));
    }

    /**
     * Admin: asks the leader of the range that holds {@code keyInRange} to hand its leadership to
     * node {@code targetNodeId}, one of the range's voters. Completes once the transfer has begun
     * (with the node that began it); the target leads within about an election timeout if it is up
     * and has caught up, which {@link #nodeStatus} of the target shows. Fails with
     * {@link InvalidArgumentException} if the target is not a voter of the range.
     */
    public CompletableFuture<TransferLeaderResponse> transferLeader(byte[] keyInRange, long targetNodeId) {
        ByteString k = copy(keyInRange, "key");
        TransferLeaderRequest body = TransferLeaderRequest.newBuilder().setTargetNodeId(targetNodeId).build();
        return submit(new Operation<>("transfer of the leadership of the range of " + KeyFormat.describe(k) + " to node "
                + targetNodeId, k, false, ReadConsistency.LINEARIZABLE, Response.BodyCase.TRANSFER_LEADER,
                (request, range) -> request.setTransferLeader(body),
                (response, range) -> response.getTransferLeader()));
    }

    /**
     * Admin: moves range {@code rangeId}'s replica from node {@code fromNodeId} to node
     * {@code toNodeId}. The move is recorded in the meta range, whose leader drives it (the target
     * joins as a learner, receives a snapshot, catches up and is promoted; the leaving replica hands
     * off its leadership if it leads, then is removed). Completes once the move is recorded, with
     * the move now recorded for the range ({@code already_moving} if the range was moving already:
     * that move, not a new one). Follow it with {@link #listMoves}. Fails with
     * {@link InvalidArgumentException} if the meta range refuses it (an unknown range or node, the
     * leaving node not a replica, the target one already).
     */
    public CompletableFuture<MoveReplicaResponse> moveReplica(long rangeId, long fromNodeId, long toNodeId, String reason) {
        MoveReplicaRequest body = MoveReplicaRequest.newBuilder().setRangeId(rangeId).setFromNodeId(fromNodeId)
                .setToNodeId(toNodeId).setReason(reason).build();
        return submit(new Operation<>("move of range " + rangeId + " from node " + fromNodeId + " to node " + toNodeId,
                null, true, ReadConsistency.LINEARIZABLE, Response.BodyCase.MOVE_REPLICA,
                (request, range) -> request.setMoveReplica(body),
                (response, range) -> response.getMoveReplica()));
    }

    /**
     * Admin: changes the cluster's settings for placing replicas (see {@link UpdateSettingsRequest}:
     * drain a node for decommissioning, switch the balancer, set how long a node may be down before
     * its replicas are made again elsewhere). Completes with the settings now in force.
     */
    public CompletableFuture<ClusterSettings> updateSettings(UpdateSettingsRequest update) {
        return submit(new Operation<>("update of the cluster's settings", null, true, ReadConsistency.LINEARIZABLE,
                Response.BodyCase.UPDATE_SETTINGS, (request, range) -> request.setUpdateSettings(update),
                (response, range) -> response.getUpdateSettings()));
    }

    /**
     * Admin: adds node {@code node} (its id and every address) to the cluster: it is recorded in the
     * meta range and every node learns it within a few seconds. Start the node with {@code --join};
     * the balancer then moves replicas to it. Safe to repeat.
     */
    public CompletableFuture<AddNodeResponse> addNode(NodeAddress node) {
        AddNodeRequest body = AddNodeRequest.newBuilder().setNode(node).build();
        return submit(new Operation<>("addition of node " + node.getNodeId(), null, true, ReadConsistency.LINEARIZABLE,
                Response.BodyCase.ADD_NODE, (request, range) -> request.setAddNode(body),
                (response, range) -> response.getAddNode()));
    }

    /** Admin: the moves in progress, and the last ones that ended, as the meta range's leader drives them. */
    public CompletableFuture<ListMovesResponse> listMoves() {
        return submit(new Operation<>("list of moves", null, false, ReadConsistency.LINEARIZABLE,
                Response.BodyCase.LIST_MOVES, (request, range) -> request.setListMoves(ListMovesRequest.getDefaultInstance()),
                (response, range) -> response.getListMoves()));
    }

    /**
     * Node to node (the meta range's leader driving a move): asks the leader of {@code range} to
     * take the next step of moving its replica from {@code fromNodeId} to {@code toNodeId}; each
     * step is taken only if the range's membership still calls for it, so asking again is safe.
     */
    public CompletableFuture<MoveStepResponse> moveStep(RangeDescriptor range, long fromNodeId, long toNodeId) {
        MoveStepRequest body = MoveStepRequest.newBuilder().setFromNodeId(fromNodeId).setToNodeId(toNodeId).build();
        long rangeId = range.getRangeId();
        // The meta range moves too; no key routes to it (its start key is that of the first range).
        ByteString routingKey = MetaRange.isMeta(range) ? null : range.getStartKey();
        return submit(new Operation<>("step of the move of range " + rangeId + " from node " + fromNodeId + " to node "
                + toNodeId, routingKey, false, ReadConsistency.LINEARIZABLE, Response.BodyCase.MOVE_STEP,
                (request, routed) -> {
                    if (routed.getRangeId() != rangeId) {
                        throw new FlotillaException("range " + rangeId + " no longer starts at "
                                + KeyFormat.describe(range.getStartKey()) + " (range " + routed.getRangeId() + " does)");
                    }
                    request.setMoveStep(body);
                },
                (response, routed) -> response.getMoveStep()));
    }

    /**
     * Node to node: asks the node at {@code address} to start an empty replica of {@code range},
     * which the range's leader then fills by snapshot (the first step of a move to that node).
     */
    public CompletableFuture<HostReplicaResponse> hostReplica(String address, RangeDescriptor range) {
        return askDirectly(address, "start of a replica of range " + range.getRangeId(),
                r -> r.setHostReplica(HostReplicaRequest.newBuilder().setRange(range)))
                .thenApply(response -> answer(response, Response::hasHostReplica, address, "start of a replica")
                        .getHostReplica());
    }

    /**
     * What the node at {@code address} ({@code host:port} of its client listener) reports about
     * itself: its ranges, the leaders it holds, each replica's applied index, and its counters. Asks
     * that node only (no routing, no retries), within the client's request timeout.
     */
    public CompletableFuture<NodeStatusResponse> nodeStatus(String address) {
        return askDirectly(address, "node status", r -> r.setNodeStatus(NodeStatusRequest.getDefaultInstance()))
                .thenApply(response -> answer(response, Response::hasNodeStatus, address, "node status").getNodeStatus());
    }

    /**
     * The ranges the node at {@code address} knows, with every node's address and the meta range:
     * from a replica of the meta range, every range the cluster has recorded ({@code source} says
     * whether it leads the meta range or follows it); from another node, the ranges it hosts. Asks
     * that node only (no routing, no retries), within the client's request timeout.
     */
    public CompletableFuture<RouteLookupResponse> routeLookup(String address) {
        return askDirectly(address, "route lookup", r -> r.setRouteLookup(RouteLookupRequest.getDefaultInstance()))
                .thenApply(response -> answer(response, Response::hasRouteLookup, address, "route lookup").getRouteLookup());
    }

    /**
     * Admin ({@code flotilla why}): what the node at {@code address} records about its replica of
     * range {@code rangeId} (its elections, votes, lease, progress, snapshots). Any replica answers,
     * not only the leader. Completes with null if that node hosts no replica of the range. Asks that
     * node only (no routing, no retries), within the client's request timeout.
     */
    public CompletableFuture<ExplainRangeResponse> explainRange(String address, long rangeId) {
        return askDirectly(address, "explanation of range " + rangeId, r -> {
            r.getHeaderBuilder().setRangeId(rangeId);
            r.setExplainRange(ExplainRangeRequest.getDefaultInstance());
        }).thenApply(response -> response.hasError() && response.getError().hasRangeNotFound() ? null
                : answer(response, Response::hasExplainRange, address, "explanation of range " + rangeId).getExplainRange());
    }

    private CompletableFuture<Response> askDirectly(String address, String what, Consumer<Request.Builder> body) {
        HostPort node = HostPort.parse(address);
        CompletableFuture<Response> answer = new CompletableFuture<>();
        if (closed.get()) {
            answer.completeExceptionally(ErrorTranslator.closed(what + " of " + address));
        } else {
            Request.Builder request = Request.newBuilder()
                    .setHeader(RequestHeader.newBuilder().setClusterId(config.clusterId())
                            .setTimeoutMs((int) Math.min(Integer.MAX_VALUE, config.requestTimeout().toMillis())));
            body.accept(request);
            loop.execute(() -> dispatcher.sendDirect(node, request, config.requestTimeout().toNanos(), answer));
        }
        return answer;
    }

    private Response answer(Response response, Predicate<Response> expected, String address, String what) {
        if (expected.test(response)) {
            return response;
        }
        if (response.hasError() && response.getError().hasClusterMismatch()) {
            throw ErrorTranslator.clusterMismatch(address, config.clusterId(), response.getError());
        }
        if (response.hasError() && response.getError().hasInvalidArgument()) {
            throw new InvalidArgumentException(what + " of " + address + " refused: " + response.getError().getMessage());
        }
        throw new FlotillaException(what + " of " + address + " refused: " + response.getError().getMessage());
    }

    /**
     * Fails every call in flight with {@link ClientClosedException}, closes the connections and ends
     * the client's I/O thread, waiting for it unless called on it. Idempotent.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                loop.execute(dispatcher::close);
            } catch (RejectedExecutionException alreadyShutDown) {
                // nothing left to fail
            }
            group.shutdownGracefully(0, CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        }
        if (!loop.inEventLoop()) {
            Future<?> terminated = group.terminationFuture();
            if (!terminated.awaitUninterruptibly(CLOSE_TIMEOUT_MS * 2)) {
                throw new FlotillaException("the client's I/O thread did not stop within " + CLOSE_TIMEOUT_MS * 2
                        + " ms of close(); a callback may be blocking it");
            }
        }
    }

    /** Whether the current thread is the client's I/O thread, on which nothing may block. */
    boolean inIoThread() {
        return loop.inEventLoop();
    }

    /** Runs {@code task} on the client's I/O thread; for tests that inspect its state. */
    <T> CompletableFuture<T> onIoThread(Function<RequestDispatcher, T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                result.complete(task.apply(dispatcher));
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private <T> CompletableFuture<T> submit(Operation<T> op) {
        if (closed.get()) {
            op.future.completeExceptionally(ErrorTranslator.closed(op.description));
            return op.future;
        }
        if (!inFlightPermits.tryAcquire()) {
            op.future.completeExceptionally(new ClientOverloadedException(op.description + " was refused: "
                    + config.maxInFlight() + " calls are in flight already (maxInFlight). Wait for some to complete,"
                    + " or raise maxInFlight."));
            return op.future;
        }
        op.startNs = System.nanoTime();
        op.deadlineNs = op.startNs + config.requestTimeout().toNanos();
        try {
            loop.execute(() -> dispatcher.submit(op));
        } catch (RejectedExecutionException e) {
            inFlightPermits.release();
            op.future.completeExceptionally(ErrorTranslator.closed(op.description));
        }
        return op.future;
    }

    private static ByteString copy(byte[] bytes, String what) {
        return ByteString.copyFrom(Objects.requireNonNull(bytes, what));
    }

    private static byte[] utf8(String text, String what) {
        return Objects.requireNonNull(text, what).getBytes(StandardCharsets.UTF_8);
    }

    /** Settings for a {@link FlotillaClient}. Used by the thread that builds the client. */
    public static final class Builder {
        private final List<HostPort> seeds = new ArrayList<>();
        private Long clusterId;
        private Duration requestTimeout = Duration.ofSeconds(5);
        private Duration attemptTimeout = Duration.ofMillis(1_500);
        private Duration connectTimeout = Duration.ofSeconds(2);
        private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
        private int maxInFlight = 10_000;
        private int maxFrameBytes = 32 << 20;
        private Executor callbackExecutor;

        private Builder() {
        }

        /** Nodes to learn the cluster's ranges from, as {@code host:port} client addresses; at least one. */
        public Builder seeds(String... addresses) {
            for (String address : addresses) {
                seeds.add(HostPort.parse(address));
            }
            return this;
        }

        /** The id of the cluster; a node of another cluster refuses the client's requests. Required. */
        public Builder clusterId(long clusterId) {
            this.clusterId = clusterId;
            return this;
        }

        /** The deadline of each call, across all its retries (default 5 s). */
        public Builder requestTimeout(Duration requestTimeout) {
            this.requestTimeout = requestTimeout;
            return this;
        }

        /** How long one attempt waits for its answer before the call retries (default 1.5 s, at most the request timeout). */
        public Builder attemptTimeout(Duration attemptTimeout) {
            this.attemptTimeout = attemptTimeout;
            return this;
        }

        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** At most {@code maxAttempts} attempts per call (default 30), with the default backoff. */
        public Builder retryBudget(int maxAttempts) {
            this.retryPolicy = new RetryPolicy(maxAttempts, retryPolicy.initialBackoff(), retryPolicy.maxBackoff());
            return this;
        }

        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
            return this;
        }

        /** Calls in flight at once (default 10,000); beyond it calls fail at once with {@link ClientOverloadedException}. */
        public Builder maxInFlight(int maxInFlight) {
            this.maxInFlight = maxInFlight;
            return this;
        }

        /** The largest request or response frame (default 32 MiB, as the nodes'). */
        public Builder maxFrameBytes(int maxFrameBytes) {
            this.maxFrameBytes = maxFrameBytes;
            return this;
        }

        /**
         * Where futures complete (default: the client's I/O thread, on which callbacks must not block).
         * A callback that makes a blocking call needs another thread of this executor free to complete it.
         */
        public Builder callbackExecutor(Executor callbackExecutor) {
            this.callbackExecutor = callbackExecutor;
            return this;
        }

        public FlotillaClient build() {
            if (clusterId == null) {
                throw new IllegalStateException("clusterId is not set: pass the id of the cluster the seeds belong to");
            }
            return new FlotillaClient(new ClientConfig(seeds, clusterId, requestTimeout, attemptTimeout, connectTimeout,
                    retryPolicy, maxInFlight, maxFrameBytes, callbackExecutor));
        }
    }
}
