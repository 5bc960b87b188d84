package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.NodePlacement;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla decommission NODE}: marks the node draining in the meta range; the balancer then
 * moves every replica (and so every leadership) off it, a few at a time. Follows the drain until the
 * node holds nothing and says that it can be stopped; {@code --cancel} stops the drain.
 */
@Command(name = "decommission", mixinStandardHelpOptions = true,
        description = {"Drains node NODE: every replica it holds moves to other nodes (its leaderships with them),",
                "two at a time. Shows the progress and says when the node holds nothing and can be stopped.",
                "The drain is recorded in the cluster and goes on if this command is stopped."})
final class DecommissionCommand implements Callable<Integer> {
    private static final long POLL_MS = 1_000;
    /** Polls in a row with replicas left and no move off the node before the drain is reported stuck. */
    static final int STUCK_ROUNDS = 15;

    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", paramLabel = "NODE", description = "the node to drain")
    long node;

    @Option(names = "--cancel", description = "stop draining NODE (replicas moved off it stay where they are)")
    boolean cancel;

    @Option(names = "--wait-ms", defaultValue = "1800000",
            description = "how long to follow the drain (default: ${DEFAULT-VALUE})")
    long waitMs;

    @Override
    public Integer call() throws Exception {
        try (FlotillaClient client = cluster.connect()) {
            UpdateSettingsRequest.Builder update = UpdateSettingsRequest.newBuilder();
            if (cancel) {
                client.updateSettings(update.setUndrainNodeId(node).build()).join();
                System.out.println("node " + node + " is no longer drained");
                return 0;
            }
            client.updateSettings(update.setDrainNodeId(node).build()).join();
            System.out.println("draining node " + node + ": its replicas move to the other nodes");
            long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
            StuckWatch watch = new StuckWatch();
            while (System.nanoTime() < deadlineNs) {
                ListMovesResponse moves = moves(client);
                NodePlacement placement = moves == null ? null : placement(moves);
                if (placement != null) {
                    String now = "node " + node + ": " + placement.getReplicas() + " replicas, " + placement.getLeaders()
                            + " leaderships left";
                    if (watch.changed(now)) {
                        System.out.println(now);
                    }
                    if (placement.getReplicas() == 0 && placement.getLeaders() == 0) {
                        System.out.println("node " + node + " holds no replicas: it can be stopped now");
                        return 0;
                    }
                    if (watch.stuck(moving(moves))) {
                        System.err.println("node " + node + " still holds " + placement.getReplicas() + " replicas and no"
                                + " move off it is in progress: no other node that is up can take them (each holds the"
                                + " range already, takes part in as many moves as it may, or refused it: `flotilla moves`"
                                + " lists the failed moves and why). Add a node (`flotilla add-node`) or start the nodes"
                                + " that are down; the drain goes on by itself then");
                        return FlotillaCli.EXIT_FAILED;
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
            }
            System.err.println("node " + node + " still holds replicas after " + waitMs / 1000 + " s; the drain goes on"
                    + " (`flotilla moves` shows the moves, `flotilla decommission " + node + "` follows it again)");
            return FlotillaCli.EXIT_FAILED;
        }
    }

    /**
     * Tells a drain that is stuck from one that goes on: stuck once {@link #STUCK_ROUNDS} polls in a
     * row saw no move off the node and its counts unchanged. A small range's move starts and ends
     * between two polls a second apart, and in step with the balancer's rounds the polls can miss
     * every move of a drain that goes on; its counts still fall.
     */
    static final class StuckWatch {
        private String last = "";
        private boolean changed;
        private int idleRounds;

        /** The node's counts as this poll shows them (as text); whether they differ from the last poll's. */
        boolean changed(String counts) {
            changed = !counts.equals(last);
            last = counts;
            return changed;
        }

        /** After {@link #changed}: whether a move off the node was seen in progress; true once the drain is stuck. */
        boolean stuck(boolean moving) {
            idleRounds = changed || moving ? 0 : idleRounds + 1;
            return idleRounds >= STUCK_ROUNDS;
        }
    }

    private static ListMovesResponse moves(FlotillaClient client) {
        try {
            return client.listMoves().join();
        } catch (RuntimeException e) {
            return null; // the meta range is electing a leader: ask again
        }
    }

    private NodePlacement placement(ListMovesResponse moves) {
        for (NodePlacement p : moves.getNodesList()) {
            if (p.getNodeId() == node) {
                return p;
            }
        }
        return null;
    }

    private boolean moving(ListMovesResponse moves) {
        return moves.getMovesList().stream().anyMatch(m -> m.getMove().getFromNodeId() == node);
    }
}
