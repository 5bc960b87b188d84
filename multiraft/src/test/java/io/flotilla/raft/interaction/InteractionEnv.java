package io.flotilla.raft.interaction;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.MemoryStorage;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.ReadOnlyOption;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The world of an interaction script: replicas of one Raft group, each with a {@link MemoryStorage},
 * and a FIFO network between them that the script drives one step at a time. Single-threaded; owned
 * by the test that runs the script.
 *
 * <h2>Commands</h2>
 * Arguments are positional ({@code <id>}) or {@code key=value}; ids are node ids.
 * <pre>
 * add-nodes &lt;n&gt; [voters=1,2,3] [learners=4] [prevote=true|false] [checkquorum=true|false]
 *           [read-only=safe|lease] [max-inflight=N] [max-msg-bytes=N] [max-uncommitted-bytes=N]
 *           [election=N] [heartbeat=N]
 *     Adds n replicas with the next free ids, each with empty storage whose bootstrap membership is
 *     voters/learners (default: the new ids as voters). A replica that is not in that membership is
 *     one about to be added by a conf change. Defaults are RaftConfig.defaults.
 * campaign &lt;id&gt;                     RaftNode.campaign()
 * tick &lt;id&gt; &lt;n&gt;                      n ticks
 * tick-election &lt;id&gt;                a leader: electionTimeoutTicks ticks (one CheckQuorum round);
 *                                    others: tick until the replica starts an election, at most
 *                                    2 * electionTimeoutTicks ticks (timeouts are randomized in
 *                                    [T, 2T)). Prints the number of ticks.
 * tick-heartbeat &lt;id&gt;               heartbeatIntervalTicks ticks
 * propose &lt;id&gt; &lt;data&gt;               prints the ProposeResult
 * propose-conf-change &lt;id&gt; &lt;type&gt; &lt;node&gt;   type is add-voter, add-learner, promote-learner or remove-node
 * read-index &lt;id&gt; &lt;requestId&gt;
 * transfer-leader &lt;id&gt; &lt;target&gt;    prints whether the transfer started
 * report-unreachable &lt;id&gt; &lt;peer&gt;
 * report-snapshot &lt;id&gt; &lt;peer&gt; ok|failed
 * process-ready &lt;id&gt;...              takes the Ready, prints it, queues its "send now" messages,
 *                                    persists snapshot, entries and hard state, queues its "after
 *                                    persist" messages, applies committed entries, and advances
 *                                    (ready-send then ready-persist)
 * ready-send &lt;id&gt;...                 the first half: take and print the Ready, queue "send now";
 *                                    the replica may step messages and tick before ready-persist
 * ready-persist &lt;id&gt;...              the second half: persist, queue "after persist", apply, advance
 * restart &lt;id&gt; [keep-applied=true]   a crash: a new RaftNode on the replica's storage; what was not
 *                                    persisted (a held Ready too) is lost. By default the state
 *                                    machine restarts from the storage's snapshot and the log is
 *                                    applied again; keep-applied=true starts at the index applied
 * deliver-msgs &lt;id&gt;...               steps every queued message addressed to the ids, in send order
 * deliver-msgs drop=&lt;id&gt;             discards every queued message addressed to id
 * stabilize [&lt;id&gt;...]               repeats process-ready (finishing held Readies) and deliver-msgs
 *                                    on the ids (default all) until none has a Ready or a queued
 *                                    message
 * isolate &lt;id&gt;                      drops every message from or to id, queued ones included,
 *                                    until heal
 * heal                              ends every isolation
 * status &lt;id&gt;                       role, term, leader, commit, applied, membership; on a leader
 *                                    the progress of every member
 * raft-log &lt;id&gt;                     the durable hard state, snapshot and entries
 * compact &lt;id&gt; &lt;index&gt;              snapshot of the state machine at index (must be applied),
 *                                    then drop the log up to it
 * </pre>
 *
 * <h2>Checks that run on every command</h2>
 * A script fails (the command throws {@link AssertionError}) if two replicas are leader in one term,
 * if a replica applies entries out of order, if two replicas apply different entries at one index,
 * or if a replica's membership differs from the one its applied conf changes produce. These are the
 * Raft safety properties (Election Safety and State Machine Safety, Raft paper figure 3), so a
 * script can never accept a trace that breaks them, whatever its expected output says.
 */
