package io.flotilla.engine.service;

import io.flotilla.kv.proto.MoveStep;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.router.RouteTable;

/**
 * The next step of moving a range's replica from node {@code from} to node {@code to}, decided
 * from the range's membership as its leader sees it — never from a record of earlier steps — so
 * the same question asked again, by a new leader, or after any crash, gets the step that is still
 * due:
 * <ol>
 *   <li>the target is no member: add it as a learner (it holds nothing yet, so it cannot count
 *       toward a quorum until it has the range's state);</li>
 *   <li>the target is a learner: wait until it holds the leader's log to within
 *       {@link #CATCH_UP_ENTRIES} (first a snapshot, then entries) and every other voter but the
 *       leaving one holds the target's addition, then promote it;</li>
 *   <li>the target votes and the leaving replica is still a member: if the leaving replica leads,
 *       it hands its leadership to the target first (a leader cannot remove itself safely here), else
 *       it is removed;</li>
 *   <li>the target votes and the leaving replica is gone: done.</li>
 * </ol>
 * The leaving replica is removed only once the target votes holding the range's log, so a move
 * never takes a range below the replicas it had. The target is promoted only once every voter
 * that stays holds the change that added it: a voter drops vote requests from a replica in no
 * configuration it knows (MessageAdmission; a learner it knows, with a log ahead of its own, it
 * hears), so a voter that missed both the addition and the promotion would refuse the target's
 * votes, and a range left with that voter and the target as its quorum could never elect a leader
 * (the KV simulation found it: the voter was down while the move ran, then the leader was lost).
 * Pure; any thread.
 */
public final class MovePlan {
    /** How far a learner may trail the leader's commit index and still be promoted. */
    public static final long CATCH_UP_ENTRIES = 256;

    /** What to do now: a step to report, and at most one action (a membership change or a leader transfer). */
    public record Decision(MoveStep step, ConfChange change, long transferTo, String message) {
        static Decision report(MoveStep step, String message) {
            return new Decision(step, null, 0, message);
        }
    }

    private MovePlan() {
    }

    /**
     * Whether the replica a move's target already hosts, holding {@code own} (its applied
     * descriptor; null while empty), is one an earlier change removed rather than the one this move
     * started: it applied its own removal, or the range as recorded ({@code recorded}) does not list
     * the target and is newer than the replica (a restart can bring back a removed replica that
     * never applied its removal). Added as the move's learner, such a replica would be dropped under
     * the move as the meta range shows its removal; it must go first. The move's own replica is
     * empty until the leader's snapshot, which is exported after the learner's addition applied, so
     * it lists the target, and once the record lists the target too it is never taken for old.
     */
    public static boolean oldReplica(RangeDescriptor own, long nodeId, RangeDescriptor recorded) {
        return own != null && (!RouteTable.hasReplicaOn(own, nodeId)
                || !RouteTable.hasReplicaOn(recorded, nodeId) && RouteTable.compareVersions(own, recorded) < 0);
    }

    /**
     * The step due for moving from {@code from} to {@code to}, on the leader {@code leader} whose
     * membership is {@code members}, commit index {@code commitIndex}, and which knows the target
     * (if a learner) to hold entries up to {@code targetMatch}.
     */
    public static Decision next(ConfState members, long leader, long from, long to, long targetMatch, long commitIndex) {
        return next(members, leader, from, to, targetMatch, commitIndex, 0, Long.MAX_VALUE, 0, to);
    }

    /**
     * As above, where {@code addedBy} is an index by which the leader's log surely holds the
     * target's addition (its applied index: its membership shows the learner), and
     * {@code laggingVoter} (0 if none) with match index {@code laggingMatch} is the voter other than
     * the leader and {@code from} that the leader knows to hold the least of its log: the target is
     * promoted only once that voter holds {@code addedBy}. A leaving leader hands its leadership to
     * {@code handOffTo}, a voter that stays.
     */
    public static Decision next(ConfState members, long leader, long from, long to, long targetMatch, long commitIndex,
            long addedBy, long laggingMatch, long laggingVoter, long handOffTo) {
        boolean fromMember = members.isVoter(from) || members.isLearner(from);
        if (members.isVoter(to)) {
            if (!fromMember) {
                return Decision.report(MoveStep.MOVE_DONE, "node " + to + " votes and node " + from + " is gone");
            }
            if (from == leader) {
                long heir = handOffTo != from && members.isVoter(handOffTo) ? handOffTo : to;
                return new Decision(MoveStep.MOVE_TRANSFERRING_LEADER, null, heir, "node " + from
                        + " leads: it hands its leadership to node " + heir + " before it is removed");
            }
            return new Decision(MoveStep.MOVE_REMOVING_OLD_REPLICA, new ConfChange(ConfChangeType.REMOVE_NODE, from), 0,
                    "removing node " + from);
        }
        if (members.isLearner(to)) {
            if (targetMatch == 0 || commitIndex - targetMatch > CATCH_UP_ENTRIES) {
                return Decision.report(MoveStep.MOVE_CATCHING_UP, targetMatch == 0
                        ? "node " + to + " awaits the range's snapshot"
                        : "node " + to + " holds entries to " + targetMatch + " of " + commitIndex);
            }
            if (laggingMatch < addedBy) {
                return Decision.report(MoveStep.MOVE_CATCHING_UP, "node " + laggingVoter + " holds entries to "
                        + laggingMatch + ", not yet node " + to + "'s addition (by " + addedBy + "): it would refuse"
                        + " node " + to + "'s votes once it votes");
            }
            return new Decision(MoveStep.MOVE_PROMOTING, new ConfChange(ConfChangeType.PROMOTE_LEARNER, to), 0,
                    "promoting node " + to + " to voter");
        }
        if (!fromMember) {
            return Decision.report(MoveStep.MOVE_FAILED, "neither node " + from + " nor node " + to
                    + " is a replica of the range any more: something else changed its membership");
        }
        return new Decision(MoveStep.MOVE_ADDING_LEARNER, new ConfChange(ConfChangeType.ADD_LEARNER, to), 0,
                "adding node " + to + " as a learner");
    }
}
