package io.flotilla.sim;

import io.flotilla.raft.MemoryStorage;
import java.nio.file.Path;

/**
 * One simulated node (a process): a replica of every group, one tick timer for all of them, and an
 * incarnation number bumped on every crash. Its replicas' durable storage is a {@link MemoryStorage}
 * each, or, when the cluster runs on the WAL, one real shared log for all of them
 * ({@link SimWalNode}). Owned by the single thread that runs the seed.
 */
final class SimNode {
    final int nodeId;
    /** replicas[g] for group g; index 0 unused. */
    private final SimReplica[] replicas;
    private final SimCluster cluster;
    /** The node's shared log; null when the replicas keep their log in a MemoryStorage. */
    private final SimWalNode wal;
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
        Path walDirectory = cluster.walDirectory();
        this.wal = walDirectory == null ? null : new SimWalNode(cluster, nodeId, walDirectory.resolve("node-" + nodeId));
        for (int g = 1; g <= config.groupCount(); g++) {
            SimStorage storage;
            if (wal != null) {
                storage = wal.group(g);
            } else {
                // A node outside the initial membership hosts an empty replica that waits to be contacted.
                storage = new SimMemoryStorage(nodeId <= config.initialVoters() ? MemoryStorage.withMembers(voters) : new MemoryStorage());
            }
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

    /** Starts every replica from its durable storage (after recovering the log) and the tick timer at a random phase. */
    void start() {
        up = true;
        if (wal != null) {
            wal.open();
        }
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
        if (wal != null) {
            wal.close(true);
        }
    }

    /** At the end of a run: releases the node's log, if it has one. */
    void closeStorage() {
        if (wal != null) {
            wal.close(false);
        }
    }

    /** What the node's log did so far; {@link SimWalStats#NONE} on MemoryStorage. */
    SimWalStats walStats() {
        return wal == null ? SimWalStats.NONE : wal.stats();
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