final class InteractionEnv {
    static final long GROUP_ID = 1;

    private final TreeMap<Long, Replica> replicas = new TreeMap<>();
    /** Messages sent and not yet delivered or dropped, in send order. */
    private final List<Message> inFlight = new ArrayList<>();
    private final TreeSet<Long> isolated = new TreeSet<>();
    /** Every entry any replica applied, by index: State Machine Safety says they agree. */
    private final TreeMap<Long, Entry> appliedByIndex = new TreeMap<>();
    /** The replica seen leading each term: Election Safety says there is one. */
    private final TreeMap<Long, Long> leaderOfTerm = new TreeMap<>();

    /** One replica, its storage and what the environment has observed of it. */
    private static final class Replica {
        final long id;
        final RaftConfig config;
        final MemoryStorage memory;
        final ConfState bootstrap;
        RaftNode node;
        /** A Ready whose "send now" messages went out but which is not persisted yet (ready-send). */
        Ready held;
        /** Membership from each applied index on, replayed from applied conf changes and snapshots. */
        final TreeMap<Long, ConfState> confHistory = new TreeMap<>();
        long lastApplied;
        Role role;
        long term;
        long leader;

        Replica(long id, RaftConfig config, MemoryStorage memory, ConfState bootstrap) {
            this.id = id;
            this.config = config;
            this.memory = memory;
            this.bootstrap = bootstrap;
            this.node = new RaftNode(config, new BootstrapStorage(memory, bootstrap));
            confHistory.put(0L, bootstrap);
            remember();
        }

        /**
         * Replaces the replica by a new one built from what its storage holds: everything not yet
         * persisted (including a held Ready) is lost, as in a crash. With {@code keepApplied} the
         * state machine survived too and the replica starts at the index it had applied; otherwise
         * the state machine restarts from the storage's snapshot and the log is applied again.
         */
        void restart(boolean keepApplied) {
            held = null;
            long applied = keepApplied ? lastApplied : memory.snapshot().metadata().index();
            node = new RaftNode(config.withApplied(applied), new BootstrapStorage(memory, bootstrap));
            lastApplied = node.appliedIndex();
            confHistory.tailMap(lastApplied, false).clear();
        }

        /** Records the role, term and leader; returns a line describing them if they changed. */
        String stateChange() {
            if (node.role() == role && node.term() == term && node.leader() == leader) {
                return null;
            }
            remember();
            return id + " is now " + role + " term=" + term + " leader=" + leader;
        }

        private void remember() {
            role = node.role();
            term = node.term();
            leader = node.leader();
        }
    }

    /**
     * A {@link MemoryStorage} whose membership before any snapshot is the bootstrap one, which may
     * include learners ({@link MemoryStorage#withMembers} only takes voters). Owned by the test thread.
     */
    private static final class BootstrapStorage implements RaftStorage {
        private final MemoryStorage memory;
        private final ConfState bootstrap;

        BootstrapStorage(MemoryStorage memory, ConfState bootstrap) {
            this.memory = memory;
            this.bootstrap = bootstrap;
        }

        @Override
        public HardState initialHardState() {
            return memory.initialHardState();
        }

        @Override
        public ConfState initialConfState() {
            return memory.snapshot().isEmpty() ? bootstrap : memory.initialConfState();
        }

        @Override
        public List<Entry> entries(long lo, long hi, long maxBytes) {
            return memory.entries(lo, hi, maxBytes);
        }

        @Override
        public long term(long index) {
            return memory.term(index);
        }

        @Override
        public long firstIndex() {
            return memory.firstIndex();
        }

        @Override
        public long lastIndex() {
            return memory.lastIndex();
        }

        @Override
        public Snapshot snapshot() {
            return memory.snapshot();
        }
    }

    /** Thrown for a malformed command: a mistake in the script, not in the code under test. */
    static final class ScriptError extends RuntimeException {
        ScriptError(String message) {
            super(message);
        }
    }

