package io.flotilla.raft;

/**
 * Which peer messages a replica steps at all: the checks that come before anything may touch its
 * term. A message that is misaddressed, malformed, beyond the term bounds, or a vote request, forced
 * campaign or term-raising answer from a replica that may not send one, is dropped with its
 * reason. Part of one replica's {@link RaftNode}; deterministic, no state of its own beyond what it
 * reads from the replica's log and configuration.
 */
final class MessageAdmission {
    private final long id;
    private final long groupId;
    private final RaftLog log;
    private final ProgressTracker tracker;

    MessageAdmission(long id, long groupId, RaftLog log, ProgressTracker tracker) {
        this.id = id;
        this.groupId = groupId;
        this.log = log;
        this.tracker = tracker;
    }

    /**
     * Why {@code m} must be dropped before it may touch our term, or null if it may be stepped. The
     * checks, in order: addressing; well-formedness; the term bounds ({@link RaftNode#MAX_TERM},
     * {@link RaftNode#MAX_TERM_JUMP}); then the sender's place in our configuration:
     * <ul>
     *   <li>APPEND, HEARTBEAT, SNAPSHOT, READ_INDEX_RESPONSE: from anyone. They are a leader's, and a
     *       replica may follow a leader outside its configuration: a new replica knows no
     *       configuration until the leader sends it one (Raft thesis §4.1).
     *   <li>VOTE, PRE_VOTE: from a replica that may be a voter; never from one in no configuration we
     *       know, whatever log it claims (see {@link #mayRequestVotes}).
     *   <li>TIMEOUT_NOW: from a voter of our configuration; {@code RaftNode.stepFollower} further requires
     *       our leader. Refusing a genuine one only delays a transfer: the leader abandons it after
     *       an election timeout and keeps leading.
     *   <li>Responses and READ_INDEX: from anyone, but from outside our configuration (voters and
     *       learners) only if they do not raise our term. We send requests only to members, so such
     *       an answer is stale or forged, and must not depose us (thesis §4.2.3); a removed replica
     *       that forwards a read is still answered, as before.
     * </ul>
     */
    DropReason refusal(Message m, long term) {
        if (m.to != id || m.groupId != groupId || m.from == RaftNode.NONE || m.from == id) {
            return DropReason.MISADDRESSED;
        }
        if (!wellFormed(m)) {
            return DropReason.MALFORMED;
        }
        if (m.term > RaftNode.MAX_TERM) {
            return DropReason.TERM_ABOVE_MAXIMUM;
        }
        // Both are >= 0 (a stored term may exceed MAX_TERM, m.term does not): no overflow.
        if (m.term - term > RaftNode.MAX_TERM_JUMP) {
            return DropReason.TERM_JUMP;
        }
        return switch (m.type) {
            case APPEND, HEARTBEAT, SNAPSHOT, READ_INDEX_RESPONSE -> null;
            case VOTE, PRE_VOTE -> mayRequestVotes(m) ? null : DropReason.NOT_A_VOTER;
            case TIMEOUT_NOW -> tracker.isVoter(m.from) ? null : DropReason.NOT_A_VOTER;
            case APPEND_RESPONSE, HEARTBEAT_RESPONSE, VOTE_RESPONSE, PRE_VOTE_RESPONSE, READ_INDEX ->
                    m.term <= term || tracker.isMember(m.from) ? null : DropReason.NOT_A_MEMBER;
        };
    }

