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
     *   <li>VOTE, PRE_VOTE: from a replica that may be a voter (see {@link #mayRequestVotes}).
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
     * endangers safety; the question is liveness. With single-step membership changes (thesis §4.1,
     * §4.2.3) a replica considers a candidate that is
     * <ol>
     *   <li>a voter of its applied configuration;
     *   <li>made a voter by a conf change in its log that it has not applied yet; or
     *   <li>holding a log more up to date than its own (§5.4.1 order), since that log may hold a
     *       change that made the candidate a voter and that this replica has not received.
     * </ol>
     * Anyone else is refused, learners included. That costs no election a majority could win: if
     * a candidate's log is not ahead of ours, every entry committed in its log is in ours (the
     * argument of Leader Completeness, §3.6.3), so the configuration it applied is one from our log;
     * if it is a voter in none from our applied one on, it was removed, or never added, and is the
     * disruptive server of §4.2.3 (or a forgery). Admitting only clauses 1 and 2 would cost
     * liveness: a new voter may be the only replica that can win, and need the vote of one that has
     * not heard of it (thesis §4.1; {@code DisruptionTest} builds that case). A forger that claims
     * a longer log gains nothing a forged APPEND would not give it; and a candidate admitted by
     * clause 2 or 3 still cannot skip our leader lease: only a voter of our applied configuration
     * may ({@link #forcedByTransfer}).
     */
    private boolean mayRequestVotes(Message m) {
        if (tracker.isVoter(m.from)) {
            return true;
        }
        long lastTerm = log.lastTerm();
        if (m.logTerm > lastTerm || (m.logTerm == lastTerm && m.index > log.lastIndex())) {
            return true;
        }
        return unappliedChangeMakesVoter(m.from);
    }

    private boolean unappliedChangeMakesVoter(long node) {
        long from = Math.max(log.applied + 1, log.firstIndex());
        if (from > log.lastIndex()) {
            return false;
        }
        for (Entry e : log.slice(from, log.lastIndex() + 1, Long.MAX_VALUE)) {
            if (e.type() == EntryType.CONF_CHANGE) {
                ConfChange cc = ConfChange.decode(e.data());
                if (cc.nodeId() == node
                        && (cc.type() == ConfChangeType.ADD_VOTER || cc.type() == ConfChangeType.PROMOTE_LEARNER)) {
                    return true;
                }
            }
        }
        return false;
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
