package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One call of a user (a get, a put, a batch...) across all its attempts: what to send, how to read
 * the answer, its deadline, and its retry state. Made on the caller's thread; from the moment it is
 * handed to the {@link RequestDispatcher}, its mutable fields belong to the client's I/O thread.
 *
 * @param <T> what the call's future completes with
 */
final class Operation<T> {
    /** Writes the request's body for the range it is routed to; may refuse with a {@link FlotillaException}. */
    interface BodyWriter {
        void write(Request.Builder request, RangeDescriptor range);
    }

    /** Reads the result out of a response whose body is of the expected kind. */
    interface ResponseReader<T> {
        T read(Response response, RangeDescriptor range);
    }

    final String description;
    /** The key whose range serves the call; null for the meta range (which no key routes to). */
    final ByteString routingKey;
    final boolean write;
    final ReadConsistency consistency;
    final Response.BodyCase expectedBody;
    final BodyWriter body;
    final ResponseReader<T> reader;
    final CompletableFuture<T> future = new CompletableFuture<>();

    long startNs;
    long deadlineNs;
    /** Requests sent plus route lookups made for this call. */
    int attempts;
    /** Retries made without waiting (a leader hint, newer descriptors); bounded so a confused cluster cannot spin a call. */
    int immediateRetries;
    /** Backoff waits since the last retry made without waiting; the next wait's step grows with it. */
    int waitsSinceProgress;
    /** The range this write was last sent to, and its sequence; 0 until the write is first routed. */
    long sessionRangeId;
    long sequence;
    RequestDispatcher.Attempt current;
    ScheduledFuture<?> retryTimer;
    ScheduledFuture<?> deadlineTimer;
    String lastProblem = "none";
    boolean done;
    /** Nodes this call could not reach (connection failed or silent); null until the first. */
    private Set<Long> unreachable;

    Operation(String description, ByteString routingKey, boolean write, ReadConsistency consistency,
            Response.BodyCase expectedBody, BodyWriter body, ResponseReader<T> reader) {
        this.description = description;
        this.routingKey = routingKey;
        this.write = write;
        this.consistency = consistency;
        this.expectedBody = expectedBody;
        this.body = body;
        this.reader = reader;
    }

    /** This call could not reach {@code nodeId}: a hint naming it is no news (see {@link #couldNotReach}). */
    void unreachable(long nodeId) {
        if (unreachable == null) {
            unreachable = new HashSet<>(4);
        }
        unreachable.add(nodeId);
    }

    /** Whether this call already failed to reach {@code nodeId}. */
    boolean couldNotReach(long nodeId) {
        return unreachable != null && unreachable.contains(nodeId);
    }
}
