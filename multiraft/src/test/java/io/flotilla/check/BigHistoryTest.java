package io.flotilla.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The checker on histories as big as the node's crash and split tests make: thousands of
 * operations on one key from 8 to 16 clients, a share of them crashed (unknown outcome).
 * Correct ones must be OK and illegal ones ILLEGAL, each within a step count. Steps are
 * deterministic, so the bounds fail on a change that makes the search's cost grow again (as it
 * did when it rescanned placed operations at every fallback), on any machine.
 */
class BigHistoryTest {
    /** About ten times what each case takes today; the old search gave up at 5,000,000. */
    private static final long STEPS_5000_AT_16 = 50_000;
    private static final long STEPS_20000_AT_8 = 150_000;
    private static final long STEPS_ILLEGAL = 500_000;

    @Test
    void correctKeyOf5000OperationsFrom16ClientsIsOk() {
        SearchStats stats = new SearchStats();
        CheckResult result = check(RegisterHistories.linearizable(1, 5_000, 1, 16, 0.05), stats);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.OK);
        assertThat(stats.steps).as("steps").isLessThan(STEPS_5000_AT_16);
    }

    @Test
    void correctKeyOf20000OperationsFrom8ClientsIsOk() {
        SearchStats stats = new SearchStats();
        CheckResult result = check(RegisterHistories.linearizable(2, 20_000, 1, 8, 0.20), stats);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.OK);
        assertThat(stats.steps).as("steps").isLessThan(STEPS_20000_AT_8);
    }

    @Test
    void staleReadInTheMiddleOf20000OperationsIsIllegalAndShown() {
        List<Operation> good = RegisterHistories.linearizable(3, 20_000, 1, 8, 0.05);
        List<Operation> bad = RegisterHistories.withStaleRead(good);
        Operation stale = changed(good, bad);
        SearchStats stats = new SearchStats();
        CheckResult result = check(bad, stats);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.key()).isEqualTo("k");
        assertThat(result.detail())
                .contains("READ -> \"" + stale.value() + "\"  [call " + stale.callTime() + ", return "
                        + stale.returnTime() + "]")
                .contains("around where the search got stuck");
        // A 20,000-operation key's report shows the neighbourhood of the trouble, not the key.
        assertThat(result.detail().length()).isLessThan(60_000);
        assertThat(stats.steps).as("steps").isLessThan(STEPS_ILLEGAL);
    }

    @Test
    void twoCasSwapsFromOneValueAmong5000OperationsFrom16ClientsAreIllegal() {
        List<Operation> good = RegisterHistories.linearizable(4, 5_000, 1, 16, 0.05);
        List<Operation> bad = RegisterHistories.withDoubleSwap(good);
        Operation second = changed(good, bad);
        SearchStats stats = new SearchStats();
        CheckResult result = check(bad, stats);
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.detail()).contains("CAS \"" + second.expected() + "\" -> \"" + second.value() + "\" swapped");
        assertThat(stats.steps).as("steps").isLessThan(STEPS_ILLEGAL);
    }

    @Test
    void readOfAValueNobodyWroteIsFoundWithoutSearching() {
        SearchStats stats = new SearchStats();
        CheckResult result = check(RegisterHistories.withNeverWrittenRead(
                RegisterHistories.linearizable(5, 20_000, 1, 16, 0.05)), stats);
        assertThat(result.verdict()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.detail()).contains("READ -> \"never-written\"").contains("no operation on the key ever wrote");
        assertThat(stats.steps).isZero();
    }

    @Test
    void keysOfABigHistoryAreCheckedApartAndTheBadOneIsNamed() {
        List<Operation> history = RegisterHistories.linearizable(6, 20_000, 4, 16, 0.05);
        assertThat(check(history, new SearchStats()).verdict()).isEqualTo(Verdict.OK);
        List<Operation> bad = new ArrayList<>(history);
        List<Operation> k2 = bad.stream().filter(op -> op.key().equals("k2")).toList();
        List<Operation> staleK2 = RegisterHistories.withStaleRead(k2);
        Operation stale = changed(k2, staleK2);
        bad.set(bad.indexOf(k2.get(staleK2.indexOf(stale))), stale);
        CheckResult result = check(bad, new SearchStats());
        assertThat(result.verdict()).as(result.detail()).isEqualTo(Verdict.ILLEGAL);
        assertThat(result.key()).isEqualTo("k2");
    }

    private static CheckResult check(List<Operation> history, SearchStats stats) {
        long startNs = System.nanoTime();
        CheckResult result = LinearizabilityChecker.check(history, LinearizabilityChecker.DEFAULT_MAX_STEPS, stats);
        System.out.printf("BigHistoryTest: %d operations, %s in %.2f s, %d steps (%d in %d windows),"
                        + " %d failed states kept%n", history.size(), result.verdict(),
                (System.nanoTime() - startNs) / 1e9, stats.steps, stats.windowSteps, stats.windows, stats.memoEntries);
        return result;
    }

    /** The one operation that differs between two histories of the same shape. */
    private static Operation changed(List<Operation> before, List<Operation> after) {
        for (int i = 0; i < before.size(); i++) {
            if (!before.get(i).equals(after.get(i))) {
                return after.get(i);
            }
        }
        throw new AssertionError("the histories are the same");
    }
}