    /** Runs one command line and returns its output: never empty, no blank lines ("ok" when silent). */
    String execute(String line) {
        Command c = Command.parse(line);
        Out out = new Out();
        switch (c.name) {
            case "add-nodes" -> addNodes(c, out);
            case "campaign" -> onNode(c, out, r -> r.node.campaign());
            case "tick" -> tick(replica(c.intArg(0)), c.intArg(1), out);
            case "tick-election" -> tickElection(replica(c.intArg(0)), out);
            case "tick-heartbeat" -> {
                Replica r = replica(c.intArg(0));
                tick(r, r.config.heartbeatIntervalTicks(), out);
            }
            case "propose" -> {
                Replica r = replica(c.intArg(0));
                out.line(r.node.propose(c.arg(1).getBytes(StandardCharsets.UTF_8)).toString());
                out.stateChange(r);
            }
            case "propose-conf-change" -> {
                Replica r = replica(c.intArg(0));
                ConfChangeType type = confChangeType(c.arg(1));
                out.line(r.node.proposeConfChange(new ConfChange(type, c.intArg(2))).toString());
                out.stateChange(r);
            }
            case "read-index" -> onNode(c, out, r -> r.node.readIndex(c.intArg(1)));
            case "transfer-leader" -> {
                Replica r = replica(c.intArg(0));
                out.line(r.node.transferLeader(c.intArg(1)) ? "transfer started" : "transfer refused");
                out.stateChange(r);
            }
            case "report-unreachable" -> onNode(c, out, r -> r.node.reportUnreachable(c.intArg(1)));
            case "report-snapshot" -> onNode(c, out, r -> r.node.reportSnapshot(c.intArg(1), okOrFailed(c.arg(2))));
            case "process-ready" -> {
                for (long id : c.ids()) {
                    processReady(replica(id), out);
                }
            }
            case "ready-send" -> {
                for (long id : c.ids()) {
                    readySend(replica(id), out);
                }
            }
            case "ready-persist" -> {
                for (long id : c.ids()) {
                    Replica r = replica(id);
                    out.line("> " + id + " persisting Ready");
                    readyPersist(r, out);
                }
            }
            case "restart" -> {
                Replica r = replica(c.intArg(0));
                r.restart(c.boolOption("keep-applied", false));
                out.line(r.id + " restarted: " + r.node.role() + " term=" + r.node.term() + " vote=" + r.node.vote()
                        + " commit=" + r.node.commitIndex() + " applied=" + r.node.appliedIndex()
                        + " log=" + logRange(r.node.firstIndex(), r.node.lastIndex()) + " " + r.node.confState());
                r.stateChange();
                checkMembership(r);
            }
            case "deliver-msgs" -> deliverOrDrop(c, out);
            case "stabilize" -> stabilize(c.positional.isEmpty() ? replicas.keySet() : c.ids(), out);
            case "isolate" -> isolate(c.intArg(0), out);
            case "heal" -> isolated.clear();
            case "status" -> status(replica(c.intArg(0)), out);
            case "raft-log" -> raftLog(replica(c.intArg(0)), out);
            case "compact" -> compact(replica(c.intArg(0)), c.intArg(1), out);
            default -> throw new ScriptError("unknown command '" + c.name + "'");
        }
        checkElectionSafety();
        return out.isEmpty() ? "ok" : out.toString();
    }

    // ---------------------------------------------------------------- commands

