package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.InvalidArgumentException;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.proto.MoveCommand;
import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.MoveStepResponse;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import io.flotilla.router.MetaRange;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the replica moves the meta range records, while this node leads the meta range. Every
 * {@link #ROUND_MS}, for each recorded move without a request in flight: the target is asked to
 * start an empty replica ({@code HostReplica}, once per move and leadership), then the range's
 * leader is asked for the next step ({@code MoveStep}: it decides from the range's membership, so
 * a step is never taken twice), until the leader answers DONE or FAILED; then the move's record is
 * ended in the meta range. Nothing about a move lives only here: the record is in the meta range
 * and the progress in the range's membership, so a move survives a crash of any node — a new meta
 * leader picks it up from its replica of the meta range, and a new range leader answers the next
 * step from the membership it applied. What is kept here is for people: each move's last answer
 * (snapshot bytes, match index) and the last moves that ended. One thread of its own; answers
 * arrive on the client's threads; {@link #list} from any thread. The {@link Balancer} runs on the
 * same thread, so the meta range's leader both decides the moves and drives them.
 */
final class MoveDriver implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MoveDriver.class);
    static final long ROUND_MS = 100;
    /** Moves that ended, kept for {@link #list}. */
    private static final int ENDED_KEPT = 32;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    private final LongFunction<NodeAddress> addresses;
    private final LongSupplier clockMs;
    private final Balancer balancer;
    /** Told of each move that ended done (the moves metric). */
    private final Runnable onMoveDone;
    /** Guarded by this. */
    private final Map<Long, Tracked> moves = new HashMap<>();
    private final ArrayDeque<MoveProgress> ended = new ArrayDeque<>();
    private final RoundLoop loop;

    /** One move as this leader drives it. Guarded by the driver. */
    private static final class Tracked {
        final MoveRecord record;
        MoveProgress.Builder progress;
        boolean hosted;
        boolean inFlight;
        boolean ending;
        /** The range as its leader last reported it. */
        RangeDescriptor range;

        Tracked(MoveRecord record) {
            this.record = record;
            this.progress = MoveProgress.newBuilder().setMove(record).setStep(MoveStep.MOVE_ADDING_LEARNER)
                    .setMessage("starting a replica on node " + record.getToNodeId());
        }
    }

    MoveDriver(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine, FlotillaClient client,
            ClusterDirectory directory, LongSupplier clockMs, Runnable onMoveDone) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.client = client;
        this.addresses = directory::address;
        this.onMoveDone = onMoveDone;
        this.balancer = new Balancer(nodeId, stateMachine, client, directory, clockMs);
        this.clockMs = clockMs;
        this.loop = new RoundLoop("flotilla-move-driver-" + nodeId, ROUND_MS, this::round,
                e -> LOG.warn("node {}: driving moves failed; trying again in {} ms", nodeId, ROUND_MS, e));
    }

    void start() {
        loop.start();
    }

    /** The moves in progress (as last heard) and the last that ended while this node led the meta range. */
    synchronized ListMovesResponse list() {
        ListMovesResponse.Builder list = ListMovesResponse.newBuilder();
        for (Tracked t : moves.values()) {
            list.addMoves(t.progress);
        }
        list.addAllEnded(ended);
        list.setSettings(stateMachine.recordedSettings()).addAllNodes(balancer.placements());
        return list.build();
    }

    private void round() {
        GroupView meta = runtime.groupView(MetaRange.ID);
        if (meta == null || !meta.leading()) {
            synchronized (this) {
                moves.clear();
            }
            return;
        }
        List<MoveRecord> recorded = stateMachine.recordedMoves();
        List<MoveProgress> endedNow;
        synchronized (this) {
            endedNow = List.copyOf(ended);
        }
        balancer.maybeRound(recorded, endedNow);
        if (recorded.isEmpty() && moves.isEmpty()) {
            return;
        }
        Map<Long, RangeDescriptor> ranges = new HashMap<>();
        for (RangeDescriptor range : stateMachine.recordedRanges()) {
            ranges.put(range.getRangeId(), range);
        }
        ranges.put(MetaRange.ID, stateMachine.descriptor(MetaRange.ID)); // not among the ones it records
        synchronized (this) {
            Set<Long> live = new HashSet<>();
            for (MoveRecord record : recorded) {
                live.add(record.getRangeId());
                Tracked t = moves.get(record.getRangeId());
                if (t == null && hasEnded(record)) {
                    // Its end applied after this round read the records, or before the read could see it:
                    // a second Tracked would drive it again, list it in progress and count it done twice.
                    continue;
                }
                if (t == null || !t.record.equals(record)) {
                    t = new Tracked(record);
                    moves.put(record.getRangeId(), t);
                    LOG.info("node {}: driving the move of range {} from node {} to node {} ({})", nodeId,
                            record.getRangeId(), record.getFromNodeId(), record.getToNodeId(), record.getReason());
                }
                if (!t.inFlight && !t.ending) {
                    advance(t, ranges.get(record.getRangeId()));
                }
            }
            moves.keySet().removeIf(id -> !live.contains(id));
        }
    }

    /**
     * Whether {@code record}'s move is among those that ended (a record is never recorded twice: it
     * carries its start time). Holding the lock.
     */
    private boolean hasEnded(MoveRecord record) {
        for (MoveProgress p : ended) {
            if (p.getMove().equals(record)) {
                return true;
            }
        }
        return false;
    }

    /** Sends the move's next request. Holding the lock. */
    private void advance(Tracked t, RangeDescriptor range) {
        MoveRecord move = t.record;
        if (range == null) {
            end(t, MoveStep.MOVE_FAILED, "the meta range no longer records range " + move.getRangeId());
            return;
        }
        t.inFlight = true;
        if (!t.hosted) {
            NodeAddress target = addresses.apply(move.getToNodeId());
            if (target == null) {
                t.inFlight = false;
                end(t, MoveStep.MOVE_FAILED, "node " + move.getToNodeId() + " is not a node of this cluster");
                return;
            }
            client.hostReplica(target.getHost() + ":" + target.getClientPort(), range).whenComplete((ok, error) -> {
                synchronized (this) {
                    t.inFlight = false;
                    if (error == null) {
                        t.hosted = true;
                        wake();
                    } else if (cause(error) instanceof InvalidArgumentException) {
                        end(t, MoveStep.MOVE_FAILED, cause(error).getMessage());
                    } else {
                        t.progress.setMessage("node " + move.getToNodeId() + " did not answer: " + cause(error).getMessage());
                    }
                }
            });
            return;
        }
        client.moveStep(range, move.getFromNodeId(), move.getToNodeId()).whenComplete((step, error) -> {
            synchronized (this) {
                t.inFlight = false;
                if (error != null) {
                    t.progress.setMessage(String.valueOf(cause(error).getMessage()));
                } else {
                    note(t, step);
                }
            }
        });
    }

    /** The range leader's answer. Holding the lock. */
    private void note(Tracked t, MoveStepResponse step) {
        if (step.hasRange()) {
            t.range = step.getRange();
        }
        t.progress.setStep(step.getStep()).setTargetMatchIndex(step.getTargetMatchIndex())
                .setCommitIndex(step.getCommitIndex()).setMessage(step.getMessage());
        if (step.getSnapshotBytesTotal() > 0) {
            t.progress.setSnapshotBytesSent(step.getSnapshotBytesSent()).setSnapshotBytesTotal(step.getSnapshotBytesTotal());
        }
        if (step.getStep() == MoveStep.MOVE_DONE || step.getStep() == MoveStep.MOVE_FAILED) {
            end(t, step.getStep(), step.getMessage());
        } else if (step.getStep() == MoveStep.MOVE_ADDING_LEARNER || step.getStep() == MoveStep.MOVE_PROMOTING
                || step.getStep() == MoveStep.MOVE_REMOVING_OLD_REPLICA) {
            // The range's leader answers these once the membership change applied: the next step is due now.
            wake();
        }
    }

    /**
     * Runs the next round now instead of up to {@link #ROUND_MS} later, after a step that leaves the
     * next one due at once (a move takes five or six steps, so the waits were most of a small move's
     * time). A step that waits (catching up, a leader transfer under way) is asked again a round later.
     */
    private void wake() {
        loop.wake();
    }

    /** Ends the move's record in the meta range; once applied, it is listed as ended. Holding the lock. */
    private void end(Tracked t, MoveStep outcome, String message) {
        RangeDescriptor meta = stateMachine.descriptor(MetaRange.ID);
        if (meta == null) {
            return; // this node's replica of the meta range was just dropped: its next leader ends the move
        }
        t.ending = true;
        MoveProgress last = t.progress.setStep(outcome).setMessage(message).setEndedAtMs(clockMs.getAsLong()).build();
        WriteCommand command = WriteCommand.newBuilder().setProposedAtMs(clockMs.getAsLong())
                .setRangeEpoch(meta.getEpoch())
                .setMove(endCommand(t)).build();
        runtime.propose(MetaRange.ID, command.toByteArray(), new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                synchronized (MoveDriver.this) {
                    ended.addFirst(last);
                    while (ended.size() > ENDED_KEPT) {
                        ended.removeLast();
                    }
                    moves.remove(t.record.getRangeId(), t);
                }
                if (outcome == MoveStep.MOVE_DONE) {
                    onMoveDone.run();
                }
                LOG.info("node {}: the move of range {} from node {} to node {} ended: {} ({})", nodeId,
                        t.record.getRangeId(), t.record.getFromNodeId(), t.record.getToNodeId(), outcome, message);
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                retryEnd();
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                retryEnd();
            }

            @Override
            public void onBusy(long groupId) {
                retryEnd();
            }

            private void retryEnd() {
                synchronized (MoveDriver.this) {
                    t.ending = false;
                }
            }
        });
    }

    private static MoveCommand endCommand(Tracked t) {
        MoveCommand.Builder end = MoveCommand.newBuilder().setEnd(t.record);
        if (t.range != null) {
            end.setRange(t.range);
        }
        return end.build();
    }

    private static Throwable cause(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    @Override
    public void close() {
        loop.close();
    }
}
