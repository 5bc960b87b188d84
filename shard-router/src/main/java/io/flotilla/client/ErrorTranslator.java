package io.flotilla.client;

import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.TooLarge;

/**
 * Turns the ways a call ends without a result into the typed exceptions users see, each message
 * saying what happened and what to do. Pure functions, any thread.
 */
final class ErrorTranslator {
    private static final String OUTCOME_UNKNOWN = " The write may or may not have been applied: read the key to learn its outcome before you retry it.";

    private ErrorTranslator() {
    }

    /** The exception for an error of kind {@link ErrorAction#FAIL} that {@code node} answered to {@code call}. */
    static FlotillaException terminal(String call, String node, long clusterId, Error error, boolean write) {
        String said = error.getMessage().isEmpty() ? "" : " (node said: " + error.getMessage() + ")";
        return switch (error.getKindCase()) {
            case TOO_LARGE -> {
                TooLarge tooLarge = error.getTooLarge();
                yield new TooLargeException(call + " was refused by " + node + ": its " + tooLarge.getLimit() + " is "
                        + tooLarge.getSize() + ", over the limit of " + tooLarge.getMax() + said
                        + ". Nothing was applied; make it smaller, or raise the node's limit.",
                        tooLarge.getLimit(), tooLarge.getSize(), tooLarge.getMax());
            }
            case SESSION_EXPIRED -> new SessionExpiredException(call + " was refused by " + node
                    + ": the range no longer remembers this client's session, so it cannot tell whether this retried write"
                    + " was applied already" + said + "." + OUTCOME_UNKNOWN
                    + " A call that keeps its deadline short of the session expiry avoids this.");
            case CLUSTER_MISMATCH -> clusterMismatch(node, clusterId, error);
            case INVALID_ARGUMENT -> new InvalidArgumentException(call + " was refused by " + node + said
                    + ". Nothing was changed.");
            default -> new NodeInternalException(call + " failed on " + node + ": the node reported an internal error ("
                    + error.getKindCase() + said + ")." + (write ? OUTCOME_UNKNOWN : "")
                    + " Retry later; if it persists, look at that node's log.");
        };
    }

    static ClusterMismatchException clusterMismatch(String node, long clusterId, Error error) {
        long nodeClusterId = error.getClusterMismatch().getNodeClusterId();
        return new ClusterMismatchException(node + " belongs to cluster " + Long.toUnsignedString(nodeClusterId)
                + ", not to cluster " + Long.toUnsignedString(clusterId) + " that this client was built for."
                + " Check the client's seeds and clusterId.", nodeClusterId);
    }

    static DeadlineExceededException deadlineExceeded(String call, long timeoutMs, int attempts, String lastProblem, boolean write) {
        return new DeadlineExceededException(call + " did not complete within its deadline of " + timeoutMs + " ms ("
                + attempts + (attempts == 1 ? " attempt" : " attempts") + "; last problem: " + lastProblem + ")."
                + (write ? OUTCOME_UNKNOWN : "")
                + " If the cluster is healthy but slow, raise requestTimeout.", write);
    }

    static UnavailableException retriesExhausted(String call, int attempts, long elapsedMs, String lastProblem, boolean write) {
        return new UnavailableException(call + " gave up after " + attempts + " attempts in " + elapsedMs
                + " ms, all of its retry budget (last problem: " + lastProblem + ")."
                + (write ? OUTCOME_UNKNOWN : "")
                + " Check that the cluster's nodes are running and reachable from this client, or raise retryBudget.", write);
    }

    static TooLargeException frameTooLarge(String call, long frameBytes, long maxFrameBytes) {
        return new TooLargeException(call + " makes a request frame of " + frameBytes + " bytes, over the client's limit of "
                + maxFrameBytes + " bytes (maxFrameBytes). Nothing was sent; make it smaller.", "frame", frameBytes, maxFrameBytes);
    }

    static ClientClosedException closed(String call) {
        return new ClientClosedException(call + " did not complete: the client was closed. Calls need a client that is open;"
                + " build a new one.");
    }
}