    private void addNodes(Command c, Out out) {
        int n = c.intArg(0);
        long firstId = replicas.isEmpty() ? 1 : replicas.lastKey() + 1;
        long[] newIds = new long[n];
        for (int i = 0; i < n; i++) {
            newIds[i] = firstId + i;
        }
        long[] learners = c.idList("learners", new long[0]);
        long[] voters = c.idList("voters", learners.length == 0 ? newIds : new long[0]);
        ConfState bootstrap = new ConfState(voters, learners);
        for (long id : newIds) {
            RaftConfig d = RaftConfig.defaults(id, GROUP_ID);
            RaftConfig config = new RaftConfig(id, GROUP_ID,
                    c.intOption("election", d.electionTimeoutTicks()),
                    c.intOption("heartbeat", d.heartbeatIntervalTicks()),
                    0,
                    c.longOption("max-msg-bytes", d.maxSizePerMsgBytes()),
                    c.intOption("max-inflight", d.maxInflightMsgs()),
                    c.longOption("max-uncommitted-bytes", d.maxUncommittedEntriesBytes()),
                    c.boolOption("prevote", d.preVote()),
                    c.boolOption("checkquorum", d.checkQuorum()),
                    c.options.containsKey("read-only")
                            ? ReadOnlyOption.valueOf(c.options.get("read-only").toUpperCase(Locale.ROOT))
                            : d.readOnlyOption(),
                    d.maxClockDriftTicks(),
                    d.randomSeed());
            replicas.put(id, new Replica(id, config, new MemoryStorage(), bootstrap));
        }
        c.checkAllOptionsUsed();
        RaftConfig sample = replicas.get(firstId).config;
        out.line("added " + joinIds(newIds) + " with bootstrap " + bootstrap);
        out.line("  election=" + sample.electionTimeoutTicks() + " heartbeat=" + sample.heartbeatIntervalTicks()
                + " prevote=" + sample.preVote() + " checkquorum=" + sample.checkQuorum()
                + " read-only=" + sample.readOnlyOption().name().toLowerCase(Locale.ROOT)
                + " max-inflight=" + sample.maxInflightMsgs()
                + " max-uncommitted-bytes=" + sample.maxUncommittedEntriesBytes());
    }

    private void onNode(Command c, Out out, Consumer<Replica> action) {
        Replica r = replica(c.intArg(0));
        action.accept(r);
        out.stateChange(r);
    }

    private void tick(Replica r, int n, Out out) {
        for (int i = 1; i <= n; i++) {
            r.node.tick();
            String change = r.stateChange();
            if (change != null) {
                out.line("tick " + i + ": " + change);
            }
        }
        out.line("ticked " + n);
    }

    private void tickElection(Replica r, Out out) {
        if (r.node.role() == Role.LEADER) {
            tick(r, r.config.electionTimeoutTicks(), out);
            return;
        }
        int max = 2 * r.config.electionTimeoutTicks();
        int n = 0;
        while (n < max) {
            boolean hadReady = r.node.hasReady();
            r.node.tick();
            n++;
            String change = r.stateChange();
            if (change != null) {
                out.line("tick " + n + ": " + change);
                break;
            }
            if (!hadReady && r.node.hasReady()) {
                // A pre-candidate starting another pre-election changes neither role nor term.
                out.line("tick " + n + ": " + r.id + " started an election");
                break;
            }
        }
        out.line("ticked " + n);
    }

    private void processReady(Replica r, Out out) {
        if (r.held != null) {
            out.line("> " + r.id + " persisting held Ready");
            readyPersist(r, out);
            return;
        }
        if (readySend(r, out)) {
            readyPersist(r, out);
        }
    }

    /** Takes a Ready, prints it and queues its "send now" messages; returns false if there was none. */
    private boolean readySend(Replica r, Out out) {
        if (r.held != null) {
            throw new ScriptError("node " + r.id + " holds a Ready that is not persisted yet (use ready-persist)");
        }
        if (!r.node.hasReady()) {
            out.line("> " + r.id + " has no Ready");
            return false;
        }
        Ready rd = r.node.ready();
        out.line("> " + r.id + " handling Ready");
        if (rd.softState() != null) {
            out.line("  soft state: " + rd.softState().role() + " leader=" + rd.softState().leader());
        }
        if (rd.hardState() != null) {
            out.line("  hard state: " + rd.hardState());
        }
        if (rd.snapshot() != null) {
            out.line("  snapshot: " + rd.snapshot().metadata());
        }
        out.list("  entries:", rd.entries());
        out.list("  committed:", rd.committedEntries());
        List<String> now = new ArrayList<>();
        for (Message m : rd.messages()) {
            now.add(send(m));
        }
        out.list("  send now:", now);
        r.held = rd;
        return true;
    }

