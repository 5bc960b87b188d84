package io.flotilla.multiraft;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The shape of one runtime simulation run, derived from its seed alone (plus the nemeses switched
 * on): how many nodes, workers and groups, the network's fault rates, the workload and the length
 * of the run. Immutable.
 *
 * @param seed             the seed everything else derives from
 * @param nodes            nodes hosting the groups at the start (3, sometimes 5)
 * @param spareNodes       nodes that start empty and may be added to groups later
 * @param workers          workers of each node (1 or 2), index = node id - 1
 * @param groupIds         the groups (ids drawn from the seed, so workers and election timers vary)
 * @param initialVoters    each group's initial voters
 * @param tickIntervalMs   one Raft tick
 * @param electionTimeoutTicks election timeout of every group
 * @param heartbeatIntervalTicks heartbeat interval of every group
 * @param lossPermille     batches lost on the way, per thousand
 * @param duplicatePermille batches delivered twice, per thousand
 * @param splitPermille    batches split into single messages with their own delays (reordering), per thousand
 * @param slowPermille     batches delayed by up to two ticks (reordering), per thousand
 * @param clients          simulated clients
 * @param keysPerGroup     registers per group
 * @param runNs            simulated time with clients and nemeses, before the final quiet period
 * @param nemesisGapNs     mean simulated time between two nemesis events
 * @param nemeses          the faults switched on
 * @param logRetainEntries  0: the nodes run without a snapshot channel, so logs are never
 *                          compacted; else every node has a simulated channel
 *                          ({@link RuntimeSimSnapshots}), a state machine that makes state durable
 *                          now and then, small log segments, and compacts its logs to this few
 *                          entries, so compaction, snapshot transfers and installs, purge and
 *                          rewrite-forward all run
 */
record RuntimeSimConfig(long seed, int nodes, int spareNodes, int[] workers, long[] groupIds, long[][] initialVoters,
        int tickIntervalMs, int electionTimeoutTicks, int heartbeatIntervalTicks, int lossPermille, int duplicatePermille,
        int splitPermille, int slowPermille, int clients, int keysPerGroup, long runNs, long nemesisGapNs,
        Set<RuntimeSimNemesis> nemeses, int logRetainEntries) {

    /** Which seeds run with snapshots ({@code -Druntime.sim.snapshots=off|half|all}). */
    enum Snapshots {
        OFF, HALF, ALL;

        static Snapshots parse(String value) {
            return value == null || value.isBlank() ? HALF : valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
        }
    }

    static RuntimeSimConfig forSeed(long seed, Set<RuntimeSimNemesis> nemeses) {
        return forSeed(seed, nemeses, Snapshots.HALF);
    }

    static RuntimeSimConfig forSeed(long seed, Set<RuntimeSimNemesis> nemeses, Snapshots snapshots) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 0x5851F42D4C957F2DL);
        int nodes = r.nextInt(5) == 0 ? 5 : 3;
        int spare = nodes == 3 ? 2 : 1;
        int[] workers = new int[nodes + spare];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = 1 + r.nextInt(2);
        }
        int groups = 1 + r.nextInt(3);
        long[] groupIds = new long[groups];
        long[][] voters = new long[groups][];
        for (int g = 0; g < groups; g++) {
            long id;
            do {
                id = 1 + r.nextLong(1L << 40);
            } while (contains(groupIds, id));
            groupIds[g] = id;
            if (nodes == 3 || r.nextInt(4) == 0) {
                voters[g] = new long[nodes];
                for (int n = 0; n < nodes; n++) {
                    voters[g][n] = n + 1;
                }
            } else {
                List<Long> all = new ArrayList<>();
                for (long n = 1; n <= nodes; n++) {
                    all.add(n);
                }
                voters[g] = new long[3];
                for (int k = 0; k < 3; k++) {
                    voters[g][k] = all.remove(r.nextInt(all.size()));
                }
                Arrays.sort(voters[g]);
            }
        }
        return new RuntimeSimConfig(seed, nodes, spare, workers, groupIds, voters, 10, 10, 1 + r.nextInt(2),
                r.nextInt(40), r.nextInt(25), r.nextInt(100), r.nextInt(100), 3 + r.nextInt(3), 2 + r.nextInt(2),
                4_000_000_000L, 150_000_000L + r.nextLong(200_000_000L), nemeses,
                // Drawn last, so the rest of a seed's shape is what it was before snapshots came in.
                retainEntries(snapshots, r.nextBoolean(), 2 + r.nextInt(15)));
    }

    private static int retainEntries(Snapshots snapshots, boolean coin, int retain) {
        return snapshots == Snapshots.ALL || (snapshots == Snapshots.HALF && !coin) ? retain : 0;
    }

    private static boolean contains(long[] ids, long id) {
        for (long x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    int totalNodes() {
        return nodes + spareNodes;
    }

    long tickNs() {
        return tickIntervalMs * 1_000_000L;
    }

    long electionTimeoutNs() {
        return electionTimeoutTicks * tickNs();
    }

    boolean snapshots() {
        return logRetainEntries > 0;
    }

    MultiRaftConfig nodeConfig(long nodeId) {
        return new MultiRaftConfig(nodeId, workers[(int) nodeId - 1], tickIntervalMs, electionTimeoutTicks,
                heartbeatIntervalTicks, 1024, 64, snapshots() ? logRetainEntries : 1000);
    }

    String describe() {
        StringBuilder b = new StringBuilder();
        b.append(nodes).append(" nodes + ").append(spareNodes).append(" spare, workers ").append(Arrays.toString(workers));
        b.append(", groups");
        for (int g = 0; g < groupIds.length; g++) {
            b.append(' ').append(groupIds[g]).append(Arrays.toString(initialVoters[g]));
        }
        b.append(", heartbeat ").append(heartbeatIntervalTicks).append(" ticks, per 1000 batches: loss ").append(lossPermille)
                .append(" dup ").append(duplicatePermille).append(" split ").append(splitPermille).append(" slow ")
                .append(slowPermille).append("; ").append(clients).append(" clients x ").append(keysPerGroup)
                .append(" keys, nemeses ").append(RuntimeSimNemesis.names(nemeses))
                .append(snapshots() ? ", snapshots, logs compacted to " + logRetainEntries + " entries" : ", no snapshots");
        return b.toString();
    }
}
