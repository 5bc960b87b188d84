package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.engine.proto.MoveCommand;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveReplicaRequest;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;

/**
 * Translates between the client protocol and the range log: a write request becomes the
 * {@link WriteCommand} that is proposed (everything its apply depends on inside it, including the
 * proposing node's clock for session expiry), and an applied {@link WriteResult} becomes the
 * response. Stateless; any thread.
 */
final class WriteCommands {
    private WriteCommands() {
    }

    static boolean isWrite(Request request) {
        switch (request.getBodyCase()) {
            case PUT:
            case DELETE:
            case COMPARE_AND_SET:
            case BATCH_WRITE:
            case RECORD_RANGES:
            case MOVE_REPLICA:
            case UPDATE_SETTINGS:
            case ADD_NODE:
                return true;
            default:
                return false;
        }
    }

    /** The command for a write request ({@link #isWrite}), stamped with {@code nowMs}. */
    static WriteCommand command(Request request, long nowMs) {
        RequestHeader h = request.getHeader();
        WriteCommand.Builder c = WriteCommand.newBuilder()
                .setClientId(h.getClientId())
                .setSequence(h.getSequence())
                .setFirstUnackedSequence(h.getFirstUnackedSequence())
                .setSessionEstablished(h.getSessionEstablished())
                .setProposedAtMs(nowMs)
                .setRangeEpoch(h.getRangeEpoch());
        switch (request.getBodyCase()) {
            case PUT:
                return c.setPut(request.getPut()).build();
            case DELETE:
                return c.setDelete(request.getDelete()).build();
            case COMPARE_AND_SET:
                return c.setCompareAndSet(request.getCompareAndSet()).build();
            case BATCH_WRITE:
                return c.setBatchWrite(request.getBatchWrite()).build();
            case RECORD_RANGES:
                return c.setRecordRanges(request.getRecordRanges()).build();
            case MOVE_REPLICA:
                return c.setMove(MoveCommand.newBuilder().setStart(moveRecord(request.getMoveReplica()))).build();
            case UPDATE_SETTINGS:
                return c.setUpdateSettings(request.getUpdateSettings()).build();
            case ADD_NODE:
                return c.setAddNode(request.getAddNode()).build();
            default:
                throw new IllegalArgumentException("request " + request.getRequestId() + " is not a write: " + request.getBodyCase());
        }
    }

    private static MoveRecord moveRecord(MoveReplicaRequest move) {
        return MoveRecord.newBuilder().setRangeId(move.getRangeId()).setFromNodeId(move.getFromNodeId())
                .setToNodeId(move.getToNodeId()).setReason(move.getReason()).build();
    }

    /** The response for an applied write's result. */
    static Response.Builder response(WriteResult result) {
        Response.Builder r = Response.newBuilder();
        switch (result.getResultCase()) {
            case PUT:
                return r.setPut(result.getPut());
            case DELETE:
                return r.setDelete(result.getDelete());
            case COMPARE_AND_SET:
                return r.setCompareAndSet(result.getCompareAndSet());
            case BATCH_WRITE:
                return r.setBatchWrite(result.getBatchWrite());
            case SPLIT:
                return r.setSplitRange(result.getSplit());
            case RECORD_RANGES:
                return r.setRecordRanges(result.getRecordRanges());
            case MOVE:
                return r.setMoveReplica(result.getMove());
            case SETTINGS:
                return r.setUpdateSettings(result.getSettings());
            case ADD_NODE:
                return r.setAddNode(result.getAddNode());
            case ERROR:
                return r.setError(result.getError());
            default:
                return r.setError(KvErrors.internal("the write applied but its result is empty (" + result.getResultCase()
                        + "); this is a bug in the node: report it"));
        }
    }
}
