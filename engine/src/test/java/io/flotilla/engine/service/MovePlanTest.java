package io.flotilla.engine.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.MoveStep;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import org.junit.jupiter.api.Test;

/** The steps {@link MovePlan} takes moving a range's replica from node 3 to node 4, led by node 1. */
class MovePlanTest {
    private static final ConfState LEARNER = new ConfState(new long[] {1, 2, 3}, new long[] {4});

    @Test
    void aLearnerThatAwaitsItsSnapshotIsNotPromoted() {
        MovePlan.Decision d = MovePlan.next(LEARNER, 1, 3, 4, 0, 50, 40, 50, 2, 2);
        assertThat(d.step()).isEqualTo(MoveStep.MOVE_CATCHING_UP);
        assertThat(d.change()).isNull();
    }

    @Test
    void aCaughtUpLearnerWaitsForEveryStayingVoterToHoldItsAddition() {
        // Node 2 holds entries to 30; the learner was added by 40 (the leader's applied index).
        MovePlan.Decision waiting = MovePlan.next(LEARNER, 1, 3, 4, 50, 50, 40, 30, 2, 2);
        assertThat(waiting.step()).isEqualTo(MoveStep.MOVE_CATCHING_UP);
        assertThat(waiting.change()).isNull();
        assertThat(waiting.message()).contains("node 2");

        MovePlan.Decision promoting = MovePlan.next(LEARNER, 1, 3, 4, 50, 50, 40, 40, 2, 2);
        assertThat(promoting.step()).isEqualTo(MoveStep.MOVE_PROMOTING);
        assertThat(promoting.change()).isEqualTo(new ConfChange(ConfChangeType.PROMOTE_LEARNER, 4));
    }

    @Test
    void theLeavingReplicaIsRemovedOnlyOnceTheTargetVotes() {
        MovePlan.Decision removing = MovePlan.next(new ConfState(new long[] {1, 2, 3, 4}, new long[0]), 1, 3, 4, 0, 60);
        assertThat(removing.change()).isEqualTo(new ConfChange(ConfChangeType.REMOVE_NODE, 3));
        MovePlan.Decision handOff = MovePlan.next(new ConfState(new long[] {1, 2, 3, 4}, new long[0]), 3, 3, 4, 0, 60);
        assertThat(handOff.step()).isEqualTo(MoveStep.MOVE_TRANSFERRING_LEADER);
        assertThat(handOff.transferTo()).isEqualTo(4);
        MovePlan.Decision toAnOlderVoter = MovePlan.next(new ConfState(new long[] {2, 3, 4, 5}, new long[0]), 3, 3, 4,
                0, 60, 60, 60, 2, 5);
        assertThat(toAnOlderVoter.transferTo()).as("the heir the leader picked").isEqualTo(5);
        MovePlan.Decision notToItself = MovePlan.next(new ConfState(new long[] {2, 3, 4}, new long[0]), 3, 3, 4,
                0, 60, 60, 60, 2, 3);
        assertThat(notToItself.transferTo()).as("an heir that is the leaving leader").isEqualTo(4);
        MovePlan.Decision done = MovePlan.next(new ConfState(new long[] {1, 2, 4}, new long[0]), 1, 3, 4, 0, 61);
        assertThat(done.step()).isEqualTo(MoveStep.MOVE_DONE);
    }
}