    /**
     * Whether a vote request from {@code m.from} is considered at all. Refusing a vote never
     * endangers safety; the question is liveness, against two threats. With single-step membership
     * changes applied when committed (thesis §4.1, §4.2.3), a replica considers a candidate that is
     * <ol>
     *   <li>a voter of its applied configuration;
     *   <li>made a voter by a conf change in its log that it has not applied yet;
     *   <li>a learner of its applied configuration, or added by a change in its log it has not
     *       applied, whose log is more up to date than its own (§5.4.1 order): that log may hold
     *       the promotion this replica has not received (thesis §4.1: a server must take votes
     *       from servers not yet in its configuration; {@code DisruptionTest} builds the case where
     *       the promoted replica is the only one that can win); or
     *   <li>anyone with a more up-to-date log, while this replica knows no configuration at all
     *       (none applied, no conf change in its log): a voter added directly whose leader died
     *       before reaching it is needed by the survivors.
     * </ol>
     * Anyone else is dropped, whatever log it claims: a replica in none of the configurations we
     * know is a removed one (the disruptive server of §4.2.3) or a forgery (runtime simulation
     * seed 3723: one such request, arriving during an election when no lease protects anyone,
     * raised a candidate's term and took its vote). Learners with logs not ahead are refused too:
     * if a candidate's log is not ahead of ours, every entry committed in its log is in ours (the
     * argument of Leader Completeness, §3.6.3), so a promotion it applied is in our log (clause 2).
     *
     * <p>The price: a voter added directly (ADD_VOTER) is unknown to a replica that missed the
     * change, so if the new voter is the only replica that can win (it holds the longest log, the
     * old leader is gone for good) and needs that replica's vote, the group waits for the old
     * leader. Adding a voter as a learner first and promoting it once it caught up (thesis §4.2.1)
     * avoids that: the replica then knows it as a learner (clause 3). Clause 4 lets a forger take
     * the vote of an empty replica, which holds no entries and whose vote is only needed in the case
     * it covers. A candidate admitted by clause 2, 3 or 4 still cannot skip our leader lease: only a
     * voter of our applied configuration may ({@link #forcedByTransfer}).
     */
    private boolean mayRequestVotes(Message m) {
        if (tracker.isVoter(m.from)) {
            return true;
        }
        UnappliedChange change = unappliedChange(m.from);
        if (change == UnappliedChange.MAKES_VOTER) {
            return true;
        }
        ConfState conf = tracker.conf();
        boolean known = conf.isLearner(m.from) || change == UnappliedChange.ADDS_LEARNER
                || (conf.voters().length == 0 && conf.learners().length == 0 && change == UnappliedChange.NONE);
        if (!known) {
            return false;
        }
        long lastTerm = log.lastTerm();
        return m.logTerm > lastTerm || (m.logTerm == lastTerm && m.index > log.lastIndex());
    }

    /** What the conf changes in our log beyond the applied index say about one replica. */
    private enum UnappliedChange { NONE, OTHERS_ONLY, ADDS_LEARNER, MAKES_VOTER }

    private UnappliedChange unappliedChange(long node) {
        long from = Math.max(log.applied + 1, log.firstIndex());
        if (from > log.lastIndex()) {
            return UnappliedChange.NONE;
        }
        UnappliedChange found = UnappliedChange.NONE;
        for (Entry e : log.slice(from, log.lastIndex() + 1, Long.MAX_VALUE)) {
            if (e.type() != EntryType.CONF_CHANGE) {
                continue;
            }
            ConfChange cc = ConfChange.decode(e.data());
            if (cc.nodeId() == node && (cc.type() == ConfChangeType.ADD_VOTER || cc.type() == ConfChangeType.PROMOTE_LEARNER)) {
                return UnappliedChange.MAKES_VOTER;
            }
            if (cc.nodeId() == node && cc.type() == ConfChangeType.ADD_LEARNER) {
                found = UnappliedChange.ADDS_LEARNER;
            } else if (found == UnappliedChange.NONE) {
                found = UnappliedChange.OTHERS_ONLY;
            }
        }
        return found;
    }

    /** A vote request a leader transfer caused skips the leader lease, if a voter of ours sent it (§3.10). */
    boolean forcedByTransfer(Message m) {
        return m.context == Message.CAMPAIGN_TRANSFER && tracker.isVoter(m.from);
    }


    /**
     * Entries of an append must follow its index contiguously, with terms no newer than the message's;
     * no term a message carries may be above its own term.
     */
    private static boolean wellFormed(Message m) {
        if (m.type == null || m.term < 0 || m.logTerm < 0 || m.logTerm > m.term) {
            return false;
        }
        if (m.type == MessageType.APPEND) {
            long expect = m.index + 1;
            long prevTerm = m.logTerm;
            for (int i = 0; i < m.entries.size(); i++) {
                Entry e = m.entries.get(i);
                if (e.index() != expect++ || e.term() < prevTerm || e.term() > m.term) {
                    return false;
                }
                prevTerm = e.term();
            }
        }
        return m.type != MessageType.SNAPSHOT
                || (m.snapshot != null && m.snapshot.metadata().term() <= m.term);
    }
}
