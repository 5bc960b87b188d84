package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.BatchWriteResponse;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.CompareAndSetResponse;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteResponse;
import io.flotilla.kv.proto.EpochMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.PutResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.kv.proto.WriteOp;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test double of the ranges behind a {@link ScriptedNodeServer}: an in-memory sorted map that
 * answers route lookups with fixed descriptors and node addresses, checks each request's range
 * and epoch against them, and applies each write once per (client id, sequence), answering a
 * repeat with the first answer. Not the product's state machine. Used on the server's thread;
 * {@link #applies()} may be read from any thread.
 */
final class InMemoryKv implements ScriptedNodeServer.Script {
    private final NavigableMap<ByteString, ByteString> data = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
    private final Map<String, Response> answeredWrites = new HashMap<>();
    private final AtomicInteger applies = new AtomicInteger();
    private volatile List<RangeDescriptor> ranges;
    private volatile List<NodeAddress> nodes = List.of();

    InMemoryKv(List<RangeDescriptor> ranges) {
        this.ranges = List.copyOf(ranges);
    }

    void ranges(List<RangeDescriptor> ranges) {
        this.ranges = List.copyOf(ranges);
    }

    void nodes(List<NodeAddress> nodes) {
        this.nodes = List.copyOf(nodes);
    }

    /** Writes applied (a repeated (client id, sequence) is not applied again). */
    int applies() {
        return applies.get();
    }

    @Override
    public void onRequest(ScriptedNodeServer.Exchange exchange) {
        exchange.reply(answer(exchange.request));
    }

    Response.Builder answer(Request request) {
        if (request.hasRouteLookup()) {
            return Response.newBuilder().setRouteLookup(RouteLookupResponse.newBuilder().addAllRanges(ranges).addAllNodes(nodes));
        }
        RangeDescriptor range = null;
        for (RangeDescriptor candidate : ranges) {
            if (candidate.getRangeId() == request.getHeader().getRangeId()) {
                range = candidate;
            }
        }
        if (range == null) {
            return Response.newBuilder().setError(Error.newBuilder().setMessage("no such range")
                    .setRangeNotFound(io.flotilla.kv.proto.RangeNotFound.getDefaultInstance()));
        }
        if (range.getEpoch() != request.getHeader().getRangeEpoch()) {
            return Response.newBuilder().setError(Error.newBuilder().setEpochMismatch(EpochMismatch.newBuilder().addAllRanges(ranges)));
        }
        boolean write = request.hasPut() || request.hasDelete() || request.hasCompareAndSet() || request.hasBatchWrite();
        if (!write) {
            return read(request, range);
        }
        String session = request.getHeader().getClientId() + "/" + request.getHeader().getRangeId() + "/" + request.getHeader().getSequence();
        Response earlier = answeredWrites.get(session);
        if (earlier != null) {
            return earlier.toBuilder();
        }
        applies.incrementAndGet();
        Response.Builder answer = write(request);
        answeredWrites.put(session, answer.build());
        return answer;
    }

    private Response.Builder read(Request request, RangeDescriptor range) {
        if (request.hasGet()) {
            ByteString value = data.get(request.getGet().getKey());
            return Response.newBuilder().setGet(GetResponse.newBuilder().setFound(value != null)
                    .setValue(value == null ? ByteString.EMPTY : value));
        }
        ScanRequest scan = request.getScan();
        ByteString end = scan.getEndKey().isEmpty() ? range.getEndKey() : scan.getEndKey();
        NavigableMap<ByteString, ByteString> interval = end.isEmpty() ? data.tailMap(scan.getStartKey(), true)
                : data.subMap(scan.getStartKey(), true, end, false);
        ScanResponse.Builder page = ScanResponse.newBuilder();
        for (Map.Entry<ByteString, ByteString> entry : interval.entrySet()) {
            if (scan.getLimit() != 0 && page.getEntriesCount() == scan.getLimit()) {
                page.setMore(true).setContinuationKey(entry.getKey());
                break;
            }
            page.addEntries(KeyValue.newBuilder().setKey(entry.getKey()).setValue(entry.getValue()));
        }
        return Response.newBuilder().setScan(page);
    }

    private Response.Builder write(Request request) {
        if (request.hasPut()) {
            data.put(request.getPut().getKey(), request.getPut().getValue());
            return Response.newBuilder().setPut(PutResponse.getDefaultInstance());
        }
        if (request.hasDelete()) {
            boolean existed = data.remove(request.getDelete().getKey()) != null;
            return Response.newBuilder().setDelete(DeleteResponse.newBuilder().setExisted(existed));
        }
        if (request.hasCompareAndSet()) {
            CompareAndSetRequest cas = request.getCompareAndSet();
            ByteString current = data.get(cas.getKey());
            boolean holds = cas.getExpectAbsent() ? current == null : cas.getExpectedValue().equals(current);
            if (!holds) {
                return Response.newBuilder().setCompareAndSet(CompareAndSetResponse.newBuilder().setCurrentFound(current != null)
                        .setCurrentValue(current == null ? ByteString.EMPTY : current));
            }
            if (cas.getDeleteOnSuccess()) {
                data.remove(cas.getKey());
            } else {
                data.put(cas.getKey(), cas.getNewValue());
            }
            return Response.newBuilder().setCompareAndSet(CompareAndSetResponse.newBuilder().setSucceeded(true));
        }
        BatchWriteRequest batch = request.getBatchWrite();
        for (int i = 0; i < batch.getConditionsCount(); i++) {
            Condition condition = batch.getConditions(i);
            ByteString current = data.get(condition.getKey());
            boolean holds = condition.getExpectAbsent() ? current == null : condition.getExpectedValue().equals(current);
            if (!holds) {
                return Response.newBuilder().setBatchWrite(BatchWriteResponse.newBuilder().setFailedCondition(i)
                        .setCurrentFound(current != null).setCurrentValue(current == null ? ByteString.EMPTY : current));
            }
        }
        for (WriteOp op : batch.getOpsList()) {
            if (op.hasPut()) {
                data.put(op.getPut().getKey(), op.getPut().getValue());
            } else {
                data.remove(op.getDelete().getKey());
            }
        }
        return Response.newBuilder().setBatchWrite(BatchWriteResponse.newBuilder().setSucceeded(true));
    }
}
