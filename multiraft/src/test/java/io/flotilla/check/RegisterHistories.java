package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Big client histories for testing {@link LinearizabilityChecker}: a simulation of real
 * linearizable registers driven by closed-loop clients, and mutations that make a history
 * illegal. Stateless; every history is a function of its arguments.
 *
 * <p>The simulation follows what {@code SimClient} does against a cluster: each client runs one
 * operation at a time on a random key (40% READ, 40% WRITE, 20% CAS), writes values unique to
 * the client and sequence number, and expects in a CAS the last value it saw (absent one time in
 * four). Each operation takes effect at a random instant inside its interval, and its answer is
 * what the register gave at that instant. Times are microseconds: most operations take 1..40,
 * one in ten 50..300 (an election, a slow disk), with 0..5 between a client's operations.
 *
 * <p>A share of operations end with an unknown outcome, as when a client crashes or times out:
 * the client gives up after {@link #TIMEOUT_US} and goes on with its next operation; the
 * operation took effect with probability 1/2, at any instant from its call to
 * {@link #LATE_EFFECT_US} after it (a proposal a new leader commits late), and otherwise never.
 */
final class RegisterHistories {
    static final long TIMEOUT_US = 200;
    static final long LATE_EFFECT_US = 1_000;

    private RegisterHistories() {
    }

    /** A linearizable history of {@code opCount} operations with unique values; see the class comment. */
    static List<Operation> linearizable(long seed, int opCount, int keyCount, int clientCount, double unknownShare) {
        return linearizable(seed, opCount, keyCount, clientCount, unknownShare, 0);
    }

    /**
     * As {@link #linearizable(long, int, int, int, double)}, but with {@code valueCount > 0}
     * writes draw from v0..v(valueCount-1), so values repeat and a READ does not say which write
     * it saw (harder to check; the mutations below need unique values to be surely illegal).
     */
    static List<Operation> linearizable(long seed, int opCount, int keyCount, int clientCount, double unknownShare,
                                        int valueCount) {
        Check.argument(opCount >= 0 && keyCount > 0 && clientCount > 0 && valueCount >= 0,
                "bad shape: %d operations, %d keys, %d clients, %d values", opCount, keyCount, clientCount, valueCount);
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] clientFree = new long[clientCount];
        for (int c = 0; c < clientCount; c++) {
            clientFree[c] = rnd.nextLong(10);
        }
        List<Planned> planned = new ArrayList<>(opCount);
        int[] seq = new int[clientCount];
        for (int i = 0; i < opCount; i++) {
            int client = 0;
            for (int c = 1; c < clientCount; c++) {
                if (clientFree[c] < clientFree[client]) {
                    client = c;
                }
            }
            Planned p = new Planned();
            p.client = client;
            p.key = keyCount == 1 ? "k" : "k" + rnd.nextInt(keyCount);
            int dice = rnd.nextInt(10);
            p.kind = dice < 4 ? OpKind.READ : dice < 8 ? OpKind.WRITE : OpKind.CAS;
            p.value = p.kind == OpKind.READ ? null
                    : valueCount > 0 ? "v" + rnd.nextInt(valueCount) : "c" + client + "-" + (++seq[client]);
            p.casWantsAbsent = rnd.nextInt(4) == 0;
            p.call = clientFree[client];
            p.unknown = rnd.nextDouble() < unknownShare;
            if (p.unknown) {
                p.takesEffect = rnd.nextBoolean();
                p.point = p.call + rnd.nextLong(LATE_EFFECT_US + 1);
                p.ret = p.call + TIMEOUT_US;
            } else {
                long durationUs = rnd.nextInt(10) == 0 ? 50 + rnd.nextLong(251) : 1 + rnd.nextLong(40);
                p.takesEffect = true;
                p.ret = p.call + durationUs;
                p.point = p.call + rnd.nextLong(durationUs + 1);
            }
            clientFree[client] = p.ret + rnd.nextLong(6);
            planned.add(p);
        }

        // Effects in order of their instants; a client's earlier operations all took effect
        // before its next call, so its last-seen value is known when its CAS takes effect.
        List<Planned> byPoint = new ArrayList<>(planned);
        byPoint.sort(Comparator.comparingLong(p -> p.point));
        Map<String, String> registers = new HashMap<>();
        List<Map<String, String>> lastSeen = new ArrayList<>();
        for (int c = 0; c < clientCount; c++) {
            lastSeen.add(new HashMap<>());
        }
        for (Planned p : byPoint) {
            String current = registers.get(p.key);
            Map<String, String> seen = lastSeen.get(p.client);
            if (p.kind == OpKind.CAS) {
                p.expected = p.casWantsAbsent ? null : seen.get(p.key);
            }
            if (!p.takesEffect) {
                continue;
            }
            switch (p.kind) {
                case READ -> {
                    p.value = current;
                    if (!p.unknown) {
                        seen.put(p.key, current);
                    }
                }
                case WRITE -> {
                    registers.put(p.key, p.value);
                    if (!p.unknown) {
                        seen.put(p.key, p.value);
                    }
                }
                case CAS -> {
                    p.result = Objects.equals(current, p.expected);
                    if (p.result) {
                        registers.put(p.key, p.value);
                        if (!p.unknown) {
                            seen.put(p.key, p.value);
                        }
                    }
                }
            }
        }

        List<Operation> history = new ArrayList<>(opCount);
        for (Planned p : planned) {
            if (p.unknown) {
                // An unknown READ is recorded with whatever garbage; the checker must drop it.
                history.add(new Operation(p.client, p.key, p.kind, p.expected,
                        p.kind == OpKind.READ ? "garbage" : p.value, false, false, p.call, Long.MAX_VALUE));
            } else {
                history.add(new Operation(p.client, p.key, p.kind, p.expected, p.value, true, p.result,
                        p.call, p.ret));
            }
        }
        Collections.shuffle(history, new Random(seed));
        return history;
    }

    /**
     * A copy of {@code history} with one known READ, near the middle of its key's calls, made to
     * return the value of the write before the last write that completed before the read's call:
     * one write behind. With unique values that is illegal: only that write produced the value,
     * and a completed write came between it and the read. Throws if no READ has two completed
     * writes before it.
     */
    static List<Operation> withStaleRead(List<Operation> history) {
        List<Operation> sorted = new ArrayList<>(history);
        sorted.sort(Comparator.comparingLong(Operation::callTime));
        int middle = sorted.size() / 2;
        for (int offset = 0; offset < sorted.size(); offset++) {
            int i = middle + (offset % 2 == 0 ? offset / 2 : -(offset / 2 + 1));
            if (i < 0 || i >= sorted.size()) {
                continue;
            }
            Operation read = sorted.get(i);
            if (read.kind() != OpKind.READ || !read.known()) {
                continue;
            }
            Operation last = lastWriteReturnedBefore(sorted, read.key(), read.callTime());
            Operation before = last == null ? null : lastWriteReturnedBefore(sorted, read.key(), last.callTime());
            if (before == null || Objects.equals(before.value(), read.value())) {
                continue;
            }
            List<Operation> copy = new ArrayList<>(history);
            copy.set(history.indexOf(read), Operation.read(read.clientId(), read.key(), before.value(),
                    read.callTime(), read.returnTime()));
            return copy;
        }
        throw new IllegalArgumentException("no READ has two completed writes before it");
    }

    /**
     * A copy of {@code history} where a known CAS that lost a race, near the middle, is reported
     * swapped too: two CASes overlapping in time both swapped from the same value, as a state
     * machine applying one command twice would answer. With unique values that is illegal:
     * the expected value is produced once, and whichever CAS goes first replaces it with a value
     * the second does not expect. Throws if no such pair exists.
     */
    static List<Operation> withDoubleSwap(List<Operation> history) {
        List<Operation> sorted = new ArrayList<>(history);
        sorted.sort(Comparator.comparingLong(Operation::callTime));
        int middle = sorted.size() / 2;
        for (int offset = 0; offset < sorted.size(); offset++) {
            int i = middle + (offset % 2 == 0 ? offset / 2 : -(offset / 2 + 1));
            if (i < 0 || i >= sorted.size()) {
                continue;
            }
            Operation loser = sorted.get(i);
            if (loser.kind() != OpKind.CAS || !loser.known() || loser.result() || loser.expected() == null) {
                continue;
            }
            for (int j = i - 1; j >= 0 && j >= i - 200; j--) {
                Operation winner = sorted.get(j);
                if (winner.kind() == OpKind.CAS && winner.known() && winner.result()
                        && winner.key().equals(loser.key()) && Objects.equals(winner.expected(), loser.expected())
                        && winner.returnTime() >= loser.callTime()) {
                    List<Operation> copy = new ArrayList<>(history);
                    copy.set(history.indexOf(loser), Operation.cas(loser.clientId(), loser.key(), loser.expected(),
                            loser.value(), true, loser.callTime(), loser.returnTime()));
                    return copy;
                }
            }
        }
        throw new IllegalArgumentException("no CAS lost a race to an overlapping CAS with the same expected value");
    }

    /** A copy of {@code history} with the known READ nearest the middle returning a value nobody wrote. */
    static List<Operation> withNeverWrittenRead(List<Operation> history) {
        List<Operation> sorted = new ArrayList<>(history);
        sorted.sort(Comparator.comparingLong(Operation::callTime));
        for (int i = sorted.size() / 2; i < sorted.size(); i++) {
            Operation read = sorted.get(i);
            if (read.kind() == OpKind.READ && read.known()) {
                List<Operation> copy = new ArrayList<>(history);
                copy.set(history.indexOf(read), Operation.read(read.clientId(), read.key(), "never-written",
                        read.callTime(), read.returnTime()));
                return copy;
            }
        }
        throw new IllegalArgumentException("no known READ in the second half");
    }

    /** The known WRITE on {@code key} with the latest return before {@code time}, or null. */
    private static Operation lastWriteReturnedBefore(List<Operation> sorted, String key, long time) {
        Operation best = null;
        for (Operation op : sorted) {
            if (op.callTime() >= time) {
                break;
            }
            if (op.known() && op.kind() == OpKind.WRITE && op.key().equals(key) && op.returnTime() < time
                    && (best == null || op.returnTime() > best.returnTime())) {
                best = op;
            }
        }
        return best;
    }

    /** One operation before its answer is known; confined to the generating thread. */
    private static final class Planned {
        int client;
        String key;
        OpKind kind;
        String expected;
        String value;
        boolean casWantsAbsent;
        boolean result;
        long call;
        long point;
        long ret;
        boolean unknown;
        boolean takesEffect;
    }
}
