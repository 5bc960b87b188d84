package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveReplicaResponse;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.router.RouteTable;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla move RANGE FROM TO}: records the move in the meta range, then follows it there
 * with a progress bar (snapshot bytes sent, rate, time left, and the step the move is at) until it
 * ends. Exit code 0 once the range's replica is on TO and gone from FROM; 1 if the move failed (with
 * the reason) or did not end within --wait-ms (the move goes on: `flotilla moves` follows it).
 */
@Command(name = "move", mixinStandardHelpOptions = true,
        description = {"Moves range RANGE's replica from node FROM to node TO: TO joins as a learner, receives a",
                "snapshot of the range and its log, and becomes a voter; then FROM hands off its leadership",
                "(if it leads the range) and is removed. Shows the move's progress until it ends. The move",
                "is recorded in the cluster and goes on if this command is stopped: `flotilla moves` shows it."})
final class MoveReplicaCommand implements Callable<Integer> {
    private static final long POLL_MS = 200;
    private static final long MIB = 1 << 20;
    /** Polls in a row that list the move nowhere before the range itself is asked how it ended. */
    private static final int UNLISTED_POLLS = 10;

    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", paramLabel = "RANGE", description = "the range's id (`flotilla ranges` lists them)")
    long rangeId;

    @Parameters(index = "1", paramLabel = "FROM", description = "the node whose replica moves")
    long from;

    @Parameters(index = "2", paramLabel = "TO", description = "the node it moves to (one without a replica of the range)")
    long to;

    @Option(names = "--wait-ms", defaultValue = "600000",
            description = "how long to follow the move before giving up waiting (default: ${DEFAULT-VALUE})")
    long waitMs;

    @Override
    public Integer call() throws Exception {
        long startNs = System.nanoTime();
        try (FlotillaClient client = cluster.connect()) {
            MoveReplicaResponse started = client.moveReplica(rangeId, from, to, "operator (flotilla move)").join();
            MoveRecord move = started.getMove();
            if (started.getAlreadyMoving() && (move.getFromNodeId() != from || move.getToNodeId() != to)) {
                System.err.println("range " + rangeId + " is already moving, from node " + move.getFromNodeId()
                        + " to node " + move.getToNodeId() + "; one move per range at a time: wait for it to end"
                        + " (`flotilla moves`)");
                return FlotillaCli.EXIT_FAILED;
            }
            System.out.println((started.getAlreadyMoving() ? "following the move of range " : "moving range ") + rangeId
                    + " from node " + from + " to node " + to);
            MoveProgress last = follow(client, move, startNs + TimeUnit.MILLISECONDS.toNanos(waitMs),
                    m -> outcomeFromRange(client, m));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNs);
            if (last == null) {
                System.err.println("the move of range " + rangeId + " has not ended after " + seconds + " s; it goes on"
                        + " (`flotilla moves` shows where it stands)");
                return FlotillaCli.EXIT_FAILED;
            }
            if (last.getStep() != MoveStep.MOVE_DONE) {
                System.err.println("the move of range " + rangeId + " failed: " + last.getMessage());
                return FlotillaCli.EXIT_FAILED;
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            System.out.println("range " + rangeId + " moved from node " + from + " to node " + to + " in " + ms + " ms"
                    + (last.getSnapshotBytesTotal() > 0 ? String.format(" (a snapshot of %.1f MiB)",
                            last.getSnapshotBytesTotal() / (double) MIB) : ""));
            return 0;
        }
    }

