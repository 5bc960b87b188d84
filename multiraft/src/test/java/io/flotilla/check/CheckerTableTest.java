package io.flotilla.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The checker's cost table for docs/CHECKER.md: for each shape (operations on one key, clients,
 * share of unknown outcomes) it checks generated correct histories and their stale-read twins
 * and prints time, peak heap and verdict per row. Off by default; run with
 * {@code -Dchecker.table=true} (and {@code -Xmx1g} in the forked JVM), or through {@link #main}.
 * Single-threaded.
 */
class CheckerTableTest {
    /** Rows: operations on the key, clients, unknown share in percent. */
    /** Rows with values from a domain of 7, where a READ does not say which write it saw; correct only. */
    private static final int[][] SMALL_DOMAIN_ROWS = {{5_000, 8, 5}, {5_000, 16, 5}, {20_000, 8, 5}};
    private static final int SMALL_DOMAIN = 7;

    private static final int[][] ROWS = {
        {1_000, 4, 0}, {1_000, 16, 5}, {1_000, 32, 20},
        {5_000, 4, 5},
        {5_000, 8, 0}, {5_000, 8, 5}, {5_000, 8, 20},
        {5_000, 16, 0}, {5_000, 16, 5}, {5_000, 16, 20},
        {5_000, 32, 5},
        {20_000, 4, 5},
        {20_000, 8, 0}, {20_000, 8, 5}, {20_000, 8, 20},
        {20_000, 16, 5},
    };
    private static final int SEEDS = 3;

    @Test
    @EnabledIfSystemProperty(named = "checker.table", matches = "true")
    void printTable() {
        List<String> failures = table(Integer.getInteger("checker.seeds", SEEDS));
        assertThat(failures).isEmpty();
    }

    public static void main(String[] args) {
        List<String> failures = table(args.length > 0 ? Integer.parseInt(args[0]) : SEEDS);
        failures.forEach(System.out::println);
    }

    private static List<String> table(int seeds) {
        List<String> failures = new ArrayList<>();
        System.out.printf("max heap %d MiB, %d processors, %s %s, load average at start %s%n",
                Runtime.getRuntime().maxMemory() >> 20, Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name"), System.getProperty("java.version"), loadAverage());
        System.out.println("| ops/key | clients | unknown | history | seeds | verdicts | time max (s) | time mean (s) | peak heap max (MiB) | steps max |");
        System.out.println("|---:|---:|---:|---|---:|---|---:|---:|---:|---:|");
        // One row alone: -Dchecker.only=5000x16x5 (ops x clients x unknown percent[x values]).
        String only = System.getProperty("checker.only");
        for (int[] row : ROWS) {
            if (only != null && !only.equals(row[0] + "x" + row[1] + "x" + row[2])) {
                continue;
            }
            for (String kind : List.of("correct", "stale read", "double swap")) {
                Stats stats = new Stats();
                int histories = 0;
                for (long seed = 1; seed <= seeds; seed++) {
                    List<Operation> history = RegisterHistories.linearizable(seed, row[0], 1, row[1], row[2] / 100.0);
                    try {
                        if (kind.equals("stale read")) {
                            history = RegisterHistories.withStaleRead(history);
                        } else if (kind.equals("double swap")) {
                            history = RegisterHistories.withDoubleSwap(history);
                        }
                    } catch (IllegalArgumentException noSuchMutation) {
                        continue;
                    }
                    histories++;
                    Verdict expected = kind.equals("correct") ? Verdict.OK : Verdict.ILLEGAL;
                    Verdict verdict = measure(history, stats);
                    if (verdict != expected) {
                        failures.add(String.format("%d ops, %d clients, %d%% unknown, %s, seed %d: %s",
                                row[0], row[1], row[2], kind, seed, verdict));
                    }
                }
                if (histories == 0) {
                    System.out.printf("| %,d | %d | %d%% | %s | 0 | (no such mutation) | | | | |%n", row[0], row[1], row[2], kind);
                    continue;
                }
                System.out.printf("| %,d | %d | %d%% | %s | %d | %s | %.2f | %.2f | %d | %,d |%n", row[0], row[1], row[2],
                        kind, histories, stats.verdicts(), stats.maxNs / 1e9, stats.totalNs / 1e9 / histories,
                        stats.maxHeap >> 20, stats.maxSteps);
            }
        }
        System.out.println();
        System.out.printf("Values from a domain of %d (correct histories only):%n", SMALL_DOMAIN);
        System.out.println("| ops/key | clients | unknown | history | seeds | verdicts | time max (s) | time mean (s) | peak heap max (MiB) | steps max |");
        System.out.println("|---:|---:|---:|---|---:|---|---:|---:|---:|---:|");
        for (int[] row : SMALL_DOMAIN_ROWS) {
            if (only != null && !only.equals(row[0] + "x" + row[1] + "x" + row[2] + "x" + SMALL_DOMAIN)) {
                continue;
            }
            Stats stats = new Stats();
            for (long seed = 1; seed <= seeds; seed++) {
                Verdict verdict = measure(RegisterHistories.linearizable(seed, row[0], 1, row[1], row[2] / 100.0,
                        SMALL_DOMAIN), stats);
                if (verdict != Verdict.OK) {
                    failures.add(String.format("%d ops, %d clients, %d%% unknown, %d values, seed %d: %s",
                            row[0], row[1], row[2], SMALL_DOMAIN, seed, verdict));
                }
            }
            System.out.printf("| %,d | %d | %d%% | correct, %d values | %d | %s | %.2f | %.2f | %d | %,d |%n", row[0],
                    row[1], row[2], SMALL_DOMAIN, seeds, stats.verdicts(), stats.maxNs / 1e9,
                    stats.totalNs / 1e9 / seeds, stats.maxHeap >> 20, stats.maxSteps);
        }
        return failures;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static Verdict measure(List<Operation> history, Stats stats) {
        List<MemoryPoolMXBean> heap = new ArrayList<>();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                heap.add(pool);
            }
        }
        System.gc();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long startNs = System.nanoTime();
        SearchStats search = new SearchStats();
        CheckResult result = LinearizabilityChecker.check(history, LinearizabilityChecker.DEFAULT_MAX_STEPS, search);
        long ns = System.nanoTime() - startNs;
        long peak = 0;
        for (MemoryPoolMXBean pool : heap) {
            peak += pool.getPeakUsage().getUsed();
        }
        stats.add(result, ns, peak, search.steps);
        return result.verdict();
    }

    /** Per-row accumulator; confined to the table thread. */
    private static final class Stats {
        long maxNs;
        long totalNs;
        long maxHeap;
        long maxSteps;
        int ok;
        int illegal;
        int unknown;

        void add(CheckResult result, long ns, long heap, long steps) {
            maxNs = Math.max(maxNs, ns);
            totalNs += ns;
            maxHeap = Math.max(maxHeap, heap);
            maxSteps = Math.max(maxSteps, steps);
            switch (result.verdict()) {
                case OK -> ok++;
                case ILLEGAL -> illegal++;
                case UNKNOWN -> unknown++;
            }
        }

        String verdicts() {
            List<String> parts = new ArrayList<>();
            if (ok > 0) {
                parts.add(ok + " OK");
            }
            if (illegal > 0) {
                parts.add(illegal + " ILLEGAL");
            }
            if (unknown > 0) {
                parts.add(unknown + " UNKNOWN");
            }
            return String.join(", ", parts);
        }
    }
}
