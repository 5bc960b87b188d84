package io.flotilla.raft;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The membership of a group and, on a leader, the {@link Progress} of every member. Quorums are
 * majorities of voters; learners are tracked but never counted. Owned by the replica's thread.
 * Iteration is in node-id order so that message order is deterministic.
 */
final class ProgressTracker {
    enum VoteResult { PENDING, WON, LOST }

    private ConfState conf = ConfState.EMPTY;
    final TreeMap<Long, Progress> progress = new TreeMap<>();
    private final TreeMap<Long, Boolean> votes = new TreeMap<>();
    private final int maxInflight;

    ProgressTracker(int maxInflight) {
        this.maxInflight = maxInflight;
    }

    ConfState conf() {
        return conf;
    }

    long[] voters() {
        return conf.voters();
    }

    boolean isVoter(long id) {
        return conf.isVoter(id);
    }

    boolean isMember(long id) {
        return conf.isVoter(id) || conf.isLearner(id);
    }

    int quorum() {
        return conf.voters().length / 2 + 1;
    }

    /** Replaces the membership; keeps the progress of members that stay, adds fresh progress for new ones. */
    void setConf(ConfState newConf, long nextIndex) {
        conf = newConf;
        progress.keySet().removeIf(id -> !isMember(id));
        for (long id : newConf.voters()) {
            addOrUpdate(id, false, nextIndex);
        }
        for (long id : newConf.learners()) {
            addOrUpdate(id, true, nextIndex);
        }
    }

    private void addOrUpdate(long id, boolean learner, long nextIndex) {
        Progress p = progress.get(id);
        if (p == null) {
            p = new Progress(nextIndex, maxInflight, learner);
            // A new member counts as active so CheckQuorum does not depose a leader that just added it.
            p.recentActive = true;
            progress.put(id, p);
        }
        p.learner = learner;
    }

    /** The largest index a quorum of voters has acknowledged. */
    long committedIndex() {
        long[] voters = conf.voters();
        if (voters.length == 0) {
            return 0;
        }
        long[] matches = new long[voters.length];
        for (int i = 0; i < voters.length; i++) {
            matches[i] = progress.get(voters[i]).match;
        }
        Arrays.sort(matches);
        return matches[voters.length - quorum()];
    }

    /** The largest heartbeat round a quorum of voters has acknowledged; {@code selfRound} counts for the leader. */
    long quorumRound(long selfId, long selfRound) {
        long[] voters = conf.voters();
        long[] rounds = new long[voters.length];
        for (int i = 0; i < voters.length; i++) {
            rounds[i] = voters[i] == selfId ? selfRound : progress.get(voters[i]).ackedRound;
        }
        Arrays.sort(rounds);
        return rounds[voters.length - quorum()];
    }

    /** True if a quorum of voters was heard from recently; {@code selfId} always counts. */
    boolean quorumActive(long selfId) {
        int active = 0;
        for (long id : conf.voters()) {
            if (id == selfId || progress.get(id).recentActive) {
                active++;
            }
        }
        return active >= quorum();
    }

    void resetRecentActive(long selfId) {
        for (Map.Entry<Long, Progress> e : progress.entrySet()) {
            e.getValue().recentActive = e.getKey() == selfId;
        }
    }

    void resetVotes() {
        votes.clear();
    }

    /** Records a vote (first answer per voter wins) and tallies the election. Non-voters are ignored. */
    VoteResult recordVote(long id, boolean granted) {
        if (isVoter(id)) {
            votes.putIfAbsent(id, granted);
        }
        int grantedCount = 0;
        int rejected = 0;
        for (boolean g : votes.values()) {
            if (g) {
                grantedCount++;
            } else {
                rejected++;
            }
        }
        if (grantedCount >= quorum()) {
            return VoteResult.WON;
        }
        if (rejected > conf.voters().length - quorum()) {
            return VoteResult.LOST;
        }
        return VoteResult.PENDING;
    }
}