    /** Persists the held Ready, queues its "after persist" messages, applies it and advances. */
    private void readyPersist(Replica r, Out out) {
        Ready rd = r.held;
        if (rd == null) {
            throw new ScriptError("node " + r.id + " holds no Ready (use ready-send first)");
        }
        // Persist in the order Ready asks for: snapshot, entries, hard state.
        if (rd.snapshot() != null) {
            r.memory.applySnapshot(rd.snapshot());
        }
        r.memory.append(rd.entries());
        if (rd.hardState() != null) {
            r.memory.setHardState(rd.hardState());
        }
        List<String> after = new ArrayList<>();
        for (Message m : rd.messagesAfterPersist()) {
            after.add(send(m));
        }
        out.list("  after persist:", after);
        List<String> reads = new ArrayList<>();
        for (ReadState s : rd.readStates()) {
            reads.add("request=" + s.requestId() + (s.ok() ? " index=" + s.index() : " failed"));
        }
        out.list("  read states:", reads);
        apply(r, rd);
        r.held = null;
        r.node.advance(rd);
        out.stateChange(r, "  ");
        checkMembership(r);
    }

    /** Queues a message unless a partition drops it; returns its trace line. */
    private String send(Message m) {
        if (isolated.contains(m.from) || isolated.contains(m.to)) {
            return m + " [dropped]";
        }
        Replica to = replicas.get(m.to);
        if (to == null) {
            return m + " [dropped: no node " + m.to + "]";
        }
        inFlight.add(m);
        return m.toString();
    }

    private void apply(Replica r, Ready rd) {
        if (rd.snapshot() != null) {
            SnapshotMetadata meta = rd.snapshot().metadata();
            r.lastApplied = meta.index();
            r.confHistory.put(meta.index(), meta.confState());
        }
        for (Entry e : rd.committedEntries()) {
            check(e.index() == r.lastApplied + 1, "replica %d applied %s after index %d", r.id, e, r.lastApplied);
            r.lastApplied = e.index();
            Entry other = appliedByIndex.putIfAbsent(e.index(), e);
            check(other == null || sameEntry(other, e),
                    "State Machine Safety: replica %d applied %s where another replica applied %s", r.id, e, other);
            if (e.type() == EntryType.CONF_CHANGE) {
                ConfState before = r.confHistory.lastEntry().getValue();
                r.confHistory.put(e.index(), applyConfChange(before, ConfChange.decode(e.data())));
            }
        }
    }

    private void deliverOrDrop(Command c, Out out) {
        if (c.options.containsKey("drop")) {
            long id = Long.parseLong(c.options.get("drop"));
            out.line("> dropping messages to " + id);
            for (Iterator<Message> it = inFlight.iterator(); it.hasNext(); ) {
                Message m = it.next();
                if (m.to == id) {
                    out.line("  " + m);
                    it.remove();
                }
            }
            return;
        }
        for (long id : c.ids()) {
            deliver(replica(id), out);
        }
    }

    private boolean deliver(Replica r, Out out) {
        List<Message> batch = new ArrayList<>();
        for (Iterator<Message> it = inFlight.iterator(); it.hasNext(); ) {
            Message m = it.next();
            if (m.to == r.id) {
                batch.add(m);
                it.remove();
            }
        }
        if (batch.isEmpty()) {
            return false;
        }
        out.line("> " + r.id + " receiving messages");
        for (Message m : batch) {
            out.line("  " + m);
            r.node.step(m);
            out.stateChange(r, "    ");
        }
        return true;
    }

    private void stabilize(Iterable<Long> ids, Out out) {
        List<Replica> rs = new ArrayList<>();
        for (long id : ids) {
            rs.add(replica(id));
        }
        for (int round = 0; ; round++) {
            check(round < 1000, "stabilize did not settle after 1000 rounds");
            boolean busy = false;
            for (Replica r : rs) {
                if (r.held != null || r.node.hasReady()) {
                    processReady(r, out);
                    busy = true;
                }
            }
            for (Replica r : rs) {
                busy |= deliver(r, out);
            }
            if (!busy) {
                return;
            }
        }
    }

    private void isolate(long id, Out out) {
        replica(id);
        isolated.add(id);
        for (Iterator<Message> it = inFlight.iterator(); it.hasNext(); ) {
            Message m = it.next();
            if (m.from == id || m.to == id) {
                out.line("dropped " + m);
                it.remove();
            }
        }
    }

