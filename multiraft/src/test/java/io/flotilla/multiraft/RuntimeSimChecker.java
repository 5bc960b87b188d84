package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The runtime simulation's record of what happened and its safety checks: every listener handed
 * to the runtime ({@link Call}) and how often it was answered, which proposal attempt applied at
 * which index, the leader of each term of each group, the entries applied at each index; violations
 * by kind; and a trace whose tail is kept for the report. Owned by the seed's thread.
 */
final class RuntimeSimChecker {
    /** What a violation broke. The first ones are safety, then liveness, then crashes of the runtime. */
    enum Kind {
        TWO_LEADERS("two leaders in one term"),
        APPLY_DIVERGENCE("replicas applied different entries at one index (a committed entry was lost)"),
        APPLY_GAP("a state machine was handed non-consecutive entries"),
        ACK_MISMATCH("a proposal was acknowledged but its index holds another entry"),
        REFUSED_BUT_APPLIED("a proposal answered onRefused/onBusy applied anyway"),
        ANSWERED_TWICE("a listener was answered more than once"),
        NOT_LINEARIZABLE("the register history is not linearizable"),
        EXACTLY_ONCE("a client's write (client id, sequence) took effect more than once, or a retry was answered otherwise than the first apply"),
        ACKNOWLEDGED_LOST("a write acknowledged to its client is missing at the end (or one refused for certain is present)"),
        REPLICAS_DIVERGE("two replicas of a range hold different state at the same applied index"),
        WRONG_RESULT("a client got an answer its request cannot have (an error it did not provoke, no result for an applied write)"),
        UNANSWERED_AT_END("a listener of a live node was never answered (after the final quiet period)"),
        UNANSWERED_AT_CLOSE("close() returned with listeners of the node unanswered"),
        UNANSWERED_AFTER_FAILURE("a listener of a group whose worker failed was never answered"),
        READ_HANG("a read was neither answered nor failed within 5 election timeouts"),
        LEADERLESS("a group stayed leaderless while a quorum of its voters was up and connected"),
        FINAL_READ_FAILED("no linearizable read of a register succeeded after the final quiet period"),
        WORKER_THREW("a worker threw (not the state-machine failpoint)"),
        WIRE_REFUSED("a node sent a message the wire codec refuses (e.g. a term of 2^63 or more)"),
        RUNTIME_THREW("a runtime call threw (recovery, close, deliver, ...)"),
        DISK_UNBOUNDED("with snapshots, a node's log kept more segments than its live data needs once its log sweeps settled"),
        SPLIT_DISAGREES("replicas that applied one range split made different descriptors of its two ranges"),
        RANGES_DO_NOT_TILE("the newest descriptors of the ranges leave a gap in the key space or overlap"),
        SPLIT_MISSING("an acknowledged range split is missing on a live replica of the range at the end"),
        MOVE_BROKEN("a replica move took its range below the voters it started with, promoted a learner that lags,"
                + " ended with other replicas than it planned, or failed while nothing else changed the range's membership"),
        MEMBERS_DISAGREE("two replicas of a range hold descriptors of the same epoch and conf version that list other replicas"),
        REMOVED_REPLICA_KEPT("a replica its range removed still holds the range at the end (it was never dropped)"),
        SEED_ABORTED("an exception escaped the simulation's event loop; the seed stopped there");

        final String meaning;

        Kind(String meaning) {
            this.meaning = meaning;
        }
    }

    enum CallKind { PROPOSE, READ, CONF_CHANGE, TRANSFER }

    /** One listener handed to the runtime. */
    static final class Call {
        final long id;
        final CallKind kind;
        final long node;
        final int incarnation;
        final long groupId;
        final long issuedNs;
        /** The proposal attempt it carries (PROPOSE only), else 0. */
        final long attemptId;
        int answers;
        String firstAnswer;
        long answeredNs;
        /** Answered onRefused or onBusy: its command must never apply. */
        boolean refused;
        /** Already reported as unanswered or hanging. */
        boolean flagged;

        Call(long id, CallKind kind, long node, int incarnation, long groupId, long issuedNs, long attemptId) {
            this.id = id;
            this.kind = kind;
            this.node = node;
            this.incarnation = incarnation;
            this.groupId = groupId;
            this.issuedNs = issuedNs;
            this.attemptId = attemptId;
        }

