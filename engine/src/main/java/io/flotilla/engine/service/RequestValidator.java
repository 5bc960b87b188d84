package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.WriteOp;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;

/**
 * The checks a client request passes before it may reach a range, in the order the service applies
 * them: the cluster id, the range exists on this node, the epoch the client routed by is current,
 * sizes are within the limits (so nothing too large is ever proposed), and every key lies in the
 * range. Each returns null when the request passes, else the typed error to answer. Stateless apart
 * from its settings; any thread.
 */
final class RequestValidator {
    private final long nodeId;
    private final long clusterId;
    private final KvLimits limits;

    RequestValidator(long nodeId, long clusterId, KvLimits limits) {
        this.nodeId = nodeId;
        this.clusterId = clusterId;
        this.limits = limits;
    }

    Error checkCluster(RequestHeader header) {
        return header.getClusterId() == clusterId ? null : Errors.clusterMismatch(clusterId, header.getClusterId());
    }

    /** {@code range} is this node's descriptor of the header's range id, or null if it has none. */
    Error checkRange(RequestHeader header, RangeDescriptor range) {
        if (range == null) {
            return Errors.rangeNotFound(nodeId, header.getRangeId());
        }
        if (header.getRangeEpoch() != range.getEpoch()) {
            return KvErrors.epochMismatch(range, header.getRangeEpoch());
        }
        return null;
    }

    /**
     * The meta range takes only descriptor records, moves and settings, its replicas' rejoins, moves and leadership
     * transfers (no key routes to it),
     * and descriptors are recorded nowhere else.
     */
    Error checkMetaUse(Request request, RangeDescriptor range) {
        Request.BodyCase body = request.getBodyCase();
        if (MetaRange.isMeta(range)) {
            if (body == Request.BodyCase.RECORD_RANGES || body == Request.BodyCase.REJOIN_REPLICA
                    || body == Request.BodyCase.TRANSFER_LEADER || body == Request.BodyCase.MOVE_REPLICA
                    || body == Request.BodyCase.LIST_MOVES || body == Request.BodyCase.UPDATE_SETTINGS || body == Request.BodyCase.ADD_NODE
                    || body == Request.BodyCase.MOVE_STEP) {
                return null;
            }
            return KvErrors.invalidArgument("range " + range.getRangeId() + " is the meta range, which holds the cluster's"
                    + " range descriptors: it takes no " + body + " requests. Send them to the range that holds the key"
                    + " (a route lookup finds it)");
        }
        if (body == Request.BodyCase.RECORD_RANGES || body == Request.BodyCase.MOVE_REPLICA
                || body == Request.BodyCase.LIST_MOVES || body == Request.BodyCase.UPDATE_SETTINGS
                || body == Request.BodyCase.ADD_NODE) {
            return KvErrors.invalidArgument("range " + range.getRangeId() + " is not the meta range: range descriptors and"
                    + " moves are recorded only in the meta range (range " + MetaRange.ID + ")");
        }
        return null;
    }

    /** The limits of a write, on the command that would be proposed. */
    Error checkWrite(WriteCommand command) {
        return limits.check(command);
    }

    /** The key limit of a read's keys. */
    Error checkReadKeys(Request request) {
        switch (request.getBodyCase()) {
            case GET:
                return limits.checkKey(request.getGet().getKey());
            case SCAN: {
                Error e = limits.checkKey(request.getScan().getStartKey());
                return e != null ? e : limits.checkKey(request.getScan().getEndKey());
            }
            default:
                return null;
        }
    }

    /** Every key of the request lies in {@code range}; a scan's bounds lie within it (see {@link ReadPath}). */
    Error checkKeys(Request request, RangeDescriptor range) {
        switch (request.getBodyCase()) {
            case GET:
                return inRange(range, request.getGet().getKey());
            case PUT:
                return inRange(range, request.getPut().getKey());
            case DELETE:
                return inRange(range, request.getDelete().getKey());
            case COMPARE_AND_SET:
                return inRange(range, request.getCompareAndSet().getKey());
            case BATCH_WRITE:
                for (Condition c : request.getBatchWrite().getConditionsList()) {
                    Error e = inRange(range, c.getKey());
                    if (e != null) {
                        return e;
                    }
                }
                for (WriteOp op : request.getBatchWrite().getOpsList()) {
                    Error e = inRange(range, op.hasPut() ? op.getPut().getKey() : op.getDelete().getKey());
                    if (e != null) {
                        return e;
                    }
                }
                return null;
            case SCAN:
                return scanBounds(range, request.getScan().getStartKey(), request.getScan().getEndKey());
            default:
                return null;
        }
    }

    /** The key limit of a split key. */
    Error checkSplitKey(ByteString key) {
        return limits.checkKey(key);
    }

    /** The request's key (a batch's first, a scan's start), or null if it names none. */
    static ByteString firstKey(Request request) {
        switch (request.getBodyCase()) {
            case GET:
                return request.getGet().getKey();
            case PUT:
                return request.getPut().getKey();
            case DELETE:
                return request.getDelete().getKey();
            case COMPARE_AND_SET:
                return request.getCompareAndSet().getKey();
            case BATCH_WRITE: {
                BatchWriteRequest b = request.getBatchWrite();
                if (b.getOpsCount() > 0) {
                    WriteOp op = b.getOps(0);
                    return op.hasPut() ? op.getPut().getKey() : op.getDelete().getKey();
                }
                return b.getConditionsCount() > 0 ? b.getConditions(0).getKey() : null;
            }
            case SCAN:
                return request.getScan().getStartKey().isEmpty() ? null : request.getScan().getStartKey();
            case SPLIT_RANGE:
                return request.getSplitRange().getSplitKey();
            default:
                return null;
        }
    }

    private static Error inRange(RangeDescriptor range, ByteString key) {
        return KeySpace.contains(range, key) ? null : KvErrors.keyNotInRange(range, key);
    }

    /** An empty start means the range's start and an empty end its end; a given end may not pass the range's. */
    private static Error scanBounds(RangeDescriptor range, ByteString start, ByteString end) {
        if (!start.isEmpty() && !KeySpace.contains(range, start)) {
            return KvErrors.keyNotInRange(range, start);
        }
        if (!end.isEmpty() && !range.getEndKey().isEmpty() && KeySpace.compare(end, range.getEndKey()) > 0) {
            return KvErrors.keyNotInRange(range, end);
        }
        return null;
    }
}
