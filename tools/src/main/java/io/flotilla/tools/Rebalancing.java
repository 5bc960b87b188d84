package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.NodePlacement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Follows the balancer until the new node is up as the balancer sees it and the nodes that are up
 * and not draining hold replicas within 10% of the mean.
 */
final class Rebalancing {
    private static final long POLL_MS = 1_000;
    private static final double TOLERANCE = 0.10;

    private Rebalancing() {
    }

    /** Prints the replica counts as they change; true once balanced with no move in progress, false at the deadline. */
    static boolean follow(FlotillaClient client, long newNode, long waitMs, long startNs) {
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        String last = "";
        while (System.nanoTime() < deadlineNs) {
            ListMovesResponse moves;
            try {
                moves = client.listMoves().join();
            } catch (RuntimeException e) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
                continue;
            }
            String now = describe(moves);
            if (!now.equals(last)) {
                System.out.println(now);
                last = now;
            }
            if (moves.getMovesCount() == 0 && balanced(moves, newNode)) {
                System.out.printf("balanced after %.1f s%n", (System.nanoTime() - startNs) / 1e9);
                return true;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
        }
        System.err.println("not balanced after " + waitMs / 1000 + " s; the balancer goes on (`flotilla moves`)");
        return false;
    }

    /**
     * Whether node {@code newNode} is up, as the balancer last saw it, and the nodes up and not
     * draining hold replicas within 10% of their mean. A new node the balancer has not yet seen
     * answer counts as down; counted out, it left the others looking balanced.
     */
    static boolean balanced(ListMovesResponse moves, long newNode) {
        if (moves.getNodesList().stream().noneMatch(p -> p.getNodeId() == newNode && p.getUp())) {
            return false;
        }
        int nodes = 0;
        long total = 0;
        for (NodePlacement p : moves.getNodesList()) {
            if (p.getUp() && !p.getDraining()) {
                nodes++;
                total += p.getReplicas();
            }
        }
        if (nodes == 0) {
            return false;
        }
        double mean = (double) total / nodes;
        for (NodePlacement p : moves.getNodesList()) {
            if (p.getUp() && !p.getDraining()
                    && (p.getReplicas() > mean * (1 + TOLERANCE) + 0.5 || p.getReplicas() < mean * (1 - TOLERANCE) - 0.5)) {
                return false;
            }
        }
        return true;
    }

    private static String describe(ListMovesResponse moves) {
        StringBuilder b = new StringBuilder("replicas per node:");
        for (NodePlacement p : moves.getNodesList()) {
            b.append(' ').append(p.getNodeId()).append('=').append(p.getReplicas());
            if (!p.getUp()) {
                b.append("(down)");
            }
        }
        return b.append("; ").append(moves.getMovesCount()).append(" moves in progress").toString();
    }
}