        @Override
        public String toString() {
            return kind + "#" + id + (attemptId != 0 ? " attempt " + attemptId : "") + " to node " + node + "." + incarnation
                    + " group " + groupId + " at " + RuntimeSimChecker.ms(issuedNs);
        }
    }

    private record Applied(long node, long groupId, long index) {
    }

    private record Violation(Kind kind, String detail, List<String> traceTail) {
    }

    private static final int TRACE_LINES = 60;

    private final LongSupplier clock;
    /** Null, or where every trace line goes as it happens (a replayed seed narrates its run). */
    private final Consumer<String> narrator;
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    private final EnumMap<Kind, List<Violation>> violations = new EnumMap<>(Kind.class);
    private Violation firstViolation;
    private final List<Call> calls = new ArrayList<>();
    /** Calls not answered yet, compacted now and then. */
    private List<Call> open = new ArrayList<>();
    private final Map<Long, Call> byAttempt = new HashMap<>();
    private final Map<Long, Applied> appliedAttempts = new HashMap<>();
    /** group → term → leader node. */
    private final Map<Long, Map<Long, Long>> leaders = new HashMap<>();
    /** group → fingerprints of the entries applied at each index (slot = index - 1; 0 = none yet). */
    private final Map<Long, long[]> appliedEntries = new HashMap<>();
    private long nextCallId = 1;

    RuntimeSimChecker(LongSupplier clock, Consumer<String> narrator) {
        this.clock = clock;
        this.narrator = narrator;
    }

    static String ms(long ns) {
        return String.format("%.3f ms", ns / 1e6);
    }

    void trace(String line) {
        if (trace.size() == TRACE_LINES) {
            trace.pollFirst();
        }
        String stamped = "[" + String.format("%10.3f", clock.getAsLong() / 1e6) + " ms] " + line;
        trace.addLast(stamped);
        if (narrator != null) {
            narrator.accept(stamped);
        }
    }

    void violation(Kind kind, String detail) {
        trace("VIOLATION " + kind + ": " + detail);
        List<Violation> list = violations.computeIfAbsent(kind, k -> new ArrayList<>());
        if (list.size() < 20) {
            list.add(new Violation(kind, detail, List.copyOf(trace)));
        }
        if (firstViolation == null) {
            firstViolation = list.get(0);
        }
    }

    boolean ok() {
        return violations.isEmpty();
    }

    /** Kinds violated in this run. */
    List<Kind> violatedKinds() {
        return new ArrayList<>(violations.keySet());
    }