    private void status(Replica r, Out out) {
        RaftNode n = r.node;
        out.line(r.id + ": " + n.role() + " term=" + n.term() + " vote=" + n.vote() + " leader=" + n.leader()
                + " commit=" + n.commitIndex() + " applied=" + n.appliedIndex()
                + " log=" + logRange(n.firstIndex(), n.lastIndex()));
        out.line("  " + n.confState());
        if (n.role() == Role.LEADER) {
            if (n.leadTransferee() != 0) {
                out.line("  transferring to " + n.leadTransferee());
            }
            for (long peer : members(n.confState())) {
                out.line("  " + peer + ": " + n.progressOf(peer));
            }
        }
    }

    private void raftLog(Replica r, Out out) {
        MemoryStorage s = r.memory;
        out.line(r.id + ": hard state " + s.initialHardState());
        if (!s.snapshot().isEmpty()) {
            out.line("  snapshot " + s.snapshot().metadata());
        }
        if (s.lastIndex() < s.firstIndex()) {
            out.line("  no entries");
            return;
        }
        for (Entry e : s.entries(s.firstIndex(), s.lastIndex() + 1, Long.MAX_VALUE)) {
            out.line("  " + e);
        }
    }

    private void compact(Replica r, long index, Out out) {
        check(index <= r.node.appliedIndex(), "compact %d: replica %d has applied only %d",
                index, r.id, r.node.appliedIndex());
        ConfState conf = r.confHistory.floorEntry(index).getValue();
        r.memory.createSnapshot(index, conf, ("snap@" + index).getBytes(StandardCharsets.UTF_8));
        r.memory.compact(index);
        out.line(r.id + ": snapshot " + r.memory.snapshot().metadata() + "; log now "
                + logRange(r.memory.firstIndex(), r.memory.lastIndex()));
    }

    // ---------------------------------------------------------------- checks

    private void checkElectionSafety() {
        for (Replica r : replicas.values()) {
            if (r.node.role() == Role.LEADER) {
                Long other = leaderOfTerm.putIfAbsent(r.node.term(), r.id);
                check(other == null || other == r.id,
                        "Election Safety: %d and %d both lead term %d", other, r.id, r.node.term());
            }
        }
    }

    private void checkMembership(Replica r) {
        if (r.node.appliedIndex() != r.lastApplied) {
            return;
        }
        ConfState expected = r.confHistory.floorEntry(r.lastApplied).getValue();
        check(expected.equals(r.node.confState()), "replica %d applied up to %d should have membership %s, has %s",
                r.id, r.lastApplied, expected, r.node.confState());
    }

