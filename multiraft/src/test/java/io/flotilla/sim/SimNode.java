package io.flotilla.sim;

import io.flotilla.raft.MemoryStorage;

/**
 * One simulated node (a process): a replica of every group, one tick timer for all of them, and an
 * incarnation number bumped on every crash. Owned by the single thread that runs the seed.
 */
final class SimNode {
    final int nodeId;
    /** replicas[g] for group g; index 0 unused. */
    private final SimReplica[] replicas;
    private final SimCluster cluster;
    private boolean up;
    private int incarnation;
    /** Until this simulated time every disk write of this node takes {@code stallDelayUs} or so. */
    private long diskStalledUntilUs;
    private long stallDelayUs;

    SimNode(SimCluster cluster, int nodeId) {
        this.cluster = cluster;
        this.nodeId = nodeId;
        SimConfig config = cluster.config();
        this.replicas = new SimReplica[config.groupCount() + 1];
        long[] voters = new long[config.initialVoters()];
        for (int i = 0; i < voters.length; i++) {
            voters[i] = i + 1;
        }
        for (int g = 1; g <= config.groupCount(); g++) {
            // A node outside the initial membership hosts an empty replica that waits to be contacted.
            MemoryStorage storage = nodeId <= config.initialVoters() ? MemoryStorage.withMembers(voters) : new MemoryStorage();
            replicas[g] = new SimReplica(cluster, nodeId, g, storage);
        }
    }

    SimReplica replica(int groupId) {
        return replicas[groupId];
    }

    boolean isUp() {
        return up;
    }

    int incarnation() {
        return incarnation;
    }

    /** Makes every write of this node slow (about {@code delayUs}) for {@code durationUs}. */
    void stallDisk(long durationUs, long delayUs) {
        diskStalledUntilUs = cluster.scheduler().nowUs() + durationUs;
        stallDelayUs = delayUs;
    }

    /** How long the disk write starting now takes. */
    long diskDelayUs() {
        SimConfig c = cluster.config();
        long delayUs = c.minDiskDelayUs() + cluster.diskRandom().nextLong(c.maxDiskDelayUs() - c.minDiskDelayUs() + 1);
        if (cluster.scheduler().nowUs() < diskStalledUntilUs) {
            delayUs += stallDelayUs / 2 + cluster.diskRandom().nextLong(stallDelayUs);
        }
        return delayUs;
    }

    /** Starts every replica from its durable storage and the tick timer at a random phase. */
    void start() {
        up = true;
        for (int g = 1; g < replicas.length; g++) {
            replicas[g].start(incarnation);
        }
        int life = incarnation;
        cluster.scheduler().after(cluster.nodeRandom().nextLong(cluster.config().tickIntervalUs()), () -> tick(life));
    }

    /** Every replica loses its volatile state; messages to and from this life are dropped. */
    void crash() {
        up = false;
        incarnation++;
        for (int g = 1; g < replicas.length; g++) {
            replicas[g].crash();
        }
    }

    private void tick(int life) {
        if (!up || life != incarnation) {
            return;
        }
        for (int g = 1; g < replicas.length; g++) {
            replicas[g].tick();
        }
        cluster.scheduler().after(cluster.config().tickIntervalUs(), () -> tick(life));
    }
}