    /** One paragraph per kind violated: how often, the first occurrence and the trace tail at it. */
    String report(int traceLines) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<Kind, List<Violation>> e : violations.entrySet()) {
            List<Violation> list = e.getValue();
            b.append("  ").append(e.getKey()).append(" (").append(e.getKey().meaning).append("), ").append(list.size())
                    .append(list.size() == 20 ? "+" : "").append(" time(s); first: ").append(list.get(0).detail()).append('\n');
        }
        if (firstViolation != null) {
            b.append("  trace before the first violation:\n");
            List<String> tail = firstViolation.traceTail();
            for (String line : tail.subList(Math.max(0, tail.size() - traceLines), tail.size())) {
                b.append("    ").append(line).append('\n');
            }
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- listeners

    Call newCall(CallKind kind, long node, int incarnation, long groupId, long attemptId) {
        Call c = new Call(nextCallId++, kind, node, incarnation, groupId, clock.getAsLong(), attemptId);
        calls.add(c);
        open.add(c);
        if (attemptId != 0) {
            byAttempt.put(attemptId, c);
        }
        return c;
    }

    /** A listener method ran; returns false if it was not the first answer (the caller then ignores it). */
    boolean answered(Call c, String answer, boolean refused) {
        c.answers++;
        if (c.answers > 1) {
            violation(Kind.ANSWERED_TWICE, c + " answered " + answer + " after " + c.firstAnswer);
            return false;
        }
        c.firstAnswer = answer;
        c.answeredNs = clock.getAsLong();
        c.refused = refused;
        if (refused && c.attemptId != 0) {
            Applied a = appliedAttempts.get(c.attemptId);
            if (a != null) {
                violation(Kind.REFUSED_BUT_APPLIED, c + " answered " + answer + " but node " + a.node() + " applied it at index "
                        + a.index());
            }
        }
        return true;
    }

    /** Calls not yet answered (a fresh list; compacts the set kept). */
    List<Call> unanswered() {
        List<Call> still = new ArrayList<>();
        for (Call c : open) {
            if (c.answers == 0) {
                still.add(c);
            }
        }
        open = still;
        return new ArrayList<>(still);
    }

    long calls() {
        return calls.size();
    }

    // ---------------------------------------------------------------- applied entries and leaders

    /** A state machine applied {@code entry}; checks it against every other replica's entry at that index. */
    void applied(long node, long groupId, Entry entry, long attemptId) {
        long fingerprint = fingerprint(entry, attemptId);
        long[] entries = appliedEntries.computeIfAbsent(groupId, g -> new long[64]);
        int slot = (int) (entry.index() - 1);
        if (slot >= entries.length) {
            entries = Arrays.copyOf(entries, Math.max(entries.length * 2, slot + 1));
            appliedEntries.put(groupId, entries);
        }
        if (entries[slot] == 0) {
            entries[slot] = fingerprint;
        } else if (entries[slot] != fingerprint) {
            violation(Kind.APPLY_DIVERGENCE, "node " + node + " applied " + describe(entry, attemptId) + " in group " + groupId
                    + " where another replica applied a different entry");
        }
        if (attemptId != 0) {
            Applied earlier = appliedAttempts.get(attemptId);
            if (earlier == null) {
                appliedAttempts.put(attemptId, new Applied(node, groupId, entry.index()));
                Call c = byAttempt.get(attemptId);
                if (c != null && c.refused) {
                    violation(Kind.REFUSED_BUT_APPLIED, c + " was answered " + c.firstAnswer + " at " + ms(c.answeredNs)
                            + " but node " + node + " applied it at index " + entry.index() + " (term " + entry.term() + ")");
                }
            } else if (earlier.index() != entry.index() || earlier.groupId() != groupId) {
                violation(Kind.APPLY_DIVERGENCE, "attempt " + attemptId + " applied at group " + groupId + " index "
                        + entry.index() + " on node " + node + " and at group " + earlier.groupId() + " index " + earlier.index()
                        + " on node " + earlier.node());
            }
        }
    }

    /** A proposal's listener heard onApplied(index): the attempt must be what applied there. */
    void acknowledged(Call c, long index) {
        Applied a = appliedAttempts.get(c.attemptId);
        if (a == null || a.index() != index || a.groupId() != c.groupId) {
            violation(Kind.ACK_MISMATCH, c + " acknowledged at index " + index + " but it applied "
                    + (a == null ? "nowhere" : "at group " + a.groupId() + " index " + a.index()));
        }
    }

    /** {@code node} leads {@code groupId} in {@code term}; returns true the first time this (group, term) is seen. */
    boolean leader(long groupId, long term, long node) {
        Map<Long, Long> terms = leaders.computeIfAbsent(groupId, g -> new HashMap<>());
        Long known = terms.putIfAbsent(term, node);
        if (known == null) {
            return true;
        }
        if (known != node) {
            violation(Kind.TWO_LEADERS, "nodes " + known + " and " + node + " both lead group " + groupId + " in term " + term);
            terms.put(term, node);
        }
        return false;
    }

    long leaderTerms() {
        long n = 0;
        for (Map<Long, Long> terms : leaders.values()) {
            n += terms.size();
        }
        return n;
    }

    private static long fingerprint(Entry e, long attemptId) {
        long h = e.term() * 0x9E3779B97F4A7C15L + e.type().ordinal();
        // Never 0, which marks an index no replica has applied yet.
        return (h * 31 + (attemptId != 0 ? attemptId : Arrays.hashCode(e.data()))) | 1;
    }

    private static String describe(Entry e, long attemptId) {
        return e.term() + "/" + e.index() + " " + e.type() + (attemptId != 0 ? " attempt " + attemptId : "");
    }
}
