package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * One replica of one Raft group: a deterministic state machine in the style of etcd's raft library.
 * Inputs are {@link #tick()}, {@link #step(Message)}, {@link #propose(byte[])},
 * {@link #proposeConfChange(ConfChange)}, {@link #readIndex(long)} and {@link #transferLeader(long)};
 * the output is a {@link Ready}, handed back with {@link #advance(Ready)} once handled. No threads,
 * clocks or IO: time passes only through {@code tick()}, and randomness comes from a seeded generator.
 *
 * <p>Not thread-safe: owned by exactly one thread (a worker of the multi-group runtime, or a test).
 *
 * <p>Durability rule (Raft thesis §10.2.1): a leader sends appends before its own write, but counts
 * itself toward a commit only for entries handed back through {@code advance}; votes and append
 * acknowledgements leave only through {@link Ready#messagesAfterPersist()}.
 */
public final class RaftNode {
    static final long NONE = 0;

    /**
     * The largest term a replica adopts or campaigns for. Raft's terms are unbounded; ours stop here
     * so that every {@code term + 1} is exact (a term that wrapped to a negative number would make
     * every later message look stale, and no leader could ever be elected again). No run of elections
     * reaches it: at one election per millisecond, 2^62 terms last 146 million years. A message with
     * a larger term is dropped ({@link DropReason#TERM_ABOVE_MAXIMUM}); a replica at this term no
     * longer campaigns.
     */
    public static final long MAX_TERM = Long.MAX_VALUE / 2;

    /**
     * The most one message may raise a replica's term; a message further ahead is dropped
     * ({@link DropReason#TERM_JUMP}). Without it, one message with a term just below
     * {@link #MAX_TERM} would leave a group a single election to live. Legitimate gaps are far
     * smaller: a replica's term trails the group's by the number of elections it missed, and a
     * replica that campaigns alone (without PreVote, thesis §9.6) gains one term per election
     * timeout, so 2^32 is over a century of uninterrupted elections at ten per second; with the
     * jump bounded, exhausting the terms up to {@code MAX_TERM} takes 2^30 bad messages, not one.
     * It applies to leader messages too: anyone may send those (a new replica learns its leader from
     * them, thesis §4.1), so they are as easy to forge as a vote.
     */
    public static final long MAX_TERM_JUMP = 1L << 32;

    private enum CampaignType { PRE_ELECTION, ELECTION, TRANSFER }

    private final RaftConfig config;
    private final long id;
    private final RaftLog log;
    private final ProgressTracker tracker;
    /** Which peer messages may touch this replica's term at all (forged and stale ones may not). */
    private final MessageAdmission admission;
    private final ReadOnly readOnly = new ReadOnly();
    private final LeaderLease lease;
    private final SplittableRandom random;
    /** This replica's record of its last elections and votes, for operators (observes only). */
    private final ElectionLog elections = new ElectionLog();

    private long term;
    private long vote;
    private long lead = NONE;
    private Role role = Role.FOLLOWER;
    private long leadTransferee = NONE;
    /** Index of the latest conf change the leader proposed; no new one until it is applied. */
    private long pendingConfIndex;
    private long uncommittedBytes;

    private int electionElapsed;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
    /** Ticks since this replica object was created: the start of the lease-keeping quiet period. */
    private long ticks;

    /**
     * True while this replica's state machine lacks entries its log no longer holds (or holds nothing
     * at all) and waits for a snapshot from its leader ({@link #requestSnapshot()}). Invariant while
     * true: no committed entry is handed out, the log does not grow past
     * {@link #snapshotRequestBound}, and the replica does not campaign.
     */
    private boolean awaitingSnapshot;
    /** While {@link #awaitingSnapshot}: the last index the log may hold until the snapshot arrives. */
    private long snapshotRequestBound;
    /**
     * A replica revived where an earlier replica of the group lived on this node (a move brings a
     * range back): that replica's votes are gone with it, and an empty log is up to date for any
     * candidate, so voting could elect two leaders in one term (the KV simulation found it, seed
     * 295). It votes only once it installed a snapshot, whose log is past every election its
     * predecessor voted in; it joins as a learner, so no election waits for it meanwhile.
     */
    private boolean votesWithheld;
    /** Ticks since this replica last asked for its snapshot on its own. */
    private int snapshotRequestElapsed;

    /** Entries were proposed since the last Ready; one broadcast covers them all. */
    private boolean broadcastPending;

    private ArrayList<Message> msgs = new ArrayList<>();
    private ArrayList<Message> msgsAfterPersist = new ArrayList<>();
    private ArrayList<ReadState> readStates = new ArrayList<>();

    private SoftState prevSoftState;
    private HardState prevHardState;
    private Ready outstanding;
    private long readyNumber;
    /** Messages dropped, by {@link DropReason#ordinal()}. */
    private final long[] droppedByReason = new long[DropReason.values().length];

    public RaftNode(RaftConfig config, RaftStorage storage) {
        this.config = config;
        this.id = config.id();
        this.log = new RaftLog(storage);
        this.tracker = new ProgressTracker(config.maxInflightMsgs());
        this.admission = new MessageAdmission(config.id(), config.groupId(), log, tracker);
        this.lease = new LeaderLease(config.electionTimeoutTicks(), config.maxClockDriftTicks());
        this.random = new SplittableRandom(config.randomSeed());

        HardState hs = storage.initialHardState();
        tracker.setConf(storage.initialConfState(), log.lastIndex() + 1);
        if (!hs.equals(HardState.EMPTY)) {
            Check.state(hs.commit() <= log.lastIndex(), "hard state commit %d past the last index %d",
                    hs.commit(), log.lastIndex());
            // The storage need not persist a hard state that moved only the commit index, so the
            // one recovered may be older than the compaction point, or than what the state machine
            // applied: both are committed (only committed entries are compacted or applied).
            log.committed = Math.max(log.committed, hs.commit());
            term = hs.term();
            vote = hs.vote();
        }
        if (config.applied() > 0) {
            Check.state(config.applied() <= log.lastIndex(), "applied index %d past the last index %d",
                    config.applied(), log.lastIndex());
            log.committed = Math.max(log.committed, config.applied());
            log.appliedTo(config.applied());
            replayAppliedConfChanges();
        }
        prevHardState = hardState();
        becomeFollower(term, NONE);
        prevSoftState = softState();
    }

    /**
     * The storage knows the membership as of its snapshot; conf changes applied after it (before a
     * restart) are in the log and must count again, or a restarted replica would use an old
     * configuration (thesis §4.1).
     */
    private void replayAppliedConfChanges() {
        long from = log.firstIndex();
        if (log.applied < from) {
            return;
        }
        for (Entry e : log.slice(from, log.applied + 1, Long.MAX_VALUE)) {
            if (e.type() == EntryType.CONF_CHANGE) {
                applyConfChange(ConfChange.decode(e.data()));
            }
        }
    }

    // ---------------------------------------------------------------- inputs

    /** Advances logical time by one tick: election timeouts for followers, heartbeats for leaders. */
    public void tick() {
        ticks++;
        if (role == Role.LEADER) {
            tickHeartbeat();
        } else {
            tickElection();
        }
    }

    private void tickElection() {
        electionElapsed++;
        if (awaitingSnapshot && ++snapshotRequestElapsed >= randomizedElectionTimeout) {
            // A quiescent leader sends nothing that would carry our request: ask again on our own.
            // Counted apart from electionElapsed, which must keep growing: while it stays below the
            // timeout this replica believes in its leader's lease and refuses every vote, so a group
            // whose leader died could not elect another.
            snapshotRequestElapsed = 0;
            if (lead != NONE) {
                maybeRequestSnapshot(lead); // even one our membership does not know yet (we may have none)
            } else {
                for (long voter : tracker.voters()) {
                    if (voter != id) {
                        maybeRequestSnapshot(voter);
                    }
                }
            }
            return;
        }
        if (promotable() && electionElapsed >= randomizedElectionTimeout) {
            electionElapsed = 0;
            hup(config.preVote() ? CampaignType.PRE_ELECTION : CampaignType.ELECTION);
        }
    }

    private void tickHeartbeat() {
        heartbeatElapsed++;
        electionElapsed++;
        if (electionElapsed >= config.electionTimeoutTicks()) {
            electionElapsed = 0;
            if (config.checkQuorum()) {
                // Raft thesis §6.2: a leader that cannot reach a quorum steps down, so clients retry elsewhere.
                if (!tracker.quorumActive(id)) {
                    becomeFollower(term, NONE);
                    return;
                }
                tracker.resetRecentActive(id);
            }
            if (leadTransferee != NONE) {
                leadTransferee = NONE;
            }
        }
        if (heartbeatElapsed >= config.heartbeatIntervalTicks()) {
            heartbeatElapsed = 0;
            broadcastHeartbeat();
        }
    }

    /** Starts an election now (as if the election timeout fired), if this replica may lead. */
    public void campaign() {
        if (role != Role.LEADER && promotable()) {
            hup(config.preVote() ? CampaignType.PRE_ELECTION : CampaignType.ELECTION);
        }
    }

    /**
     * Proposes a command. On {@link ProposeResult#ACCEPTED} it is in the leader's log and goes out
     * with the next {@link Ready}; anything else means nothing was appended.
     */
    public ProposeResult propose(byte[] data) {
        ProposeResult refusal = refuseProposal(data.length);
        if (refusal != null) {
            return refusal;
        }
        appendAsLeader(EntryType.NORMAL, data);
        return ProposeResult.ACCEPTED;
    }

    /** Proposes a single-step membership change; it takes effect on each replica when applied. */
    public ProposeResult proposeConfChange(ConfChange cc) {
        ProposeResult refusal = refuseProposal(ConfChange.ENCODED_BYTES);
        if (refusal != null) {
            return refusal;
        }
        if (pendingConfIndex > log.applied) {
            return ProposeResult.CONF_CHANGE_PENDING;
        }
        if (!validConfChange(cc)) {
            return ProposeResult.CONF_CHANGE_INVALID;
        }
        appendAsLeader(EntryType.CONF_CHANGE, cc.encode());
        pendingConfIndex = log.lastIndex();
        return ProposeResult.ACCEPTED;
    }

    private ProposeResult refuseProposal(long payloadBytes) {
        if (role != Role.LEADER) {
            return ProposeResult.NOT_LEADER;
        }
        if (leadTransferee != NONE) {
            return ProposeResult.LEADER_TRANSFERRING;
        }
        // One entry is always allowed when nothing is uncommitted, so a huge entry cannot wedge the group.
        if (uncommittedBytes > 0 && uncommittedBytes + payloadBytes > config.maxUncommittedEntriesBytes()) {
            return ProposeResult.UNCOMMITTED_LIMIT;
        }
        return null;
    }

    private boolean validConfChange(ConfChange cc) {
        ConfState conf = tracker.conf();
        long node = cc.nodeId();
        return switch (cc.type()) {
            case ADD_VOTER, ADD_LEARNER -> !conf.isVoter(node) && !conf.isLearner(node);
            case PROMOTE_LEARNER -> conf.isLearner(node);
            case REMOVE_NODE -> conf.isLearner(node) || (conf.isVoter(node) && conf.voters().length > 1);
        };
    }

    private void appendAsLeader(EntryType type, byte[] data) {
        Entry e = new Entry(term, log.lastIndex() + 1, type, data);
        log.append(List.of(e));
        uncommittedBytes += data.length;
        broadcastPending = true;
    }

    /**
     * Ends this leader's lease until a quorum acknowledges a new heartbeat round. For an owner that
     * stops ticking the replica (a quiescent group): the lease is counted in this replica's ticks,
     * so after a sleep it would still look valid however long the sleep lasted.
     */
    public void dropLease() {
        lease.expire();
    }

    /**
     * Asks for a linearizable read point. The answer arrives as a {@link ReadState} with this
     * {@code requestId} in a later {@link Ready}: serve the read once the state machine has applied
     * its index. Followers forward the request to the leader.
     */
    public void readIndex(long requestId) {
        readIndex(requestId, false);
    }

    /**
     * As {@link #readIndex(long)}; with {@code leaseAllowed}, a leader whose lease is valid (Raft
     * thesis §6.4.1, {@link LeaderLease}: it rests on CheckQuorum and a bound on clock drift) answers
     * at once at its commit index, without a heartbeat round. A follower forwards the request as an
     * ordinary one.
     */
    public void readIndex(long requestId, boolean leaseAllowed) {
        if (role == Role.LEADER) {
            handleReadIndex(requestId, id, leaseAllowed);
        } else if (lead == NONE) {
            readStates.add(new ReadState(requestId, 0, false));
        } else {
            Message m = message(MessageType.READ_INDEX, lead);
            m.context = requestId;
            send(m);
        }
    }

    /**
     * Starts handing leadership to {@code target} (Raft thesis §3.10): catch it up, then tell it to
     * campaign. Proposals are refused until the transfer ends; it is abandoned after an election
     * timeout. Returns false if this replica is not the leader or the target is not another voter.
     */
    public boolean transferLeader(long target) {
        if (role != Role.LEADER || target == id || !tracker.isVoter(target)) {
            return false;
        }
        if (leadTransferee == target) {
            return true;
        }
        leadTransferee = target;
        electionElapsed = 0;
        // The target's election ignores leases, so ours ends now (see LeaderLease).
        lease.revoke();
        Progress pr = tracker.progress.get(target);
        if (pr.match == log.lastIndex()) {
            sendTimeoutNow(target);
        } else {
            sendAppend(target, true);
        }
        return true;
    }

    /**
     * The state machine lags the log's snapshot (it lost state it had not made durable, or the image
     * that would restore it): entries up to the log's snapshot index are gone from the log, so
     * nothing after them can be applied. The log after that point is intact, so the replica stays
     * a full member (it acknowledges what it holds and votes by its log, which is all Raft counts on),
     * but until it installs a snapshot it applies nothing, does not campaign (a leader that cannot
     * apply would serve no one), lets its log grow no further (so a leader's snapshot at its applied
     * index soon covers all of it) and asks each leader that contacts it for a snapshot. Call before
     * the first {@link #step}; the runtime calls it at startup. Like etcd's and raft-rs's snapshot
     * requests; the Raft thesis (§5.1) leaves to the implementation how a follower's state machine is
     * rebuilt from its leader's snapshot. A replica joining a group with an empty log and no state
     * (a node that lost its data, added again as a learner) asks the same way: its log is empty, so
     * any snapshot covers it.
     */
    public void requestSnapshot() {
        Check.state(role != Role.LEADER, "leader %d cannot request a snapshot", id);
        awaitingSnapshot = true;
        snapshotRequestBound = log.lastIndex();
    }

    /** This replica grants no vote until it installed a snapshot (see {@link #votesWithheld}). Before the first step. */
    public void withholdVotesUntilSnapshot() {
        votesWithheld = true;
    }

    /** Whether this replica waits for a snapshot ({@link #requestSnapshot()}). */
    public boolean awaitingSnapshot() {
        return awaitingSnapshot;
    }

    /** The transport could not reach {@code peer}: stop streaming to it and probe instead. */
    public void reportUnreachable(long peer) {
        Progress pr = role == Role.LEADER ? tracker.progress.get(peer) : null;
        if (pr != null) {
            pr.unreachableAtTick = ticks;
        }
        if (pr != null && pr.state == Progress.State.REPLICATE) {
            pr.becomeProbe();
        }
    }

    /** The transport finished sending a snapshot to {@code peer}, successfully or not. */
    public void reportSnapshot(long peer, boolean ok) {
        Progress pr = role == Role.LEADER ? tracker.progress.get(peer) : null;
        if (pr == null || pr.state != Progress.State.SNAPSHOT) {
            return;
        }
        if (!ok) {
            pr.pendingSnapshot = 0;
        }
        pr.becomeProbe();
        // Wait for the follower's answer (or a heartbeat response) before the next append.
        pr.probeSent = true;
    }

    /**
     * Handles a message from another replica. Misaddressed or malformed messages, terms out of
     * bounds, and requests from replicas our configuration does not allow to make them are dropped
     * (counted per {@link DropReason}; see {@link #refusal}); stale ones are answered or ignored.
     * Nothing a peer sends can break this replica's state or wedge its group, except a message that
     * proves a peer broke Raft's safety rules, which throws.
     */
    public void step(Message m) {
        DropReason refusal = admission.refusal(m, term);
        if (refusal != null) {
            if (refusal == DropReason.NOT_A_VOTER && (m.type == MessageType.VOTE || m.type == MessageType.PRE_VOTE)) {
                refuseVote(m, ElectionLog.Refusal.NOT_A_MEMBER, NONE);
            }
            drop(refusal);
            return;
        }
        if (m.term > term) {
            if ((m.type == MessageType.VOTE || m.type == MessageType.PRE_VOTE) && !admission.forcedByTransfer(m) && inLease()) {
                // Raft thesis §4.2.3: a replica that hears from a live leader ignores disruptive candidates.
                refuseVote(m, ElectionLog.Refusal.IN_LEASE, lead);
                return;
            }
            if (m.type == MessageType.PRE_VOTE || (m.type == MessageType.PRE_VOTE_RESPONSE && !m.reject)) {
                // A pre-vote never changes terms; a granted pre-vote response carries the future term.
            } else if (m.type == MessageType.APPEND || m.type == MessageType.HEARTBEAT || m.type == MessageType.SNAPSHOT) {
                becomeFollower(m.term, m.from);
            } else {
                becomeFollower(m.term, NONE);
            }
        } else if (m.term < term) {
            if (m.type == MessageType.HEARTBEAT || m.type == MessageType.APPEND) {
                // A stale leader (e.g. healed from a partition) learns the new term from this and steps
                // down; without it, with PreVote or CheckQuorum it could hold our vote hostage forever.
                // Even without either, a replica whose term ran ahead while it was cut off rejoins only
                // this way if the others no longer count it as a voter (it was removed, then added back
                // as a learner, and missed both): they refuse its vote requests (MessageAdmission), which in
                // plain Raft would carry its term to them (Raft thesis §4.2.3).
                send(message(MessageType.APPEND_RESPONSE, m.from));
            } else if (m.type == MessageType.PRE_VOTE) {
                refuseVote(m, ElectionLog.Refusal.STALE_TERM, NONE);
                Message r = message(MessageType.PRE_VOTE_RESPONSE, m.from);
                r.reject = true;
                send(r);
            } else if (m.type == MessageType.VOTE) {
                refuseVote(m, ElectionLog.Refusal.STALE_TERM, NONE);
            }
            return;
        }

        switch (m.type) {
            case VOTE, PRE_VOTE -> handleVoteRequest(m);
            default -> {
                switch (role) {
                    case LEADER -> stepLeader(m);
                    case CANDIDATE, PRE_CANDIDATE -> stepCandidate(m);
                    case FOLLOWER -> stepFollower(m);
                }
            }
        }
    }

    private void drop(DropReason reason) {
        droppedByReason[reason.ordinal()]++;
    }

    /** Records a refused (pre-)vote; {@code other}: whom we voted for or follow. */
    private void refuseVote(Message m, ElectionLog.Refusal reason, long other) {
        elections.voteRefused(ticks, m, reason, other, electionElapsed, log.lastTerm(), log.lastIndex());
    }

    // ---------------------------------------------------------------- elections

    private boolean promotable() {
        return tracker.isVoter(id) && log.unstable.snapshot == null && !awaitingSnapshot;
    }

    private boolean inLease() {
        if (!config.checkQuorum() || electionElapsed >= config.electionTimeoutTicks()) {
            return false;
        }
        // With lease reads, a replica that just started does not know whether it acknowledged a
        // leader's heartbeat before it stopped, so it keeps quiet for one election timeout
        // (LeaderLease depends on this).
        return lead != NONE || (config.readOnlyOption() == ReadOnlyOption.LEASE && ticks < config.electionTimeoutTicks());
    }

    private void hup(CampaignType type) {
        if (role == Role.LEADER || !promotable()) {
            return;
        }
        if (log.hasUnappliedConfChanges()) {
            // The change may remove us; wait until it is applied (etcd does the same).
            return;
        }
        if (term >= MAX_TERM) {
            // No replica accepts a term above MAX_TERM; see there why this never happens in practice.
            return;
        }
        campaign(type);
    }

    private void campaign(CampaignType type) {
        long voteTerm;
        MessageType voteType;
        if (type == CampaignType.PRE_ELECTION) {
            becomePreCandidate();
            voteType = MessageType.PRE_VOTE;
            voteTerm = term + 1;
        } else {
            becomeCandidate();
            voteType = MessageType.VOTE;
            voteTerm = term;
        }
        elections.campaignStarted(ticks, voteTerm, type == CampaignType.PRE_ELECTION, type == CampaignType.TRANSFER,
                log.lastTerm(), log.lastIndex());
        if (tracker.recordVote(id, true) == ProgressTracker.VoteResult.WON) {
            // A single-voter group wins at once.
            if (type == CampaignType.PRE_ELECTION) {
                campaign(CampaignType.ELECTION);
            } else {
                becomeLeader();
            }
            return;
        }
        long lastIndex = log.lastIndex();
        long lastTerm = log.lastTerm();
        for (long voter : tracker.voters()) {
            if (voter == id) {
                continue;
            }
            Message m = message(voteType, voter);
            m.term = voteTerm;
            m.index = lastIndex;
            m.logTerm = lastTerm;
            m.context = type == CampaignType.TRANSFER ? Message.CAMPAIGN_TRANSFER : 0;
            send(m);
        }
    }

    private void handleVoteRequest(Message m) {
        if (votesWithheld) {
            refuseVote(m, ElectionLog.Refusal.EMPTY_LOG, NONE);
            Message r = message(m.type == MessageType.VOTE ? MessageType.VOTE_RESPONSE : MessageType.PRE_VOTE_RESPONSE, m.from);
            r.reject = true;
            send(r);
            return;
        }
        // Raft paper §5.2 / §5.4.1: one vote per term, only for a candidate whose log is at least as
        // up to date. A pre-vote for a future term promises nothing and changes nothing.
        boolean canVote = vote == m.from
                || (vote == NONE && lead == NONE)
                || (m.type == MessageType.PRE_VOTE && m.term > term);
        MessageType responseType = m.type == MessageType.VOTE ? MessageType.VOTE_RESPONSE : MessageType.PRE_VOTE_RESPONSE;
        Message r = message(responseType, m.from);
        if (canVote && log.isUpToDate(m.index, m.logTerm)) {
            r.term = m.term;
            if (m.type == MessageType.VOTE) {
                electionElapsed = 0;
                vote = m.from;
            }
            elections.voteGranted(ticks, m, log.lastTerm(), log.lastIndex());
        } else {
            r.reject = true;
            if (canVote) {
                refuseVote(m, ElectionLog.Refusal.LOG_BEHIND, NONE);
            } else if (vote != NONE) {
                refuseVote(m, ElectionLog.Refusal.ALREADY_VOTED, vote);
            } else {
                refuseVote(m, ElectionLog.Refusal.HAS_LEADER, lead);
            }
        }
        send(r);
    }

    private void stepCandidate(Message m) {
        MessageType myResponseType = role == Role.PRE_CANDIDATE ? MessageType.PRE_VOTE_RESPONSE : MessageType.VOTE_RESPONSE;
        switch (m.type) {
            case APPEND -> {
                becomeFollower(m.term, m.from);
                handleAppend(m);
            }
            case HEARTBEAT -> {
                becomeFollower(m.term, m.from);
                handleHeartbeat(m);
            }
            case SNAPSHOT -> {
                becomeFollower(m.term, m.from);
                handleSnapshot(m);
            }
            case READ_INDEX -> rejectForwardedRead(m);
            case READ_INDEX_RESPONSE -> readStates.add(new ReadState(m.context, m.index, !m.reject));
            default -> {
                if (m.type == myResponseType) {
                    elections.voteAnswered(!m.reject);
                    switch (tracker.recordVote(m.from, !m.reject)) {
                        case WON -> {
                            if (role == Role.PRE_CANDIDATE) {
                                campaign(CampaignType.ELECTION);
                            } else {
                                becomeLeader();
                                broadcastAppend();
                            }
                        }
                        case LOST -> {
                            elections.campaignEnded(ElectionLog.Outcome.LOST);
                            becomeFollower(term, NONE);
                        }
                        case PENDING -> { }
                    }
                }
            }
        }
    }

    private void stepFollower(Message m) {
        switch (m.type) {
            case APPEND -> {
                electionElapsed = 0;
                lead = m.from;
                handleAppend(m);
            }
            case HEARTBEAT -> {
                electionElapsed = 0;
                lead = m.from;
                handleHeartbeat(m);
            }
            case SNAPSHOT -> {
                electionElapsed = 0;
                lead = m.from;
                handleSnapshot(m);
            }
            case TIMEOUT_NOW -> {
                if (m.from == lead) {
                    // Raft thesis §3.10: the leader chose us; skip the pre-vote and ignore leases.
                    hup(CampaignType.TRANSFER);
                } else {
                    drop(DropReason.NOT_THE_LEADER);
                }
            }
            case READ_INDEX -> rejectForwardedRead(m);
            case READ_INDEX_RESPONSE -> readStates.add(new ReadState(m.context, m.index, !m.reject));
            default -> drop(DropReason.UNEXPECTED);
        }
    }

    private void rejectForwardedRead(Message m) {
        Message r = message(MessageType.READ_INDEX_RESPONSE, m.from);
        r.context = m.context;
        r.reject = true;
        send(r);
    }

    // ---------------------------------------------------------------- follower side of replication

    private void handleAppend(Message m) {
        if (m.index < log.committed) {
            Message r = message(MessageType.APPEND_RESPONSE, m.from);
            r.index = log.committed;
            send(r);
            return;
        }
        List<Entry> entries = m.entries;
        if (awaitingSnapshot && !entries.isEmpty() && entries.get(entries.size() - 1).index() > snapshotRequestBound) {
            // Keep the log below the bound (see requestSnapshot); the leader sends the rest again.
            entries = entries.subList(0, (int) Math.max(0, snapshotRequestBound - m.index));
        }
        long lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, entries);
        Message r = message(MessageType.APPEND_RESPONSE, m.from);
        if (lastNew >= 0) {
            r.index = lastNew;
        } else {
            // Fast backtracking: point the leader at the last index whose term is <= the term it
            // probed with, so it skips a whole term of divergent entries per round trip.
            long hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
            r.index = m.index;
            r.reject = true;
            r.rejectHint = hint;
            r.logTerm = Math.max(0, log.term(hint));
        }
        send(r);
        maybeRequestSnapshot(m.from);
    }

    /**
     * Asks the leader for a snapshot covering this replica's whole log: a rejected APPEND_RESPONSE
     * marked {@link Message#REQUEST_SNAPSHOT}, with the index the snapshot must reach.
     */
    private void maybeRequestSnapshot(long leader) {
        if (!awaitingSnapshot) {
            return;
        }
        Message r = message(MessageType.APPEND_RESPONSE, leader);
        r.index = log.lastIndex();
        r.reject = true;
        r.rejectHint = log.lastIndex();
        r.context = Message.REQUEST_SNAPSHOT;
        send(r);
    }

    private void handleHeartbeat(Message m) {
        log.commitTo(Math.min(m.commit, log.lastIndex()));
        Message r = message(MessageType.HEARTBEAT_RESPONSE, m.from);
        r.context = m.context;
        send(r);
        maybeRequestSnapshot(m.from);
    }

    private void handleSnapshot(Message m) {
        Message r = message(MessageType.APPEND_RESPONSE, m.from);
        r.index = restore(m.snapshot) ? log.lastIndex() : log.committed;
        send(r);
    }

    /** Installs a snapshot if it is ahead of our commit index; returns whether it was installed. */
    private boolean restore(Snapshot s) {
        SnapshotMetadata meta = s.metadata();
        if (awaitingSnapshot) {
            return restoreRequested(s);
        }
        if (meta.index() <= log.committed) {
            return false;
        }
        // The snapshot may predate our own addition (the leader's latest snapshot was taken before
        // the conf change that added us was applied); the entries after it add us again.
        ConfState cs = meta.confState();
        if (log.matchTerm(meta.index(), meta.term())) {
            // We already have the entries; just fast-forward the commit index.
            log.commitTo(meta.index());
            return false;
        }
        log.restore(s);
        votesWithheld = false;
        tracker.setConf(cs, log.lastIndex() + 1);
        return true;
    }

    /**
     * Installs a snapshot this replica asked for if it covers the whole log, even at or below the
     * commit index. Safe: every entry it drops is at or below the snapshot's index, so it is either
     * the entry the snapshot holds (same index and term: Log Matching) or one that never committed
     * (a different term where a committed entry lies); no acknowledged entry beyond it is lost.
     */
    private boolean restoreRequested(Snapshot s) {
        SnapshotMetadata meta = s.metadata();
        if (meta.index() < log.lastIndex()) {
            // Too old to cover our log: the leader sends a newer one when we ask again.
            return false;
        }
        awaitingSnapshot = false;
        votesWithheld = false;
        snapshotRequestBound = 0;
        log.restore(s);
        tracker.setConf(meta.confState(), log.lastIndex() + 1);
        return true;
    }

    // ---------------------------------------------------------------- leader

    private void stepLeader(Message m) {
        if (m.type == MessageType.READ_INDEX) {
            handleReadIndex(m.context, m.from, false);
            return;
        }
        Progress pr = tracker.progress.get(m.from);
        if (pr == null) {
            drop(DropReason.NOT_A_MEMBER);
            return;
        }
        switch (m.type) {
            case APPEND_RESPONSE -> handleAppendResponse(m, pr);
            case HEARTBEAT_RESPONSE -> handleHeartbeatResponse(m, pr);
            default -> drop(DropReason.UNEXPECTED);
        }
    }

    private void handleAppendResponse(Message m, Progress pr) {
        pr.recentActive = true;
        pr.heardAtTick = ticks;
        if (m.reject && m.context == Message.REQUEST_SNAPSHOT) {
            sendRequestedSnapshot(m.from, pr, m.rejectHint);
            return;
        }
        if (m.reject) {
            long nextProbe = m.rejectHint;
            if (m.logTerm > 0) {
                nextProbe = log.findConflictByTerm(m.rejectHint, m.logTerm);
            }
            if (pr.maybeDecrTo(m.index, nextProbe)) {
                if (pr.state == Progress.State.REPLICATE) {
                    pr.becomeProbe();
                }
                sendAppend(m.from, true);
            }
            return;
        }
        boolean wasPaused = pr.isPaused();
        if (!pr.maybeUpdate(m.index)) {
            return;
        }
        switch (pr.state) {
            case PROBE -> pr.becomeReplicate();
            case SNAPSHOT -> {
                if (pr.match >= pr.pendingSnapshot) {
                    pr.becomeProbe();
                    pr.becomeReplicate();
                }
            }
            case REPLICATE -> pr.inflights.freeLE(m.index);
        }
        if (maybeCommit()) {
            broadcastAppend();
        } else if (wasPaused) {
            sendAppend(m.from, true);
        }
        while (sendAppend(m.from, false)) {
            // Fill the inflight window.
        }
        if (m.from == leadTransferee && pr.match == log.lastIndex()) {
            sendTimeoutNow(m.from);
        }
    }

    /**
     * A follower whose state machine lags its log asks for a snapshot reaching {@code coverIndex}
     * (its last index; see {@link #requestSnapshot()}). Sent once our applied index reaches it: a
     * snapshot is taken at the applied index, and an older one would be refused.
     */
    private void sendRequestedSnapshot(long peer, Progress pr, long coverIndex) {
        if (pr.state == Progress.State.SNAPSHOT || log.applied < coverIndex) {
            return;
        }
        Snapshot s = log.snapshot();
        if (s == null || s.isEmpty() || s.metadata().index() < coverIndex) {
            return;
        }
        if (pr.state == Progress.State.REPLICATE) {
            pr.becomeProbe();
        }
        sendSnapshot(peer, pr);
    }

    private void handleHeartbeatResponse(Message m, Progress pr) {
        pr.recentActive = true;
        pr.heardAtTick = ticks;
        pr.probeSent = false;
        if (pr.state == Progress.State.REPLICATE && pr.inflights.full()) {
            // An append or its answer may have been lost; without this the window never drains
            // and the follower is never sent anything again (Raft paper §5.3: retry indefinitely).
            // If the follower misses entries it rejects the next append and we fall back to probing.
            pr.inflights.freeFirstOne();
        }
        if (pr.match < log.lastIndex()) {
            sendAppend(m.from, true);
        }
        if (!pr.learner && m.context > pr.ackedRound) {
            pr.ackedRound = Math.min(m.context, readOnly.sentRound);
            confirmReads();
        }
    }

    /** Releases every read whose heartbeat round a quorum has acknowledged, and extends the lease. */
    private void confirmReads() {
        long round = tracker.quorumRound(id, readOnly.sentRound);
        long sentAt = readOnly.confirm(round);
        if (sentAt < 0) {
            return;
        }
        lease.extend(sentAt);
        while (!readOnly.pending.isEmpty() && readOnly.pending.peekFirst().round() <= round) {
            ReadOnly.PendingRead r = readOnly.pending.pollFirst();
            answerRead(r.requestId(), r.from(), r.index(), true);
        }
    }

    private void handleReadIndex(long requestId, long from, boolean leaseAllowed) {
        if (tracker.voters().length == 1 && tracker.isVoter(id)) {
            answerRead(requestId, from, log.committed, true);
            return;
        }
        if (!committedInCurrentTerm()) {
            // Raft thesis §6.4 step 1: our commit index is only known to be current once an entry of
            // our own term has committed.
            readOnly.waitingForCommit.addLast(new ReadOnly.WaitingRead(requestId, from));
            return;
        }
        boolean leaseRead = config.readOnlyOption() == ReadOnlyOption.LEASE || (leaseAllowed && config.checkQuorum());
        if (leaseRead && lease.validAt(ticks)) {
            answerRead(requestId, from, log.committed, true);
            return;
        }
        if (!readOnly.roundSentSinceReady) {
            broadcastHeartbeat();
        }
        readOnly.pending.addLast(new ReadOnly.PendingRead(requestId, log.committed, readOnly.sentRound, from));
    }

    private void answerRead(long requestId, long from, long index, boolean ok) {
        if (from == id) {
            readStates.add(new ReadState(requestId, ok ? index : 0, ok));
            return;
        }
        Message r = message(MessageType.READ_INDEX_RESPONSE, from);
        r.context = requestId;
        r.index = ok ? index : 0;
        r.reject = !ok;
        send(r);
    }

    private boolean committedInCurrentTerm() {
        return log.term(log.committed) == term;
    }

    private void failPendingReads() {
        for (ReadOnly.PendingRead r : readOnly.pending) {
            answerRead(r.requestId(), r.from(), 0, false);
        }
        for (ReadOnly.WaitingRead r : readOnly.waitingForCommit) {
            answerRead(r.requestId(), r.from(), 0, false);
        }
        readOnly.reset();
    }

    private boolean maybeCommit() {
        if (!log.maybeCommit(tracker.committedIndex(), term)) {
            return false;
        }
        if (!readOnly.waitingForCommit.isEmpty()) {
            ArrayList<ReadOnly.WaitingRead> waiting = new ArrayList<>(readOnly.waitingForCommit);
            readOnly.waitingForCommit.clear();
            for (ReadOnly.WaitingRead r : waiting) {
                handleReadIndex(r.requestId(), r.from(), false);
            }
        }
        return true;
    }

    private void broadcastAppend() {
        for (long peer : tracker.progress.keySet()) {
            if (peer != id) {
                sendAppend(peer, true);
            }
        }
    }

    private void broadcastHeartbeat() {
        long round = readOnly.startRound(ticks);
        for (var e : tracker.progress.entrySet()) {
            long peer = e.getKey();
            if (peer == id) {
                continue;
            }
            Message m = message(MessageType.HEARTBEAT, peer);
            // Never tell a follower to commit beyond what it is known to hold.
            m.commit = Math.min(e.getValue().match, log.committed);
            m.context = round;
            send(m);
        }
        // A lone voter confirms its own rounds.
        if (tracker.voters().length == 1) {
            confirmReads();
        }
    }

    /**
     * Sends entries (or a snapshot if they are compacted) to {@code peer}, unless its progress is
     * paused. With {@code sendIfEmpty} false nothing is sent when there are no new entries.
     * Returns whether a message was sent.
     */
    private boolean sendAppend(long peer, boolean sendIfEmpty) {
        Progress pr = tracker.progress.get(peer);
        if (pr == null || pr.isPaused()) {
            return false;
        }
        long prevIndex = pr.next - 1;
        long prevTerm = log.term(prevIndex);
        List<Entry> entries = null;
        if (prevTerm != UnstableLog.UNKNOWN) {
            try {
                entries = log.entriesFrom(pr.next, config.maxSizePerMsgBytes());
            } catch (LogCompactedException e) {
                entries = null;
            }
        }
        if (entries == null) {
            return sendSnapshot(peer, pr);
        }
        if (entries.isEmpty() && !sendIfEmpty) {
            return false;
        }
        Message m = message(MessageType.APPEND, peer);
        m.index = prevIndex;
        m.logTerm = prevTerm;
        m.entries = entries.isEmpty() ? Message.NO_ENTRIES : List.copyOf(entries);
        m.commit = log.committed;
        pr.sentEntries(entries.size(), entries.isEmpty() ? prevIndex : entries.get(entries.size() - 1).index());
        send(m);
        return true;
    }

    private boolean sendSnapshot(long peer, Progress pr) {
        if (!pr.recentActive) {
            // Don't ship a snapshot to a replica that may be down; wait until it answers.
            return false;
        }
        Snapshot s = log.snapshot();
        if (s == null) {
            return false;
        }
        Check.state(!s.isEmpty(), "replica %d needs a snapshot but none exists", peer);
        pr.becomeSnapshot(s.metadata().index());
        Message m = message(MessageType.SNAPSHOT, peer);
        m.snapshot = s;
        send(m);
        return true;
    }

    private void sendTimeoutNow(long peer) {
        send(message(MessageType.TIMEOUT_NOW, peer));
    }

    // ---------------------------------------------------------------- role changes

    private void reset(long newTerm) {
        if (term != newTerm) {
            term = newTerm;
            vote = NONE;
        }
        if (role == Role.LEADER) {
            failPendingReads();
        }
        lead = NONE;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        randomizedElectionTimeout = config.electionTimeoutTicks() + random.nextInt(config.electionTimeoutTicks());
        leadTransferee = NONE;
        tracker.resetVotes();
        long next = log.lastIndex() + 1;
        for (var e : tracker.progress.entrySet()) {
            Progress pr = e.getValue();
            Progress fresh = new Progress(next, config.maxInflightMsgs(), pr.learner);
            if (e.getKey() == id) {
                fresh.match = log.lastDurableIndex();
            }
            e.setValue(fresh);
        }
        pendingConfIndex = 0;
        uncommittedBytes = 0;
        readOnly.reset();
        lease.reset();
        broadcastPending = false;
    }

    private void becomeFollower(long newTerm, long leader) {
        elections.campaignEnded(ElectionLog.Outcome.STEPPED_DOWN);
        reset(newTerm);
        lead = leader;
        role = Role.FOLLOWER;
    }

    private void becomePreCandidate() {
        Check.state(role != Role.LEADER, "leader %d cannot become pre-candidate", id);
        // Term and vote stay as they are: a pre-election must not disturb the cluster (thesis §9.6).
        tracker.resetVotes();
        lead = NONE;
        role = Role.PRE_CANDIDATE;
    }

    private void becomeCandidate() {
        Check.state(role != Role.LEADER, "leader %d cannot become candidate", id);
        Check.state(term < MAX_TERM, "replica %d cannot campaign at term %d: the maximum is %d", id, term, MAX_TERM);
        reset(term + 1);
        vote = id;
        role = Role.CANDIDATE;
    }

    private void becomeLeader() {
        Check.state(role != Role.FOLLOWER, "follower %d cannot become leader without an election", id);
        elections.campaignEnded(ElectionLog.Outcome.WON);
        reset(term);
        lead = id;
        role = Role.LEADER;
        tracker.progress.get(id).becomeReplicate();
        // Raft thesis §6.4: an entry of our own term commits everything before it.
        Entry noop = new Entry(term, log.lastIndex() + 1, EntryType.NORMAL, new byte[0]);
        log.append(List.of(noop));
        // No conf change until that entry is applied: a new leader must commit an entry of its own
        // term before changing membership (the single-server-change bug, raft-dev 2015), and it
        // cannot know whether an earlier entry is a pending change.
        pendingConfIndex = log.lastIndex();
    }

    // ---------------------------------------------------------------- Ready / advance

    /** True if {@link #ready()} would return something to do. */
    public boolean hasReady() {
        if (outstanding != null) {
            return false;
        }
        return broadcastPending
                || !msgs.isEmpty() || !msgsAfterPersist.isEmpty() || !readStates.isEmpty()
                || !log.unstable.entries.isEmpty() || log.unstable.snapshot != null
                || (!awaitingSnapshot && log.hasNextCommittedEntries())
                || softStateChanged() || hardStateChanged();
    }

    /** Collects what must be persisted, sent and applied. Call {@link #advance(Ready)} before the next one. */
    public Ready ready() {
        Check.state(outstanding == null, "ready %d not yet advanced", outstanding == null ? 0 : outstanding.number());
        if (broadcastPending) {
            broadcastPending = false;
            if (role == Role.LEADER) {
                broadcastAppend();
            }
        }
        SoftState ss = softStateChanged() ? softState() : null;
        HardState hs = hardStateChanged() ? hardState() : null;
        Ready rd = new Ready(
                ++readyNumber,
                ss,
                hs,
                log.unstable.snapshot,
                List.copyOf(log.unstable.entries),
                awaitingSnapshot ? List.of() : log.nextCommittedEntries(config.maxUncommittedEntriesBytes()),
                msgs,
                msgsAfterPersist,
                readStates);
        if (ss != null) {
            prevSoftState = ss;
            elections.leaderSeen(ticks, term, ss.leader());
        }
        if (hs != null) {
            prevHardState = hs;
        }
        msgs = new ArrayList<>();
        msgsAfterPersist = new ArrayList<>();
        readStates = new ArrayList<>();
        readOnly.roundSentSinceReady = false;
        outstanding = rd;
        return rd;
    }

    /**
     * The application has persisted, sent and applied {@code rd}. Marks its entries stable, applies
     * its conf changes and, on a leader, counts the now-durable entries toward commit.
     */
    public void advance(Ready rd) {
        if (rd != outstanding) {
            throw new IllegalStateException("advance(" + rd.number() + ") but the outstanding ready is "
                    + (outstanding == null ? "none" : outstanding.number()));
        }
        outstanding = null;
        if (rd.snapshot() != null) {
            log.unstable.stableSnapTo(rd.snapshot().metadata().index());
            log.appliedTo(rd.snapshot().metadata().index());
        }
        if (!rd.entries().isEmpty()) {
            Entry last = rd.entries().get(rd.entries().size() - 1);
            log.unstable.stableTo(last.index(), last.term());
        }
        if (!rd.committedEntries().isEmpty()) {
            for (Entry e : rd.committedEntries()) {
                uncommittedBytes = Math.max(0, uncommittedBytes - e.data().length);
                if (e.type() == EntryType.CONF_CHANGE) {
                    applyConfChange(ConfChange.decode(e.data()));
                }
            }
            log.appliedTo(rd.committedEntries().get(rd.committedEntries().size() - 1).index());
        }
        if (role == Role.LEADER) {
            Progress self = tracker.progress.get(id);
            if (self != null && self.maybeUpdate(log.lastDurableIndex()) && maybeCommit()) {
                broadcastAppend();
            }
        }
    }

    private void applyConfChange(ConfChange cc) {
        ConfState old = tracker.conf();
        long node = cc.nodeId();
        TreeSet<Long> voters = toSet(old.voters());
        TreeSet<Long> learners = toSet(old.learners());
        switch (cc.type()) {
            case ADD_VOTER, PROMOTE_LEARNER -> {
                learners.remove(node);
                voters.add(node);
            }
            case ADD_LEARNER -> {
                if (!voters.contains(node)) {
                    learners.add(node);
                }
            }
            case REMOVE_NODE -> {
                if (!(voters.contains(node) && voters.size() == 1)) {
                    voters.remove(node);
                    learners.remove(node);
                }
            }
        }
        ConfState next = new ConfState(toArray(voters), toArray(learners));
        if (next.equals(old)) {
            return;
        }
        tracker.setConf(next, log.lastIndex() + 1);
        if (role != Role.LEADER) {
            return;
        }
        if (!tracker.isVoter(id)) {
            // We removed (or demoted) ourselves: stop leading; the others elect a new leader.
            becomeFollower(term, NONE);
            return;
        }
        if (leadTransferee != NONE && !tracker.isVoter(leadTransferee)) {
            leadTransferee = NONE;
        }
        // The quorum changed: entries and reads may now be confirmed.
        if (maybeCommit()) {
            broadcastAppend();
        }
        confirmReads();
        broadcastAppend();
    }

    private static TreeSet<Long> toSet(long[] ids) {
        TreeSet<Long> set = new TreeSet<>();
        for (long i : ids) {
            set.add(i);
        }
        return set;
    }

    private static long[] toArray(TreeSet<Long> set) {
        return set.stream().mapToLong(Long::longValue).toArray();
    }

    // ---------------------------------------------------------------- helpers

    private Message message(MessageType type, long to) {
        return new Message(type, config.groupId(), id, to, term);
    }

    private void send(Message m) {
        // Votes and acknowledgements promise durable state; they wait for the write (thesis §3.8).
        if (m.type == MessageType.APPEND_RESPONSE || m.type == MessageType.VOTE || m.type == MessageType.VOTE_RESPONSE) {
            msgsAfterPersist.add(m);
        } else {
            msgs.add(m);
        }
    }

    // Compared field by field so that hasReady() allocates nothing.
    private boolean softStateChanged() {
        return prevSoftState.leader() != lead || prevSoftState.role() != role;
    }

    private boolean hardStateChanged() {
        return prevHardState.term() != term || prevHardState.vote() != vote || prevHardState.commit() != log.committed;
    }

    private SoftState softState() {
        return new SoftState(lead, role);
    }

    private HardState hardState() {
        return new HardState(term, vote, log.committed);
    }

    // ---------------------------------------------------------------- inspection

    public long id() {
        return id;
    }

    public long groupId() {
        return config.groupId();
    }

    public long term() {
        return term;
    }

    public long vote() {
        return vote;
    }

    /** The leader as far as this replica knows, or 0. */
    public long leader() {
        return lead;
    }

    public Role role() {
        return role;
    }

    public long commitIndex() {
        return log.committed;
    }

    /**
     * Ticks since this replica last heard from its leader (a follower) or last checked its quorum
     * (a leader); reset by a campaign. The runtime lets a follower go quiescent only right after its
     * leader's own messages, not merely because the leader's node is alive.
     */
    public long electionElapsedTicks() {
        return electionElapsed;
    }

    public long appliedIndex() {
        return log.applied;
    }

    public long firstIndex() {
        return log.firstIndex();
    }

    public long lastIndex() {
        return log.lastIndex();
    }

    /** Term of the entry at {@code index}, or -1 if compacted or beyond the end. */
    public long termAt(long index) {
        return log.term(index);
    }

    /** The membership as of the applied index (or the last installed snapshot). */
    public ConfState confState() {
        return tracker.conf();
    }

    /** The leader transfer under way, or 0. */
    public long leadTransferee() {
        return leadTransferee;
    }

    /** Messages dropped since creation, for any {@link DropReason}. */
    public long droppedMessages() {
        long total = 0;
        for (long n : droppedByReason) {
            total += n;
        }
        return total;
    }

    /** Messages dropped since creation for {@code reason}. */
    public long droppedMessages(DropReason reason) {
        return droppedByReason[reason.ordinal()];
    }

    /** A leader's match index for {@code peer} (the last entry it knows the peer holds); 0 if not leading or no such peer. */
    public long matchIndex(long peer) {
        Progress pr = role == Role.LEADER ? tracker.progress.get(peer) : null;
        return pr == null ? 0 : pr.match;
    }

    /** A one-line description of a leader's view of {@code peer}, for traces and tests; null if none. */
    public String progressOf(long peer) {
        Progress pr = role == Role.LEADER ? tracker.progress.get(peer) : null;
        return pr == null ? null : pr.toString();
    }

    /**
     * True for a leader whose every member holds its whole log, with everything committed and applied
     * and nothing pending (no transfer, reads, messages or Ready): the runtime may stop ticking it
     * until something happens (quiescence). With lease reads this is unsafe (the lease is measured in
     * ticks); the runtime uses SAFE reads.
     */
    public boolean quiescable() {
        if (role != Role.LEADER || leadTransferee != NONE || outstanding != null || broadcastPending
                || !msgs.isEmpty() || !msgsAfterPersist.isEmpty() || !readStates.isEmpty()) {
            return false;
        }
        long last = log.lastIndex();
        if (log.committed != last || log.applied != last
                || !readOnly.pending.isEmpty() || !readOnly.waitingForCommit.isEmpty()) {
            return false;
        }
        for (Progress pr : tracker.progress.values()) {
            if (pr.match != last) {
                return false;
            }
        }
        return true;
    }

    /** A copy of what this replica can tell an operator about its group's health (see {@link RaftReport}). */
    public RaftReport report() {
        List<RaftReport.PeerProgress> peers = new ArrayList<>();
        if (role == Role.LEADER) {
            for (var e : tracker.progress.entrySet()) {
                Progress pr = e.getValue();
                peers.add(new RaftReport.PeerProgress(e.getKey(), pr.learner, pr.match, pr.next, pr.state.name(),
                        pr.pendingSnapshot, pr.recentActive, pr.heardAtTick, pr.unreachableAtTick));
            }
        }
        return new RaftReport(id, role, term, vote, lead, log.committed, log.applied, log.lastIndex(), log.lastTerm(),
                ticks, electionElapsed, config.electionTimeoutTicks(),
                role == Role.LEADER && config.checkQuorum() && lease.validAt(ticks),
                role != Role.LEADER && inLease(), quiescable(), awaitingSnapshot, leadTransferee, peers,
                elections.events());
    }

    /** Bytes of proposed entries not yet committed (leader only). */
    public long uncommittedBytes() {
        return uncommittedBytes;
    }
}
