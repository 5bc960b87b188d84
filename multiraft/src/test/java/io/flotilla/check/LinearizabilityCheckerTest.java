package io.flotilla.check;

import static io.flotilla.check.Operation.cas;
import static io.flotilla.check.Operation.read;
import static io.flotilla.check.Operation.unknownCas;
import static io.flotilla.check.Operation.unknownWrite;
import static io.flotilla.check.Operation.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Tests {@link LinearizabilityChecker} on hand-made histories, good and bad, and on histories
 * generated from a real register run. Each good history has a bad twin or a sibling test that
 * the same mistake in the checker would break.
 */
class LinearizabilityCheckerTest {

    // ---- good histories ----

    @Test
    void sequentialHistoryIsOk() {
        assertOk(List.of(
                read(1, "k", null, 0, 1),
                write(1, "k", "a", 2, 3),
                read(1, "k", "a", 4, 5),
                write(2, "k", "b", 6, 7),
                read(2, "k", "b", 8, 9),
                cas(1, "k", "b", "c", true, 10, 11),
                cas(2, "k", "b", "d", false, 12, 13),
                read(1, "k", "c", 14, 15),
                cas(1, "k", "c", null, true, 16, 17),
                read(2, "k", null, 18, 19)));
    }

    @Test
    void sequentialHistoryWithWrongReadIsIllegal() {
        // Twin of the test above with the last read wrong: the CAS to absent took effect.
        assertIllegal(List.of(
                write(1, "k", "c", 0, 1),
                cas(1, "k", "c", null, true, 2, 3),
                read(2, "k", "c", 4, 5)), "k");
    }

    @Test
    void readOverlappingAWriteMaySeeEitherValue() {
        // The read overlaps the write, so it may be ordered before it (sees absent) or after it.
        assertOk(List.of(write(1, "k", "a", 0, 10), read(2, "k", "a", 5, 15)));
        assertOk(List.of(write(1, "k", "a", 0, 10), read(2, "k", null, 5, 15)));
        assertOk(List.of(read(2, "k", "a", 0, 10), write(1, "k", "a", 5, 15)));
    }

    @Test
    void concurrentWritesMayTakeEffectInEitherOrder() {
        for (String last : List.of("a", "b")) {
            String first = last.equals("a") ? "b" : "a";
            assertOk(List.of(
                    write(1, "k", "a", 0, 10),
                    write(2, "k", "b", 2, 12),
                    read(3, "k", first, 1, 11),
                    read(3, "k", last, 20, 30),
                    read(4, "k", last, 31, 40)));
        }
    }

    @Test
    void concurrentWritesCannotBeSeenFlipFloppingAfterTheyEnd() {
        // Both writes are over; one value is final, so reads cannot alternate between them.
        assertIllegal(List.of(
                write(1, "k", "a", 0, 10),
                write(2, "k", "b", 2, 12),
                read(3, "k", "b", 20, 30),
                read(4, "k", "a", 31, 40)), "k");
    }

    @Test
    void returnAndCallAtTheSameInstantAreConcurrent() {
        // Documented semantics: only returnTime < callTime orders two operations.
        assertOk(List.of(write(1, "k", "a", 0, 10), read(2, "k", null, 10, 20)));
        assertIllegal(List.of(write(1, "k", "a", 0, 10), read(2, "k", null, 11, 20)), "k");
    }

