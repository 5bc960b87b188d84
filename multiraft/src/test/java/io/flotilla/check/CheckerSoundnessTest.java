package io.flotilla.check;

import static io.flotilla.check.Operation.cas;
import static io.flotilla.check.Operation.read;
import static io.flotilla.check.Operation.unknownCas;
import static io.flotilla.check.Operation.unknownWrite;
import static io.flotilla.check.Operation.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Holds the checker's reductions to the definition on thousands of small histories, each
 * decided by {@link BruteForce}: the relaxed windows never refute a linearizable history, the
 * verdict reached through windows is the brute force's, and the witness replay rejects every
 * kind of broken order. Two sources of histories: random operations at random times over a
 * small value domain (most illegal, CAS chains and repeated values common), and small simulated
 * runs with one answer changed (realistic structure, about half legal).
 */
class CheckerSoundnessTest {
    private static final int HISTORIES = 3_000;

    @Test
    void relaxedWindowsNeverRefuteALinearizableHistory() {
        int legal = 0;
        int refutedIllegal = 0;
        for (long seed = 0; seed < HISTORIES; seed++) {
            List<Operation> history = seed % 2 == 0 ? randomHistory(seed) : mutatedRun(seed);
            boolean linearizable = BruteForce.linearizable(history);
            legal += linearizable ? 1 : 0;
            Operation[] ops = sortedForSearch(history);
            if (ops.length == 0) {
                continue;
            }
            long[] times = times(ops);
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int w = 0; w < 12; w++) {
                long a = times[rnd.nextInt(times.length)];
                long b = times[rnd.nextInt(times.length)];
                RelaxedWindow window = new RelaxedWindow("k", ops, Math.min(a, b), Math.max(a, b));
                RelaxedWindow.Outcome outcome = window.refute(1_000_000);
                assertThat(outcome).as("seed %d window [%d, %d] history %s", seed, Math.min(a, b), Math.max(a, b),
                        history).isNotEqualTo(RelaxedWindow.Outcome.UNDECIDED);
                if (linearizable) {
                    assertThat(outcome).as("seed %d window [%d, %d] refutes a linearizable history %s",
                            seed, Math.min(a, b), Math.max(a, b), history).isEqualTo(RelaxedWindow.Outcome.EXPLAINED);
                } else if (outcome == RelaxedWindow.Outcome.REFUTED) {
                    refutedIllegal++;
                }
            }
        }
        // Both kinds common, and windows that do refute illegal ones, or the test proves little.
        assertThat(legal).isBetween(HISTORIES / 5, HISTORIES * 4 / 5);
        assertThat(refutedIllegal).isGreaterThan(1_000);
    }

    @Test
    void verdictsReachedThroughWindowsAgreeWithBruteForce() {
        // A stall threshold of one step sends the search to windows at every step without
        // progress, so most illegal verdicts below come from a window, not from exhaustion.
        int throughWindows = 0;
        int illegal = 0;
        for (long seed = 0; seed < HISTORIES; seed++) {
            List<Operation> history = seed % 2 == 0 ? randomHistory(seed) : mutatedRun(seed);
            boolean expected = BruteForce.linearizable(history);
            List<Operation> searched = Arrays.asList(sortedForSearch(history));
            SearchStats stats = new SearchStats();
            CheckResult result = new KeyCheck("k", searched, 1_000_000, 1, stats).run();
            assertThat(result.verdict()).as("seed %d history %s%n%s", seed, history, result.detail())
                    .isEqualTo(expected ? Verdict.OK : Verdict.ILLEGAL);
            if (!expected) {
                illegal++;
                throughWindows += result.detail().contains("that start and end between time") ? 1 : 0;
            }
        }
        // Many illegal ones are a read of a value nobody wrote, or exhaust within a step or
        // two, before any stall; over a hundred must still have been decided by a window.
        assertThat(illegal).isGreaterThan(HISTORIES / 5);
        assertThat(throughWindows).isGreaterThan(100);
    }

    @Test
    void searchesFromEveryStartingValueAgreeWithBruteForce() {
        // The window search starts from any value and shares its memo across starting values;
        // each start must get the brute force's answer for a register that starts there.
        for (long seed = 0; seed < HISTORIES; seed += 3) {
            List<Operation> history = randomHistory(seed);
            Operation[] ops = sortedForSearch(history);
            RegisterProblem pb = RegisterProblem.whole("k", ops);
            StateMemo shared = new StateMemo(1_000);
            for (int initial = 0; initial < pb.valueCount; initial++) {
                RegisterSearch search = new RegisterSearch(pb, initial, shared);
                RegisterSearch.Status status = search.advance(1_000_000);
                String start = initial == pb.unobserved ? "never-observed" : pb.valueName(initial);
                List<Operation> withStart = new ArrayList<>(history.size() + 1);
                if (start != null) {
                    withStart.add(write(99, "k", start, -2, -1));
                }
                withStart.addAll(history);
                boolean expected = BruteForce.linearizable(withStart);
                assertThat(status).as("seed %d start %s history %s", seed, start, history)
                        .isEqualTo(expected ? RegisterSearch.Status.FOUND : RegisterSearch.Status.EXHAUSTED);
                if (status == RegisterSearch.Status.FOUND) {
                    assertThat(Witness.violation(withStartWrite(start, ops), shiftedOrder(start, search.order())))
                            .as("seed %d start %s", seed, start).isNull();
                }
            }
        }
    }

    @Test
    void witnessRejectsEveryKindOfBrokenOrder() {
        Operation[] ops = {
            write(1, "k", "a", 0, 10),
            read(2, "k", "a", 5, 15),
            cas(3, "k", "a", "b", true, 20, 30),
            unknownWrite(4, "k", "c", 25),
            read(5, "k", "c", 40, 50),
        };
        assertThat(Witness.violation(ops, new int[] {0, 1, 2, 3, 4})).isNull();
        assertThat(Witness.violation(ops, new int[] {1, 0, 2, 3, 4})).contains("READ #1 returned a");
        assertThat(Witness.violation(ops, new int[] {0, 1, 3, 2, 4})).contains("CAS #2 answered true");
        assertThat(Witness.violation(ops, new int[] {0, 1, 2, 4})).contains("READ #4 returned c");
        assertThat(Witness.violation(ops, new int[] {0, 1, 2, 3})).contains("known operation #4 is missing");
        assertThat(Witness.violation(ops, new int[] {0, 1, 2, 3, 3, 4})).contains("appears twice");
        // Real time: the read of a returned at 15, before the unknown write was called at 25.
        assertThat(Witness.violation(ops, new int[] {0, 2, 3, 1, 4})).contains("#1 returned at 15 but goes after #3");
        // An unknown operation cannot go before one that returned before its call.
        Operation[] late = {write(1, "k", "a", 0, 10), unknownWrite(2, "k", "b", 20), read(3, "k", "a", 0, 12)};
        assertThat(Witness.violation(late, new int[] {0, 2, 1})).isNull();
        assertThat(Witness.violation(late, new int[] {1, 0, 2})).contains("#0 returned at 10 but goes after #1");
        assertThat(Witness.violation(new Operation[] {unknownCas(1, "k", null, "x", 0)}, new int[] {0})).isNull();
    }

    // ---- histories ----

    /** Random operations at random times on one key; values v0..v2 and absent. */
    static List<Operation> randomHistory(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Operation> history = new ArrayList<>();
        int n = 1 + rnd.nextInt(11);
        for (int i = 0; i < n; i++) {
            long call = rnd.nextLong(16);
            long ret = call + rnd.nextLong(8);
            String value = rnd.nextInt(4) == 0 ? null : "v" + rnd.nextInt(3);
            String expected = rnd.nextInt(3) == 0 ? null : "v" + rnd.nextInt(3);
            boolean unknown = rnd.nextInt(3) == 0;
            history.add(switch (rnd.nextInt(3)) {
                case 0 -> unknown ? new Operation(i, "k", OpKind.READ, null, value, false, false, call, 0)
                        : read(i, "k", value, call, ret);
                case 1 -> unknown ? unknownWrite(i, "k", value, call) : write(i, "k", value, call, ret);
                default -> unknown ? unknownCas(i, "k", expected, value, call)
                        : cas(i, "k", expected, value, rnd.nextBoolean(), call, ret);
            });
        }
        return history;
    }

    /** A small simulated run, and for odd halves of the seeds one READ or CAS answer changed. */
    static List<Operation> mutatedRun(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Operation> history = new ArrayList<>(RegisterHistories.linearizable(seed, 3 + rnd.nextInt(9), 1,
                2 + rnd.nextInt(3), 0.25));
        if (rnd.nextBoolean()) {
            return history;
        }
        List<String> values = new ArrayList<>();
        values.add(null);
        for (Operation op : history) {
            if (op.kind() != OpKind.READ) {
                values.add(op.value());
            }
        }
        for (int attempt = 0; attempt < 10; attempt++) {
            int i = rnd.nextInt(history.size());
            Operation op = history.get(i);
            if (op.known() && op.kind() == OpKind.READ) {
                history.set(i, read(op.clientId(), op.key(), values.get(rnd.nextInt(values.size())),
                        op.callTime(), op.returnTime()));
                break;
            }
            if (op.known() && op.kind() == OpKind.CAS) {
                history.set(i, cas(op.clientId(), op.key(), op.expected(), op.value(), !op.result(),
                        op.callTime(), op.returnTime()));
                break;
            }
        }
        return history;
    }

    /** The history as a search sees it: unknown READs dropped, sorted by call time. */
    private static Operation[] sortedForSearch(List<Operation> history) {
        return history.stream()
                .filter(op -> op.known() || op.kind() != OpKind.READ)
                .sorted(Comparator.comparingLong(Operation::callTime)
                        .thenComparingLong(Operation::effectiveReturnTime)
                        .thenComparingInt(Operation::clientId))
                .toArray(Operation[]::new);
    }

    /** Every call and return time, and one before all of them. */
    private static long[] times(Operation[] ops) {
        List<Long> times = new ArrayList<>();
        times.add(-1L);
        for (Operation op : ops) {
            times.add(op.callTime());
            if (op.known()) {
                times.add(op.returnTime());
            }
        }
        return times.stream().mapToLong(Long::longValue).toArray();
    }

    /** The operations a witness for a search from {@code start} refers to: a write of it, then {@code ops}. */
    private static Operation[] withStartWrite(String start, Operation[] ops) {
        if (start == null) {
            return ops;
        }
        Operation[] all = new Operation[ops.length + 1];
        all[0] = write(99, "k", start, -2, -1);
        System.arraycopy(ops, 0, all, 1, ops.length);
        return all;
    }

    private static int[] shiftedOrder(String start, int[] order) {
        if (start == null) {
            return order;
        }
        int[] shifted = new int[order.length + 1];
        shifted[0] = 0;
        for (int i = 0; i < order.length; i++) {
            shifted[i + 1] = order[i] + 1;
        }
        return shifted;
    }
}
