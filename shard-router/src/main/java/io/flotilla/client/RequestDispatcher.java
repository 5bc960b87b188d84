package io.flotilla.client;

import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.KeyNotInRange;
import io.flotilla.kv.proto.NotLeader;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.router.KeyFormat;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Carries every call from first attempt to outcome: routes it by key to its range and a replica,
 * sends it, reads the answer, and on a typed error follows the leader hint, adopts the descriptors
 * the error carries, looks the range up again, or waits and retries, within the call's deadline
 * and retry budget. A retried write keeps its (client id, sequence) so that the range applies it
 * once, also when a split has moved its key to another range (see {@link SessionTracker}).
 *
 * <p>Owned by the client's I/O thread: every method runs there, and so do all the locator, session
 * and connection state it drives. Callers hand it calls with {@link #submit} through the event loop.
 */
final class RequestDispatcher {
    /** Retries without waiting, per call, before every further retry waits its backoff. */
    static final int MAX_IMMEDIATE_RETRIES = 3;

    private final ClientConfig config;
    private final EventLoop loop;
    private final long clientId;
    private final ConnectionPool pool;
    private final RangeLocator locator;
    private final RouteRefresher refresher;
    private final SessionTracker sessions = new SessionTracker();
    private final SplittableRandom random;
    private final Runnable onFinished;
    private final Set<Operation<?>> active = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    /**
     * Sends {@code request} (a request id is set here) to the node at {@code address} alone, without
     * routing or retries, and completes {@code result} with its answer, or exceptionally when the
     * connection fails or nothing comes back within {@code timeoutNs}. For per-node admin calls such
     * as NodeStatus.
     */
    void sendDirect(HostPort address, Request.Builder request, long timeoutNs, java.util.concurrent.CompletableFuture<Response> result) {
        NodeConnection connection = pool.connection(address);
        long requestId = connection.nextRequestId();
        ScheduledFuture<?> timer = loop.schedule(() -> {
            connection.forget(requestId);
            result.completeExceptionally(new DeadlineExceededException(address + " did not answer within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms", false));
        }, timeoutNs, TimeUnit.NANOSECONDS);
        connection.send(request.setRequestId(requestId).build(), new ResponseListener() {
            @Override
            public void onResponse(Response response) {
                timer.cancel(false);
                result.complete(response);
            }

            @Override
            public void onConnectionLost(String reason) {
                timer.cancel(false);
                result.completeExceptionally(new UnavailableException(address + ": " + reason, false));
            }
        });
    }

    /** One send of a call to one node, waiting for its answer. */
    final class Attempt implements ResponseListener {
        final Operation<?> op;
        final RangeDescriptor range;
        final long nodeId;
        final NodeConnection connection;
        final long requestId;
        ScheduledFuture<?> timer;

        Attempt(Operation<?> op, RangeDescriptor range, long nodeId, NodeConnection connection, long requestId) {
            this.op = op;
            this.range = range;
            this.nodeId = nodeId;
            this.connection = connection;
            this.requestId = requestId;
        }

        String node() {
            return "node " + nodeId + " at " + connection.address();
        }

        @Override
        public void onResponse(Response response) {
            if (takeOver(this)) {
                handleResponse(this, response);
            }
        }

        @Override
        public void onConnectionLost(String reason) {
            if (takeOver(this)) {
                op.unreachable(nodeId);
                locator.replicaFailed(range.getRangeId(), nodeId);
                retryLater(op, reason, 0);
            }
        }

        void onTimeout() {
            timer = null;
            if (takeOver(this)) {
                connection.forget(requestId);
                op.unreachable(nodeId);
                locator.replicaFailed(range.getRangeId(), nodeId);
                retryLater(op, node() + " did not answer within " + config.attemptTimeout().toMillis() + " ms (attemptTimeout)", 0);
            }
        }
    }

    RequestDispatcher(ClientConfig config, EventLoop loop, long clientId, SplittableRandom random, Runnable onFinished) {
        this.config = config;
        this.loop = loop;
        this.clientId = clientId;
        this.random = random;
        this.onFinished = onFinished;
        this.pool = new ConnectionPool(loop, config);
        this.locator = new RangeLocator(config.seeds(), random.split());
        this.refresher = new RouteRefresher(locator, pool, loop, config);
    }

    /** Starts a call; its deadline was set by the caller. */
    void submit(Operation<?> op) {
        if (closed) {
            fail(op, ErrorTranslator.closed(op.description));
            return;
        }
        active.add(op);
        long remainingNs = op.deadlineNs - System.nanoTime();
        op.deadlineTimer = loop.schedule(() -> {
            op.deadlineTimer = null;
            failDeadline(op);
        }, Math.max(0, remainingNs), TimeUnit.NANOSECONDS);
        attempt(op);
    }

    /** Fails every call in flight and closes every connection; later calls fail at once. */
    void close() {
        closed = true;
        for (Operation<?> op : new ArrayList<>(active)) {
            fail(op, ErrorTranslator.closed(op.description));
        }
        refresher.close();
        pool.closeAll();
    }

    /** Calls started and not finished. */
    int activeCount() {
        return active.size();
    }

    ConnectionPool pool() {
        return pool;
    }

    RangeLocator locator() {
        return locator;
    }

    private void attempt(Operation<?> op) {
        if (op.done) {
            return;
        }
        if (op.future.isDone()) {
            finish(op); // cancelled or completed by its caller: stop working on it
            return;
        }
        RangeDescriptor range = locator.route(op.routingKey);
        if (range == null) {
            lookUpThenAttempt(op, op.routingKey == null ? "the meta range's replicas are not known yet"
                    : "no cached range holds " + KeyFormat.describe(op.routingKey));
            return;
        }
        long nodeId = locator.target(range, op.consistency);
        HostPort address = nodeId == 0 ? null : locator.address(nodeId);
        if (address == null) {
            if (nodeId != 0) {
                // A hinted leader whose address nobody has told: try the replicas (which name it with its
                // address) rather than wait on a lookup that may not list it.
                locator.replicaFailed(range.getRangeId(), nodeId);
            }
            lookUpThenAttempt(op, nodeId == 0 ? "range " + range.getRangeId() + " has no replica to serve it"
                    : "the address of node " + nodeId + " (a replica of range " + range.getRangeId() + ") is unknown");
            return;
        }
        if (op.attempts >= config.retryPolicy().maxAttempts()) {
            failExhausted(op);
            return;
        }
        op.attempts++;

        NodeConnection connection = pool.connection(address);
        long remainingNs = op.deadlineNs - System.nanoTime();
        long timeoutNs = Math.max(1, Math.min(config.attemptTimeout().toNanos(), remainingNs));
        RequestHeader.Builder header = RequestHeader.newBuilder()
                .setClusterId(config.clusterId())
                .setRangeId(range.getRangeId())
                .setRangeEpoch(range.getEpoch())
                .setConsistency(op.consistency.wire())
                .setTimeoutMs((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNs)));
        if (op.write) {
            if (op.sequence == 0) {
                op.sequence = sessions.begin();
            }
            op.sessionRangeId = range.getRangeId();
            header.setClientId(clientId).setSequence(op.sequence).setFirstUnackedSequence(sessions.firstUnacked())
                    .setSessionEstablished(sessions.isEstablished(range.getRangeId()));
        }
        Request.Builder request = Request.newBuilder().setRequestId(connection.nextRequestId()).setHeader(header);
        try {
            op.body.write(request, range);
        } catch (FlotillaException refused) {
            fail(op, refused);
            return;
        }
        Request built = request.build();
        int frameBytes = built.getSerializedSize();
        if (frameBytes > config.maxFrameBytes()) {
            fail(op, ErrorTranslator.frameTooLarge(op.description, frameBytes, config.maxFrameBytes()));
            return;
        }
        Attempt attempt = new Attempt(op, range, nodeId, connection, built.getRequestId());
        op.current = attempt;
        attempt.timer = loop.schedule(attempt::onTimeout, timeoutNs, TimeUnit.NANOSECONDS);
        connection.send(built, attempt);
    }

    /** Looks the routes up (counted as an attempt), then tries again if that taught a route. */
    private void lookUpThenAttempt(Operation<?> op, String problem) {
        if (op.attempts >= config.retryPolicy().maxAttempts()) {
            op.lastProblem = problem;
            failExhausted(op);
            return;
        }
        op.attempts++;
        refresher.refresh(lookupProblem -> {
            if (op.done) {
                return;
            }
            if (lookupProblem instanceof ClusterMismatchException || lookupProblem instanceof ClientClosedException) {
                fail(op, lookupProblem);
            } else if (lookupProblem != null) {
                retryLater(op, lookupProblem.getMessage(), 0);
            } else if (routable(op)) {
                attempt(op);
            } else {
                retryLater(op, problem + ", and the route lookup did not tell", 0);
            }
        });
    }

    private boolean routable(Operation<?> op) {
        RangeDescriptor range = locator.route(op.routingKey);
        if (range == null) {
            return false;
        }
        long nodeId = locator.target(range, op.consistency);
        return nodeId != 0 && locator.address(nodeId) != null;
    }

    /** Makes {@code attempt} no longer current; returns false if it was not (its answer came too late). */
    private boolean takeOver(Attempt attempt) {
        Operation<?> op = attempt.op;
        if (op.done || op.current != attempt) {
            return false;
        }
        op.current = null;
        if (attempt.timer != null) {
            attempt.timer.cancel(false);
            attempt.timer = null;
        }
        return true;
    }

    private <T> void handleResponse(Attempt attempt, Response response) {
        @SuppressWarnings("unchecked")
        Operation<T> op = (Operation<T>) attempt.op;
        if (response.hasError()) {
            handleError(attempt, response.getError());
            return;
        }
        if (response.getBodyCase() != op.expectedBody) {
            fail(op, new NodeInternalException(op.description + ": " + attempt.node() + " answered " + response.getBodyCase()
                    + " to a " + op.expectedBody + " request; the node and this client disagree on the protocol."
                    + " Use a client of the node's version."));
            return;
        }
        if (op.consistency != ReadConsistency.FOLLOWER) {
            locator.learnLeader(attempt.range.getRangeId(), attempt.nodeId, null); // it served as leader
        }
        if (op.write) {
            sessions.established(op.sessionRangeId);
        }
        T value;
        try {
            value = op.reader.read(response, attempt.range);
        } catch (RuntimeException e) {
            fail(op, new FlotillaException(op.description + ": the client could not read " + attempt.node() + "'s answer ("
                    + e + "); this is a client bug, please report it", e));
            return;
        }
        succeed(op, value);
    }

    private void handleError(Attempt attempt, Error error) {
        Operation<?> op = attempt.op;
        RangeDescriptor range = attempt.range;
        String said = error.getMessage().isEmpty() ? "" : " (" + error.getMessage() + ")";
        switch (ErrorAction.of(error)) {
            case FOLLOW_LEADER -> {
                NotLeader notLeader = error.getNotLeader();
                long hint = notLeader.getLeaderNodeId();
                if (hint != 0 && hint != attempt.nodeId && !op.couldNotReach(hint)) {
                    locator.learnLeader(range.getRangeId(), hint, notLeader.hasLeader() ? notLeader.getLeader() : null);
                    retryNow(op, attempt.node() + " is not the leader of range " + range.getRangeId() + "; it named node " + hint);
                } else if (hint != 0 && hint != attempt.nodeId) {
                    // A follower still trusts a leader this call could not reach (it has not timed out
                    // yet): no news, so wait and try the replicas again rather than go back at once.
                    // Going back at once reset the backoff on every round trip, and a leader's crash
                    // spent a call's whole retry budget in a quarter of a second, before the election.
                    locator.replicaFailed(range.getRangeId(), attempt.nodeId);
                    retryLater(op, attempt.node() + " is not the leader of range " + range.getRangeId() + "; it named node "
                            + hint + ", which this call could not reach", 0);
                } else {
                    locator.replicaFailed(range.getRangeId(), attempt.nodeId);
                    retryLater(op, attempt.node() + " is not the leader of range " + range.getRangeId() + " and knows no leader" + said, 0);
                }
            }
            case LOOK_UP_AGAIN -> {
                List<RangeDescriptor> holding = error.getRangeNotFound().getRangesList();
                String problem = attempt.node() + " does not host range " + range.getRangeId() + said;
                if (holding.isEmpty() || op.routingKey == null) {
                    locator.rangeNotFound(range, attempt.nodeId);
                    retryLater(op, problem, 0);
                } else if (locator.adopt(holding, range, op.routingKey)) {
                    retryNow(op, problem + "; it named the range that holds the key now");
                } else {
                    // The node holds the key in an older range: it has yet to apply the split that made this one.
                    locator.replicaFailed(range.getRangeId(), attempt.nodeId);
                    retryLater(op, problem + " yet (it holds the key in an older range)", 0);
                }
            }
            case ADOPT_DESCRIPTORS -> {
                List<RangeDescriptor> descriptors = error.hasEpochMismatch()
                        ? error.getEpochMismatch().getRangesList()
                        : descriptorOf(error.getKeyNotInRange());
                String problem = attempt.node() + " refused epoch " + range.getEpoch() + " of range " + range.getRangeId()
                        + " (" + error.getKindCase() + said + ")";
                if (locator.adopt(descriptors, range, op.routingKey)) {
                    retryNow(op, problem);
                } else {
                    // What the node knows is not newer than what the client routed by: the node is behind. Try another replica.
                    locator.replicaFailed(range.getRangeId(), attempt.nodeId);
                    retryLater(op, problem + "; its descriptors are not newer than the client's", 0);
                }
            }
            case BACK_OFF -> {
                long waitNs = error.hasBusy() ? TimeUnit.MILLISECONDS.toNanos(error.getBusy().getRetryAfterMs()) : 0;
                retryLater(op, attempt.node() + " answered " + error.getKindCase() + " for range " + range.getRangeId() + said, waitNs);
            }
            case FAIL -> fail(op, ErrorTranslator.terminal(op.description, attempt.node(), config.clusterId(), error, op.write));
        }
    }

    private static List<RangeDescriptor> descriptorOf(KeyNotInRange keyNotInRange) {
        return keyNotInRange.hasRange() ? List.of(keyNotInRange.getRange()) : List.of();
    }

    private void retryNow(Operation<?> op, String problem) {
        if (op.immediateRetries >= MAX_IMMEDIATE_RETRIES) {
            retryLater(op, problem, 0);
            return;
        }
        op.immediateRetries++;
        op.waitsSinceProgress = 0;
        op.lastProblem = problem;
        // Through the task queue, not the stack: a chain of redirects must not deepen it.
        loop.execute(() -> attempt(op));
    }

    /** Retries after the policy's backoff (at least {@code minWaitNs}), unless the budget or the deadline is spent. */
    private void retryLater(Operation<?> op, String problem, long minWaitNs) {
        op.lastProblem = problem;
        if (op.done) {
            return;
        }
        if (op.attempts >= config.retryPolicy().maxAttempts()) {
            failExhausted(op);
            return;
        }
        // The wait grows with the waits since the call last learned something (a leader, newer
        // descriptors), not with all its attempts: after a split the call is sent on to the new range
        // at once, and should then wait for that range's first leader in short steps, not in steps
        // doubled by every attempt it made before the split.
        long waitNs = Math.max(minWaitNs, config.retryPolicy().backoffNanos(++op.waitsSinceProgress, random.nextDouble()));
        if (System.nanoTime() + waitNs - op.deadlineNs >= 0) {
            failDeadline(op);
            return;
        }
        op.retryTimer = loop.schedule(() -> {
            op.retryTimer = null;
            attempt(op);
        }, waitNs, TimeUnit.NANOSECONDS);
    }

    private void failDeadline(Operation<?> op) {
        if (!op.done) {
            fail(op, ErrorTranslator.deadlineExceeded(op.description, config.requestTimeout().toMillis(), op.attempts, op.lastProblem, op.write));
        }
    }

    private void failExhausted(Operation<?> op) {
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - op.startNs);
        fail(op, ErrorTranslator.retriesExhausted(op.description, op.attempts, elapsedMs, op.lastProblem, op.write));
    }

    private <T> void succeed(Operation<T> op, T value) {
        if (finish(op)) {
            complete(() -> op.future.complete(value));
        }
    }

    private void fail(Operation<?> op, FlotillaException error) {
        if (finish(op)) {
            complete(() -> op.future.completeExceptionally(error));
        }
    }

    private void complete(Runnable completion) {
        Executor executor = config.callbackExecutor();
        if (executor == null) {
            completion.run();
            return;
        }
        try {
            executor.execute(completion);
        } catch (RejectedExecutionException e) {
            completion.run(); // the caller's executor is shut down; a future must still complete
        }
    }

    /** Ends a call's life here: timers, its request in flight, its write's sequence. False if it had ended already. */
    private boolean finish(Operation<?> op) {
        if (op.done) {
            return false;
        }
        op.done = true;
        active.remove(op);
        if (op.current != null) {
            Attempt attempt = op.current;
            op.current = null;
            if (attempt.timer != null) {
                attempt.timer.cancel(false);
            }
            attempt.connection.forget(attempt.requestId);
        }
        if (op.retryTimer != null) {
            op.retryTimer.cancel(false);
            op.retryTimer = null;
        }
        if (op.deadlineTimer != null) {
            op.deadlineTimer.cancel(false);
            op.deadlineTimer = null;
        }
        if (op.sequence != 0) {
            // Answered, or given up on and never to be sent again: either way the range may forget it.
            sessions.release(op.sequence);
        }
        onFinished.run();
        return true;
    }
}