    @Test
    void casRaceHasOneWinner() {
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                cas(2, "k", "x", "a", true, 5, 20),
                cas(3, "k", "x", "b", false, 6, 18),
                read(4, "k", "a", 25, 30)));
    }

    @Test
    void unknownWriteThatTookEffectIsOk() {
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                unknownWrite(2, "k", "a", 5),
                read(3, "k", "x", 10, 20),
                read(3, "k", "a", 30, 40),
                read(4, "k", "a", 50, 60)));
    }

    @Test
    void unknownWriteThatNeverTookEffectIsOk() {
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                unknownWrite(2, "k", "a", 2),
                read(3, "k", "x", 10, 20),
                read(3, "k", "x", 30, 40)));
    }

    @Test
    void unknownWriteCannotBeUndone() {
        // Once a read saw the unknown write, nothing brings the old value back.
        assertIllegal(List.of(
                write(1, "k", "x", 0, 1),
                unknownWrite(2, "k", "a", 2),
                read(3, "k", "a", 10, 20),
                read(3, "k", "x", 30, 40)), "k");
    }

    @Test
    void unknownWriteCannotTakeEffectBeforeItsCall() {
        assertIllegal(List.of(read(1, "k", "a", 0, 10), unknownWrite(2, "k", "a", 11)), "k");
    }

    @Test
    void unknownCasMaySwapOrNot() {
        // Swapped: later reads see its value.
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                unknownCas(2, "k", "x", "a", 5),
                read(3, "k", "x", 10, 20),
                read(3, "k", "a", 30, 40)));
        // Never took effect: reads keep seeing the old value.
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                unknownCas(2, "k", "x", "a", 5),
                read(3, "k", "x", 10, 20),
                read(3, "k", "x", 30, 40)));
        // It cannot swap from a value the register did not hold at any point after its call.
        assertIllegal(List.of(
                write(1, "k", "y", 0, 1),
                unknownCas(2, "k", "x", "a", 5),
                read(3, "k", "a", 10, 20)), "k");
    }

    @Test
    void unknownCasCompetesWithAKnownCas() {
        // The unknown CAS lost the race to client 3 (its swap from x was impossible after it).
        assertOk(List.of(
                write(1, "k", "x", 0, 1),
                unknownCas(2, "k", "x", "a", 5),
                cas(3, "k", "x", "b", true, 6, 15),
                read(4, "k", "b", 20, 25)));
        // Both cannot have swapped from x.
        assertIllegal(List.of(
                write(1, "k", "x", 0, 1),
                unknownCas(2, "k", "x", "a", 5),
                cas(3, "k", "x", "b", true, 6, 15),
                read(4, "k", "b", 20, 25),
                read(4, "k", "a", 30, 35)), "k");
    }

    @Test
    void unknownReadIsDropped() {
        // A read whose answer never arrived constrains nothing, whatever it carries.
        Operation lostRead = new Operation(2, "k", OpKind.READ, null, "never-written", false, false, 3, 0);
        assertOk(List.of(write(1, "k", "a", 0, 1), lostRead, read(1, "k", "a", 5, 6)));
    }

    @Test
    void inputOrderDoesNotMatter() {
        List<Operation> history = new ArrayList<>(List.of(
                write(1, "k", "x", 0, 1),
                cas(2, "k", "x", "a", true, 5, 20),
                cas(3, "k", "x", "b", false, 6, 18),
                read(4, "k", "a", 25, 30)));
        Collections.reverse(history);
        assertOk(history);
    }

    // ---- bad histories ----

    @Test
    void staleReadIsIllegal() {
        // b was written and seen; a later read returns the older a.
        assertIllegal(List.of(
                write(1, "k", "a", 0, 10),
                write(2, "k", "b", 20, 30),
                read(3, "k", "b", 35, 40),
                read(4, "k", "a", 45, 50)), "k");
    }

    @Test
    void lostWriteIsIllegal() {
        // The write of b completed, yet every later read sees the value before it.
        assertIllegal(List.of(
                write(1, "k", "a", 0, 10),
                read(2, "k", "a", 12, 14),
                write(3, "k", "b", 20, 30),
                read(2, "k", "a", 40, 50),
                read(4, "k", "a", 60, 70)), "k");
    }

    @Test
    void readBeforeTheWriteWasCalledIsIllegal() {
        assertIllegal(List.of(read(1, "k", "a", 0, 10), write(2, "k", "a", 20, 30)), "k");
    }

    @Test
    void casSucceedingTwiceFromTheSameValueIsIllegal() {
        assertIllegal(List.of(
                write(1, "k", "x", 0, 1),
                cas(2, "k", "x", "a", true, 5, 20),
                cas(3, "k", "x", "b", true, 6, 18)), "k");
    }

    @Test
    void readOfAValueNobodyWroteIsIllegal() {
        assertIllegal(List.of(write(1, "k", "a", 0, 10), read(2, "k", "z", 20, 30)), "k");
    }

    @Test
    void illegalDetailShowsTheSubHistoryAndTheLongestPrefix() {
        CheckResult result = LinearizabilityChecker.check(List.of(
                write(1, "k", "a", 0, 10),
                write(2, "k", "b", 20, 30),
                read(3, "k", "b", 35, 40),
                read(4, "k", "a", 45, 50)));
        assertThat(result.verdict()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.ok()).isFalse();
        assertThat(result.detail())
                .contains("key \"k\"")
                .contains("#0   client 1   WRITE \"a\"  [call 0, return 10]")
                .contains("#1   client 2   WRITE \"b\"  [call 20, return 30]")
                .contains("#2   client 3   READ -> \"b\"  [call 35, return 40]")
                .contains("#3   client 4   READ -> \"a\"  [call 45, return 50]")
                .contains("Longest linearizable prefix found (3 of 4 operations)")
                .contains("=> register \"b\"")
                .contains("READ -> \"a\"  [call 45, return 50]  (contradicts the register here)");
        // The sub-history is printed in call order even when the input is not.
        String detail = result.detail();
        assertThat(detail.indexOf("[call 0,")).isLessThan(detail.indexOf("[call 20,"));
    }

    @Test
    void unknownOperationsAreMarkedInTheDetail() {
        CheckResult result = LinearizabilityChecker.check(List.of(
                unknownWrite(1, "k", "a", 5),
                read(2, "k", "z", 10, 20)));
        assertThat(result.verdict()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.detail()).contains("WRITE \"a\" (outcome unknown)  [call 5, return unknown]");
    }

    // ---- keys ----

    @Test
    void keysAreIndependentRegisters() {
        // Read as one register this would be a stale read (a after b); as two keys it is fine.
        assertOk(List.of(
                write(1, "k1", "a", 0, 10),
                write(2, "k2", "b", 20, 30),
                read(3, "k1", "a", 40, 50),
                read(3, "k2", "b", 40, 50)));
    }

    @Test
    void badKeyAmongGoodKeysIsReportedByName() {
        List<Operation> history = new ArrayList<>();
        for (String key : List.of("alpha", "bravo", "delta")) {
            history.add(write(1, key, key + "-1", 0, 10));
            history.add(read(2, key, key + "-1", 20, 30));
        }
        history.add(write(1, "charlie", "c-1", 0, 10));
        history.add(write(3, "charlie", "c-2", 15, 18));
        history.add(read(2, "charlie", "c-1", 20, 30));
        CheckResult result = LinearizabilityChecker.check(history);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.key()).isEqualTo("charlie");
        assertThat(result.detail())
                .contains("key \"charlie\"")
                .doesNotContain("alpha-1", "bravo-1", "delta-1");
    }

    @Test
    void okResultHasNoKeyAndNoDetail() {
        CheckResult result = LinearizabilityChecker.check(List.of(write(1, "k", "a", 0, 1)));
        assertThat(result).isEqualTo(new CheckResult(Verdict.OK, null, ""));
        assertThat(LinearizabilityChecker.check(List.of()).ok()).isTrue();
    }

    // ---- budget and validation ----

    @Test
    void tinyBudgetOnALargeConcurrentHistoryIsUnknown() {
        List<Operation> history = generate(7, 500, 5, 8, 0.05, false);
        assertOk(history);
        CheckResult result = LinearizabilityChecker.check(history, 10);
        assertThat(result.verdict()).isEqualTo(Verdict.UNKNOWN);
        assertThat(result.ok()).isFalse();
        assertThat(result.key()).isNotNull();
        assertThat(result.detail())
                .contains("key \"" + result.key() + "\"")
                .contains("stopped after 10 steps")
                .contains("Raise maxSteps");
    }

    @Test
    void illegalKeyIsPreferredOverAnUndecidedOne() {
        // Key "a" (checked first) exhausts a budget of 3 steps; key "b" is illegal within 3.
        List<Operation> history = List.of(
                write(1, "a", "1", 0, 1), write(1, "a", "2", 2, 3), write(1, "a", "3", 4, 5),
                write(1, "a", "4", 6, 7),
                read(2, "b", "z", 0, 1));
        CheckResult result = LinearizabilityChecker.check(history, 3);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.key()).isEqualTo("b");
    }

    @Test
    void returnBeforeCallIsRejected() {
        assertThatThrownBy(() -> read(1, "k", "a", 10, 9))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("returned at 9 before its call at 10");
        assertThatThrownBy(() -> cas(1, "k", "a", "b", true, 10, 9))
                .isInstanceOf(IllegalArgumentException.class);
        // An unknown outcome has no return time to contradict.
        assertThat(new Operation(1, "k", OpKind.WRITE, null, "a", false, false, 10, 0).known()).isFalse();
    }

    @Test
    void badArgumentsAreRejected() {
        assertThatThrownBy(() -> LinearizabilityChecker.check(List.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxSteps 0");
        assertThatThrownBy(() -> new Operation(1, "k", OpKind.READ, "x", "a", true, false, 0, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only CAS compares");
        assertThatThrownBy(() -> write(1, null, "a", 0, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ---- randomized ----

    @Test
    void generatedHistoriesAreOkAndCorruptedOnesAreIllegal() {
        int[][] shapes = {
            // ops, keys, clients, unknown percent, unique values (1) or a small domain (0)
            {200, 3, 4, 5, 0},
            {500, 5, 8, 5, 0},
            {500, 5, 8, 5, 1},
            {500, 3, 8, 5, 0},
            {500, 3, 8, 5, 1},
            {300, 1, 8, 5, 1},
            {300, 3, 8, 20, 0},
            {300, 3, 8, 20, 1},
        };
        for (int[] shape : shapes) {
            for (long seed = 1; seed <= 10; seed++) {
                List<Operation> history =
                        generate(seed, shape[0], shape[1], shape[2], shape[3] / 100.0, shape[4] == 1);
                String where = "seed " + seed + " shape " + Arrays.toString(shape);
                CheckResult good = LinearizabilityChecker.check(history);
                assertThat(good.verdict()).as(where + "\n" + good.detail()).isEqualTo(Verdict.OK);

                Operation victim = pickKnownRead(history, seed);
                List<Operation> corrupted = new ArrayList<>(history);
                corrupted.set(history.indexOf(victim), read(victim.clientId(), victim.key(), "impossible",
                        victim.callTime(), victim.returnTime()));
                CheckResult bad = LinearizabilityChecker.check(corrupted);
                assertThat(bad.verdict()).as(where).isEqualTo(Verdict.ILLEGAL);
                assertThat(bad.key()).as(where).isEqualTo(victim.key());
                assertThat(bad.detail()).as(where).contains("READ -> \"impossible\"");
            }
        }
    }

    @Test
    void agreesWithBruteForceOnSmallRandomHistories() {
        // Random operations at random times: most histories are illegal, some are not. The
        // brute force tries every order with no memoization or pruning, so it checks that the
        // checker's pruning never loses a linearization nor invents one. Histories go up to 12
        // operations and 5,000 seeds because a wrong dominance rule only shows when one state is
        // reached by two paths with different unknown operations used; with up to 7 operations
        // and 3,000 seeds, a reversed subset test passed.
        int ok = 0;
        int illegal = 0;
        for (long seed = 0; seed < 5000; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            List<Operation> history = new ArrayList<>();
            int n = 1 + rnd.nextInt(12);
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
            boolean expected = BruteForce.linearizable(history);
            CheckResult result = LinearizabilityChecker.check(history);
            assertThat(result.verdict()).as("seed %d history %s%n%s", seed, history, result.detail())
                    .isEqualTo(expected ? Verdict.OK : Verdict.ILLEGAL);
            if (expected) {
                ok++;
            } else {
                illegal++;
            }
        }
        // Both outcomes must be common, or the comparison proves little.
        assertThat(ok).isGreaterThan(300);
        assertThat(illegal).isGreaterThan(300);
    }

    @Test
    void generatedHistoryTiming() {
        List<Operation> history = generate(42, 500, 5, 8, 0.05, true);
        long startNs = System.nanoTime();
        CheckResult first = LinearizabilityChecker.check(history);
        long firstNs = System.nanoTime() - startNs;
        assertThat(first.verdict()).as(first.detail()).isEqualTo(Verdict.OK);
        int runs = 50;
        startNs = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            assertThat(LinearizabilityChecker.check(history).ok()).isTrue();
        }
        long meanNs = (System.nanoTime() - startNs) / runs;
        System.out.printf("LinearizabilityChecker: 500 ops, 5 keys, 8 clients, 5%% unknown:"
                + " first check %.2f ms, mean of %d more %.3f ms%n", firstNs / 1e6, runs, meanNs / 1e6);
    }

    // ---- helpers ----

    private static void assertOk(List<Operation> history) {
        CheckResult result = LinearizabilityChecker.check(history);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.OK);
        assertThat(result.ok()).isTrue();
        assertThat(result.key()).isNull();
        assertThat(result.detail()).isEmpty();
    }

    private static void assertIllegal(List<Operation> history, String key) {
        CheckResult result = LinearizabilityChecker.check(history);
        assertThat(result.verdict()).as("history %s", history).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.ok()).isFalse();
        assertThat(result.key()).isEqualTo(key);
        assertThat(result.detail()).contains("key \"" + key + "\" is not linearizable");
    }

    private static Operation pickKnownRead(List<Operation> history, long seed) {
        List<Operation> reads = history.stream()
                .filter(op -> op.kind() == OpKind.READ && op.known())
                .toList();
        assertThat(reads).isNotEmpty();
        return reads.get(new SplittableRandom(seed).nextInt(reads.size()));
    }

    /**
     * A history from a real run: each client issues one operation at a time, each operation
     * takes effect on a sequential register per key at a random instant inside its interval,
     * and its answer is what the register gave at that instant. A fraction of the operations
     * end with an unknown outcome; half of those took effect, half never did, and unknown reads
     * carry a garbage value that the checker must ignore. Written values are unique per write,
     * or drawn from a small domain so that they repeat (harder: a read does not say which write
     * it saw).
     */
    static List<Operation> generate(long seed, int opCount, int keyCount, int clientCount,
                                    double unknownRate, boolean uniqueValues) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] clientFree = new long[clientCount];
        for (int c = 0; c < clientCount; c++) {
            clientFree[c] = rnd.nextLong(10);
        }
        List<Planned> planned = new ArrayList<>();
        for (int i = 0; i < opCount; i++) {
            int client = 0;
            for (int c = 1; c < clientCount; c++) {
                if (clientFree[c] < clientFree[client]) {
                    client = c;
                }
            }
            Planned p = new Planned();
            p.client = client;
            p.key = "k" + rnd.nextInt(keyCount);
            int k = rnd.nextInt(100);
            p.kind = k < 40 ? OpKind.READ : k < 75 ? OpKind.WRITE : OpKind.CAS;
            p.value = p.kind == OpKind.READ ? null : uniqueValues ? "w" + i : randomValue(rnd);
            p.call = clientFree[client] + rnd.nextLong(5);
            // Mostly short operations, some long ones (an election, a slow disk).
            long durationUs = rnd.nextInt(10) == 0 ? 50 + rnd.nextLong(250) : 1 + rnd.nextLong(40);
            p.ret = p.call + durationUs;
            p.lin = p.call + rnd.nextLong(durationUs + 1);
            p.unknown = rnd.nextDouble() < unknownRate;
            p.takesEffect = !p.unknown || rnd.nextBoolean();
            clientFree[client] = p.ret + rnd.nextLong(5);
            planned.add(p);
        }

        List<Planned> byLinearization = new ArrayList<>(planned);
        byLinearization.sort(Comparator.comparingLong(p -> p.lin));
        Map<String, String> registers = new HashMap<>();
        List<String> written = new ArrayList<>();
        for (Planned p : byLinearization) {
            String current = registers.get(p.key);
            if (p.kind == OpKind.CAS) {
                // Half the CASes expect the current value, so many swap; the rest mostly fail.
                if (rnd.nextBoolean()) {
                    p.expected = current;
                } else if (uniqueValues) {
                    p.expected = written.isEmpty() || rnd.nextInt(4) == 0
                            ? null
                            : written.get(rnd.nextInt(written.size()));
                } else {
                    p.expected = randomValue(rnd);
                }
            }
            if (p.value != null) {
                written.add(p.value);
            }
            if (p.kind == OpKind.READ && p.unknown) {
                p.value = "garbage";
            } else if (p.takesEffect) {
                switch (p.kind) {
                    case READ -> p.value = current;
                    case WRITE -> registers.put(p.key, p.value);
                    case CAS -> {
                        p.result = Objects.equals(current, p.expected);
                        if (p.result) {
                            registers.put(p.key, p.value);
                        }
                    }
                }
            }
        }

        List<Operation> history = new ArrayList<>();
        for (Planned p : planned) {
            history.add(new Operation(p.client, p.key, p.kind, p.expected, p.value, !p.unknown, p.result,
                    p.call, p.unknown ? Long.MAX_VALUE : p.ret));
        }
        Collections.shuffle(history, new Random(seed));
        return history;
    }

    /** A small value domain, with absent, so that values repeat and CASes collide. */
    private static String randomValue(SplittableRandom rnd) {
        int v = rnd.nextInt(7);
        return v == 6 ? null : "v" + v;
    }

    /** One operation of {@link #generate} before its answer is known; confined to the test thread. */
    private static final class Planned {
        int client;
        String key;
        OpKind kind;
        String expected;
        String value;
        boolean result;
        long call;
        long lin;
        long ret;
        boolean unknown;
        boolean takesEffect;
    }
}