    /** The documented meaning of each {@link ConfChangeType}, written independently of the core. */
    private static ConfState applyConfChange(ConfState c, ConfChange cc) {
        TreeSet<Long> voters = toSet(c.voters());
        TreeSet<Long> learners = toSet(c.learners());
        long node = cc.nodeId();
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
                // Removing the last voter would leave a group that can never elect a leader.
                if (!(voters.size() == 1 && voters.contains(node))) {
                    voters.remove(node);
                    learners.remove(node);
                }
            }
        }
        return new ConfState(toArray(voters), toArray(learners));
    }

    private static boolean sameEntry(Entry a, Entry b) {
        return a.term() == b.term() && a.index() == b.index() && a.type() == b.type() && Arrays.equals(a.data(), b.data());
    }

    private static void check(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new AssertionError(String.format(format, args));
        }
    }

    // ---------------------------------------------------------------- helpers

    private Replica replica(long id) {
        Replica r = replicas.get(id);
        if (r == null) {
            throw new ScriptError("no node " + id + " (add it with add-nodes)");
        }
        return r;
    }

    private static ConfChangeType confChangeType(String s) {
        try {
            return ConfChangeType.valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new ScriptError("unknown conf change type '" + s + "'; use add-voter, add-learner, promote-learner or remove-node");
        }
    }

    private static boolean okOrFailed(String s) {
        return switch (s) {
            case "ok" -> true;
            case "failed" -> false;
            default -> throw new ScriptError("expected ok or failed, got '" + s + "'");
        };
    }

    private static List<Long> members(ConfState c) {
        TreeSet<Long> all = toSet(c.voters());
        all.addAll(toSet(c.learners()));
        return new ArrayList<>(all);
    }

    private static TreeSet<Long> toSet(long[] ids) {
        TreeSet<Long> set = new TreeSet<>();
        for (long id : ids) {
            set.add(id);
        }
        return set;
    }

    private static long[] toArray(TreeSet<Long> set) {
        return set.stream().mapToLong(Long::longValue).toArray();
    }

    /** "[first, last]", or "empty after N" when everything up to N is in the snapshot. */
    private static String logRange(long first, long last) {
        return first > last ? "empty after " + last : "[" + first + ", " + last + "]";
    }

    private static String joinIds(long[] ids) {
        StringBuilder b = new StringBuilder();
        for (long id : ids) {
            b.append(b.length() == 0 ? "" : ",").append(id);
        }
        return b.toString();
    }

    /** The output of one command, line by line. */
    private static final class Out {
        private final StringBuilder b = new StringBuilder();

        void line(String s) {
            if (b.length() > 0) {
                b.append('\n');
            }
            b.append(s);
        }

        <T> void list(String header, List<T> items) {
            if (items.isEmpty()) {
                return;
            }
            line(header);
            for (T item : items) {
                line("    " + item);
            }
        }

        void stateChange(Replica r) {
            stateChange(r, "");
        }

        void stateChange(Replica r, String indent) {
            String change = r.stateChange();
            if (change != null) {
                line(indent + change);
            }
        }

        boolean isEmpty() {
            return b.length() == 0;
        }

        @Override
        public String toString() {
            return b.toString();
        }
    }

    /** A parsed command line: a name, positional arguments and key=value options. */
    private static final class Command {
        final String name;
        final List<String> positional = new ArrayList<>();
        final Map<String, String> options = new LinkedHashMap<>();
        private final TreeSet<String> used = new TreeSet<>();

        private Command(String name) {
            this.name = name;
        }

        static Command parse(String line) {
            String[] tokens = line.trim().split("\\s+");
            Command c = new Command(tokens[0]);
            for (int i = 1; i < tokens.length; i++) {
                int eq = tokens[i].indexOf('=');
                if (eq > 0) {
                    c.options.put(tokens[i].substring(0, eq), tokens[i].substring(eq + 1));
                } else {
                    c.positional.add(tokens[i]);
                }
            }
            return c;
        }

        String arg(int i) {
            if (i >= positional.size()) {
                throw new ScriptError(name + ": missing argument " + (i + 1));
            }
            return positional.get(i);
        }

        int intArg(int i) {
            try {
                return Integer.parseInt(arg(i));
            } catch (NumberFormatException e) {
                throw new ScriptError(name + ": argument " + (i + 1) + " is not a number: '" + arg(i) + "'");
            }
        }

        List<Long> ids() {
            if (positional.isEmpty()) {
                throw new ScriptError(name + ": name at least one node id");
            }
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < positional.size(); i++) {
                ids.add((long) intArg(i));
            }
            return ids;
        }

        long longOption(String key, long dflt) {
            used.add(key);
            String v = options.get(key);
            try {
                return v == null ? dflt : Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new ScriptError(name + ": " + key + " must be a number, got '" + v + "'");
            }
        }

        int intOption(String key, int dflt) {
            return Math.toIntExact(longOption(key, dflt));
        }

        boolean boolOption(String key, boolean dflt) {
            used.add(key);
            String v = options.get(key);
            if (v == null) {
                return dflt;
            }
            if (!v.equals("true") && !v.equals("false")) {
                throw new ScriptError(name + ": " + key + " must be true or false, got '" + v + "'");
            }
            return Boolean.parseBoolean(v);
        }

        long[] idList(String key, long[] dflt) {
            used.add(key);
            String v = options.get(key);
            if (v == null) {
                return dflt;
            }
            String inner = v.replace("(", "").replace(")", "");
            if (inner.isEmpty()) {
                return new long[0];
            }
            return Arrays.stream(inner.split(",")).mapToLong(Long::parseLong).toArray();
        }

        void checkAllOptionsUsed() {
            used.add("read-only");
            for (String key : options.keySet()) {
                if (!used.contains(key)) {
                    throw new ScriptError(name + ": unknown option '" + key + "'");
                }
            }
        }
    }
}
