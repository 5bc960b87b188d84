package io.flotilla.transport;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Drops all traffic on chosen one-way node pairs, for tests that partition a cluster. One filter may
 * be shared by every transport of a test cluster; it is consulted on each {@code send} (by the
 * sending thread) and changed at run time by the test thread, so it is a concurrent set.
 *
 * <p>A dropped send looks like packet loss, not like a broken connection: the connection stays up
 * and {@code onUnreachable} does not fire, so Raft finds out the way it would in a real partition —
 * by its election and heartbeat timeouts.
 */
public final class TransportFaultFilter {
    private record Pair(long fromNodeId, long toNodeId) {
    }

    private final Set<Pair> dropped = ConcurrentHashMap.newKeySet();

    /** Drops everything {@code fromNodeId} sends to {@code toNodeId} from now on. */
    public void drop(long fromNodeId, long toNodeId) {
        dropped.add(new Pair(fromNodeId, toNodeId));
    }

    /** Drops traffic both ways between two nodes. */
    public void isolate(long nodeA, long nodeB) {
        drop(nodeA, nodeB);
        drop(nodeB, nodeA);
    }

    /** Lets {@code fromNodeId}'s traffic to {@code toNodeId} pass again. */
    public void pass(long fromNodeId, long toNodeId) {
        dropped.remove(new Pair(fromNodeId, toNodeId));
    }

    /** Heals every partition. */
    public void passAll() {
        dropped.clear();
    }

    public boolean drops(long fromNodeId, long toNodeId) {
        // The common case, no faults, costs no allocation.
        return !dropped.isEmpty() && dropped.contains(new Pair(fromNodeId, toNodeId));
    }
}
