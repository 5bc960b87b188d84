package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * A replica's own record of its last few election events: campaigns it started and how they ended,
 * votes it granted, votes it refused and why, and the leaders it saw. It answers "why does this
 * group have no leader" from what each replica decided, not from guesses. Part of one replica's
 * {@link RaftNode}, owned by the replica's thread; {@link #events()} copies it for other threads.
 *
 * <p>A fixed ring of {@link #CAPACITY} preallocated slots: recording never allocates, and a repeat
 * of the newest event (a candidate asking again every election timeout, refused the same way)
 * bumps that slot's count instead of pushing older events out. Recording only observes: nothing
 * here feeds back into a Raft decision.
 */
public final class ElectionLog {
    /** Events kept; older ones are overwritten. */
    public static final int CAPACITY = 8;

    /** What happened. Codes are stable (they go on the wire). */
    public enum Kind {
        /** This replica started a (pre-)election. */
        CAMPAIGN(1),
        /** This replica granted a (pre-)vote. */
        VOTE_GRANTED(2),
        /** This replica refused a (pre-)vote; see {@link Refusal}. */
        VOTE_REFUSED(3),
        /** This replica saw a new leader (itself included), or its leader in a new term. */
        LEADER_CHANGED(4);

        public final int code;

        Kind(int code) {
            this.code = code;
        }
    }

    /** How a campaign ended. Codes are stable. */
    public enum Outcome {
        /** Still collecting votes. */
        PENDING(0),
        /** A quorum granted it (a won pre-election is followed by the real one). */
        WON(1),
        /** A quorum refused it. */
        LOST(2),
        /** Its election timeout passed without a quorum either way; a new campaign followed. */
        TIMED_OUT(3),
        /** It heard of a leader or a higher term before the votes were in. */
        STEPPED_DOWN(4);

        public final int code;

        Outcome(int code) {
            this.code = code;
        }
    }

    /** Why a vote was refused. Codes are stable. */
    public enum Refusal {
        /** This replica heard from a leader less than an election timeout ago (CheckQuorum, thesis §4.2.3). */
        IN_LEASE(1),
        /** The candidate's last entry is older than ours (§5.4.1). */
        LOG_BEHIND(2),
        /** The request carries a term below ours. */
        STALE_TERM(3),
        /** The candidate may not be a voter in any configuration we know ({@link DropReason#NOT_A_VOTER}). */
        NOT_A_MEMBER(4),
        /** We voted for another candidate in this term (§5.2: one vote per term). */
        ALREADY_VOTED(5),
        /** We follow a leader in this term. */
        HAS_LEADER(6),
        /**
         * Our log is empty and we wait for our first snapshot: a replica that joined empty (a move
         * back to a node that held the range, a node that lost its data) forgot any vote an earlier
         * replica on this node cast, so it votes only once a snapshot put its log past them.
         */
        EMPTY_LOG(7);

        public final int code;

        Refusal(int code) {
            this.code = code;
        }
    }

    /**
     * One event, copied out. {@code peer}: the candidate (votes) or the leader (LEADER_CHANGED);
     * {@code other}: the replica we voted for (ALREADY_VOTED) or follow (HAS_LEADER, IN_LEASE);
     * {@code ticksSinceLeader}: for IN_LEASE, how long ago we heard from that leader. Log positions
     * are the candidate's (from its request) and ours at the time. {@code count}: how many times
     * the same event repeated, the last at {@code atTick} (a campaign: attempts for the same term,
     * each but the last timed out; its votes are the last attempt's).
     */
    public record Event(Kind kind, long atTick, long term, boolean preVote, boolean transfer, long peer,
            Outcome outcome, Refusal refusal, long other, long ticksSinceLeader,
            long candidateLastTerm, long candidateLastIndex, long ownLastTerm, long ownLastIndex,
            int votesGranted, int votesRefused, int count) {
    }

    /** A preallocated, reused event. */
    private static final class Slot {
        Kind kind;
        long atTick;
        long term;
        boolean preVote;
        boolean transfer;
        long peer;
        Outcome outcome;
        Refusal refusal;
        long other;
        long ticksSinceLeader;
        long candidateLastTerm;
        long candidateLastIndex;
        long ownLastTerm;
        long ownLastIndex;
        int votesGranted;
        int votesRefused;
        int count;

        Event copy() {
            return new Event(kind, atTick, term, preVote, transfer, peer, outcome, refusal, other, ticksSinceLeader,
                    candidateLastTerm, candidateLastIndex, ownLastTerm, ownLastIndex, votesGranted, votesRefused, count);
        }
    }

    private final Slot[] ring = new Slot[CAPACITY];
    /** Events recorded (a repeat counts once); the newest is at {@code (recorded - 1) % CAPACITY}. */
    private long recorded;
    /** The slot of the campaign still collecting votes, or null. */
    private Slot pendingCampaign;
    private long lastLeader;
    private long lastLeaderTerm;

    ElectionLog() {
        for (int i = 0; i < CAPACITY; i++) {
            ring[i] = new Slot();
        }
    }

    // ---------------------------------------------------------------- recording (the replica's thread)

    /** This replica starts a campaign for {@code term} with its log ending at {@code lastTerm}/{@code lastIndex}. */
    void campaignStarted(long tick, long term, boolean preVote, boolean transfer, long lastTerm, long lastIndex) {
        Slot s;
        if (pendingCampaign != null && pendingCampaign == newest() && pendingCampaign.preVote == preVote
                && pendingCampaign.term == term) {
            // The same campaign again after a timeout (a pre-election does not raise the term): counted.
            s = pendingCampaign;
            s.count++;
            s.atTick = tick;
            s.votesGranted = 0;
            s.votesRefused = 0;
        } else {
            if (pendingCampaign != null) {
                // A won pre-election is followed at once by the real one for the same term.
                boolean promoted = pendingCampaign.preVote && !preVote && pendingCampaign.term == term;
                pendingCampaign.outcome = promoted ? Outcome.WON : Outcome.TIMED_OUT;
            }
            s = next(tick, Kind.CAMPAIGN, term, 0);
        }
        s.preVote = preVote;
        s.transfer = transfer;
        s.outcome = Outcome.PENDING;
        s.ownLastTerm = lastTerm;
        s.ownLastIndex = lastIndex;
        pendingCampaign = s;
    }

    /** An answer to our pending campaign. */
    void voteAnswered(boolean granted) {
        if (pendingCampaign != null) {
            if (granted) {
                pendingCampaign.votesGranted++;
            } else {
                pendingCampaign.votesRefused++;
            }
        }
    }

    /** Our pending campaign ended: WON, LOST or STEPPED_DOWN (a timeout shows as the next campaign). */
    void campaignEnded(Outcome outcome) {
        if (pendingCampaign != null) {
            pendingCampaign.outcome = outcome;
            pendingCampaign = null;
        }
    }

    void voteGranted(long tick, Message m, long ownLastTerm, long ownLastIndex) {
        Slot s = vote(tick, Kind.VOTE_GRANTED, m, null, ownLastTerm, ownLastIndex);
        s.other = 0;
        s.ticksSinceLeader = 0;
    }

    /**
     * We refused {@code m}, a VOTE or PRE_VOTE, for {@code reason}; {@code other}: whom we voted for
     * or follow; {@code ticksSinceLeader}: for IN_LEASE, how long since we heard from our leader.
     */
    void voteRefused(long tick, Message m, Refusal reason, long other, long ticksSinceLeader, long ownLastTerm,
            long ownLastIndex) {
        Slot s = vote(tick, Kind.VOTE_REFUSED, m, reason, ownLastTerm, ownLastIndex);
        s.other = other;
        s.ticksSinceLeader = ticksSinceLeader;
    }

    /** The replica follows (or is) {@code leader} in {@code term}; recorded when either changed. */
    void leaderSeen(long tick, long term, long leader) {
        if (leader == RaftNode.NONE || (leader == lastLeader && term == lastLeaderTerm)) {
            return;
        }
        lastLeader = leader;
        lastLeaderTerm = term;
        next(tick, Kind.LEADER_CHANGED, term, leader);
    }

    private Slot vote(long tick, Kind kind, Message m, Refusal reason, long ownLastTerm, long ownLastIndex) {
        boolean preVote = m.type == MessageType.PRE_VOTE;
        Slot newest = newest();
        Slot s;
        if (newest != null && newest.kind == kind && newest.peer == m.from && newest.term == m.term
                && newest.preVote == preVote && newest.refusal == reason) {
            s = newest;
            s.count++;
            s.atTick = tick;
        } else {
            s = next(tick, kind, m.term, m.from);
        }
        s.preVote = preVote;
        s.transfer = m.context == Message.CAMPAIGN_TRANSFER;
        s.refusal = reason;
        s.candidateLastTerm = m.logTerm;
        s.candidateLastIndex = m.index;
        s.ownLastTerm = ownLastTerm;
        s.ownLastIndex = ownLastIndex;
        return s;
    }

    private Slot newest() {
        return recorded == 0 ? null : ring[(int) ((recorded - 1) % CAPACITY)];
    }

    /** Takes the oldest slot for a new event, clearing it. */
    private Slot next(long tick, Kind kind, long term, long peer) {
        Slot s = ring[(int) (recorded % CAPACITY)];
        if (s == pendingCampaign) {
            pendingCampaign = null; // overwritten: its outcome is lost with it
        }
        recorded++;
        s.kind = kind;
        s.atTick = tick;
        s.term = term;
        s.peer = peer;
        s.preVote = false;
        s.transfer = false;
        s.outcome = null;
        s.refusal = null;
        s.other = 0;
        s.ticksSinceLeader = 0;
        s.candidateLastTerm = 0;
        s.candidateLastIndex = 0;
        s.ownLastTerm = 0;
        s.ownLastIndex = 0;
        s.votesGranted = 0;
        s.votesRefused = 0;
        s.count = 1;
        return s;
    }

    // ---------------------------------------------------------------- reading

    /** The recorded events, oldest first (at most {@link #CAPACITY}); a copy. */
    public List<Event> events() {
        int n = (int) Math.min(recorded, CAPACITY);
        List<Event> out = new ArrayList<>(n);
        for (long i = recorded - n; i < recorded; i++) {
            out.add(ring[(int) (i % CAPACITY)].copy());
        }
        return out;
    }
}
