package io.flotilla.raft;

import java.util.Arrays;

/**
 * The membership of a group: the voters and the learners, each sorted and disjoint.
 */
public record ConfState(long[] voters, long[] learners) {
    public static final ConfState EMPTY = new ConfState(new long[0], new long[0]);

    public ConfState {
        voters = voters.clone();
        learners = learners.clone();
        Arrays.sort(voters);
        Arrays.sort(learners);
        for (long l : learners) {
            Check.argument(Arrays.binarySearch(voters, l) < 0, "node %d is both voter and learner", l);
        }
    }

    public static ConfState ofVoters(long... voters) {
        return new ConfState(voters, new long[0]);
    }

    public boolean isVoter(long id) {
        return Arrays.binarySearch(voters, id) >= 0;
    }

    public boolean isLearner(long id) {
        return Arrays.binarySearch(learners, id) >= 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfState c && Arrays.equals(voters, c.voters) && Arrays.equals(learners, c.learners);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(voters) + Arrays.hashCode(learners);
    }

    @Override
    public String toString() {
        return "voters=" + Arrays.toString(voters) + " learners=" + Arrays.toString(learners);
    }
}