    /** Polls the moves until {@code move} ends (returns how) or the deadline passes (null). */
    private static MoveProgress follow(FlotillaClient client, MoveRecord move, long deadlineNs,
            Function<MoveRecord, MoveProgress> outcomeFromRange) {
        int unlisted = 0;
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("range " + move.getRangeId())
                .setStyle(ProgressBarStyle.ASCII).setUnit(" MiB", MIB).showSpeed().setInitialMax(0)
                .continuousUpdate().build()) {
            while (System.nanoTime() < deadlineNs) {
                ListMovesResponse moves;
                try {
                    moves = client.listMoves().join();
                } catch (RuntimeException e) {
                    bar.setExtraMessage("(the meta range's leader did not answer: " + e.getCause() + ")");
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
                    continue;
                }
                for (MoveProgress ended : moves.getEndedList()) {
                    if (ended.getMove().equals(move)) {
                        show(bar, ended);
                        return ended;
                    }
                }
                boolean listed = false;
                for (MoveProgress p : moves.getMovesList()) {
                    if (p.getMove().equals(move)) {
                        show(bar, p);
                        listed = true;
                    }
                }
                // Listed nowhere for a while: it ended under a meta leader that has since lost its
                // leadership (the list of ended moves lives on the leader). The range says how.
                unlisted = listed ? 0 : unlisted + 1;
                if (unlisted >= UNLISTED_POLLS) {
                    return outcomeFromRange.apply(move);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(POLL_MS));
            }
            return null;
        }
    }

    /** How an unlisted move ended, from the range's replicas as the nodes report them. */
    private MoveProgress outcomeFromRange(FlotillaClient client, MoveRecord move) {
        MoveProgress.Builder outcome = MoveProgress.newBuilder().setMove(move);
        try {
            for (StatusCommand.NodeReport report : StatusCommand.collect(client, cluster.seedAddresses(), 2_000)) {
                if (report.status() == null) {
                    continue;
                }
                for (RangeStatus r : report.status().getRangeStatusList()) {
                    if (r.getRange().getRangeId() == move.getRangeId() && r.getLeader()) {
                        boolean moved = RouteTable.hasReplicaOn(r.getRange(), move.getToNodeId())
                                && !RouteTable.hasReplicaOn(r.getRange(), move.getFromNodeId());
                        return outcome.setStep(moved ? MoveStep.MOVE_DONE : MoveStep.MOVE_FAILED).setMessage(moved ? ""
                                : "the move ended without moving the replica (the range's replicas are "
                                        + r.getRange().getReplicasList() + "); the meta range leader's log says why").build();
                    }
                }
            }
        } catch (Exception e) {
            return outcome.setStep(MoveStep.MOVE_FAILED).setMessage("the move is no longer listed, and the nodes could not"
                    + " be asked how it ended: " + e).build();
        }
        return outcome.setStep(MoveStep.MOVE_FAILED).setMessage("the move is no longer listed, and no node reports"
                + " leading range " + move.getRangeId()).build();
    }

    private static void show(ProgressBar bar, MoveProgress p) {
        if (p.getSnapshotBytesTotal() > 0) {
            bar.maxHint(p.getSnapshotBytesTotal());
            bar.stepTo(p.getStep() == MoveStep.MOVE_CATCHING_UP ? p.getSnapshotBytesSent() : p.getSnapshotBytesTotal());
        } else if (p.getStep() == MoveStep.MOVE_DONE && bar.getMax() <= 0) {
            // A small range's snapshot can come and go between two polls: the bar still ends full.
            bar.maxHint(1);
            bar.stepTo(1);
        }
        // The bar prints its rate right before this message: keep them apart.
        bar.setExtraMessage(" " + describe(p.getStep()));
    }

    static String describe(MoveStep step) {
        return switch (step) {
            case MOVE_ADDING_LEARNER -> "adding the new replica";
            case MOVE_CATCHING_UP -> "sending the snapshot and log";
            case MOVE_PROMOTING -> "promoting the new replica";
            case MOVE_TRANSFERRING_LEADER -> "handing off the leadership";
            case MOVE_REMOVING_OLD_REPLICA -> "removing the old replica";
            case MOVE_DONE -> "done";
            case MOVE_FAILED -> "failed";
            default -> String.valueOf(step);
        };
    }
}
