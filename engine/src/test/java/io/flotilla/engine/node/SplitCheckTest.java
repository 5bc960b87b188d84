package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.client.BlockingFlotillaClient;
import io.flotilla.client.CasResult;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.FlotillaException;
import io.flotilla.client.ScanEntry;
import io.flotilla.client.ScanResult;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.router.KeySpace;
import io.flotilla.router.RouteTable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranges split under a client's writes, compare-and-sets and scans, on three nodes in this JVM
 * (real RocksDB, sockets and fsync), several generations deep at random keys; then a node restarts
 * and a client that cached the routes of before every split reads everything. Checked: after every
 * split the ranges tile the key space (no gap, no overlap); no acknowledged write is lost or applied
 * twice (every key holds its last acknowledged value or a later one whose outcome was unknown);
 * every scan returns its keys in order, once each, and misses no key acknowledged before it began.
 * Prints {@code split-check: <splits> splits, <gaps> gaps, <overlaps> overlaps, <lost> lost, <illegal> illegal}.
 */
class SplitCheckTest {
    private static final int WRITERS = 3;
    private static final int KEYS_PER_WRITER = 40;
    private static final int SPLITS = 8;
    private static final long SEED = 20261202L;

    @TempDir
    Path dir;

    /** One writer's keys: the value last acknowledged and the values whose outcome is unknown. */
    private static final class KeyHistory {
        volatile String acked;
        final Set<String> unknown = ConcurrentHashMap.newKeySet();
        final Set<String> written = ConcurrentHashMap.newKeySet();
    }

    private final Map<String, KeyHistory> histories = new ConcurrentHashMap<>();
    private final AtomicLong illegal = new AtomicLong();
    private final AtomicLong scans = new AtomicLong();
    /** Writes acknowledged so far, by every writer: the test splits only after writes went on. */
    private final AtomicLong acknowledged = new AtomicLong();
    private final List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String key(int writer, int i) {
        // Spread over the key space so that splits at random keys cut through every writer's keys.
        return String.format("%03d-w%d", (i * 37 + writer * 11) % 1000, writer);
    }

    private FlotillaClient client(TestCluster cluster) {
        return FlotillaClient.builder()
                .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort(), "127.0.0.1:" + cluster.clientAddress(2).getPort(),
                        "127.0.0.1:" + cluster.clientAddress(3).getPort())
                .clusterId(TestCluster.CLUSTER_ID)
                .requestTimeout(Duration.ofSeconds(15))
                .build();
    }

    @Test
    void rangesSplitUnderWritesCasAndScansWithNoGapOverlapLossOrIllegalResult() throws Exception {
        long gaps = 0;
        long overlaps = 0;
        int splits = 0;
        try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
            cluster.awaitLeader(1);
            try (FlotillaClient stale = client(cluster); FlotillaClient client = client(cluster)) {
                // The stale client learns the one range there is now, and nothing after.
                stale.sync().put(utf8(key(0, 0)), utf8("0-0"));
                histories.computeIfAbsent(key(0, 0), k -> new KeyHistory()).acked = "0-0";
                histories.get(key(0, 0)).written.add("0-0");

                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    int writer = w;
                    threads.add(new Thread(() -> write(client.sync(), writer, stop), "split-check-writer-" + w));
                }
                threads.add(new Thread(() -> scan(client.sync(), stop), "split-check-scanner"));
                threads.forEach(Thread::start);

                SplittableRandom random = new SplittableRandom(SEED);
                int attempts = 0;
                while (splits < SPLITS && attempts++ < SPLITS * 4) {
                    awaitProgress(50);
                    List<RangeDescriptor> ranges = currentRanges(cluster);
                    RangeDescriptor target = ranges.get(random.nextInt(ranges.size()));
                    String splitKey = splitKeyInside(target, random, attempts);
                    // A key at a range's start is answered already_split, and changes nothing.
                    SplitRangeResponse done = client.splitRange(utf8(splitKey)).join();
                    assertThat(done.getLeft().getEndKey()).isEqualTo(done.getRight().getStartKey());
                    if (!done.getAlreadySplit()) {
                        splits++;
                    }
                    long[] tiling = tiling(currentRanges(cluster));
                    gaps += tiling[0];
                    overlaps += tiling[1];
                }
                awaitProgress(50);
                long scansAfterSplits = scans.get();
                TestCluster.await(30_000, "a whole scan after the last split", () -> scans.get() > scansAfterSplits);
                stop.set(true);
                for (Thread t : threads) {
                    t.join(30_000);
                }

                // Restart a node: every range it hosts, split ones included, comes back from its disk.
                cluster.stop(2);
                cluster.start(2);
                long[] tiling = tiling(currentRanges(cluster));
                gaps += tiling[0];
                overlaps += tiling[1];

                long lost = verify(stale.sync());
                System.out.printf("split-check: %d splits, %d gaps, %d overlaps, %d lost, %d illegal%n", splits, gaps,
                        overlaps, lost, illegal.get());
                assertThat(problems).as("problems").isEmpty();
                assertThat(splits).isGreaterThanOrEqualTo(SPLITS / 2);
                assertThat(scans.get()).as("scans completed").isPositive();
                assertThat(gaps).isZero();
                assertThat(overlaps).isZero();
                assertThat(lost).isZero();
                assertThat(illegal.get()).isZero();
                assertThat(currentRanges(cluster)).hasSize(1 + splits);
            }
        }
    }

    /** Waits until the writers had {@code writes} more writes acknowledged. */
    private void awaitProgress(long writes) {
        long target = acknowledged.get() + writes;
        TestCluster.await(30_000, writes + " more acknowledged writes", () -> acknowledged.get() >= target);
    }

    /** A key strictly inside the range, or now and then its start key (which the split refuses). */
    private static String splitKeyInside(RangeDescriptor range, SplittableRandom random, int attempt) {
        if (attempt % 5 == 0 && !range.getStartKey().isEmpty()) {
            return range.getStartKey().toStringUtf8();
        }
        int lo = range.getStartKey().isEmpty() ? 0 : Integer.parseInt(range.getStartKey().toStringUtf8().substring(0, 3));
        int hi = range.getEndKey().isEmpty() ? 1000 : Integer.parseInt(range.getEndKey().toStringUtf8().substring(0, 3));
        int at = hi - lo <= 1 ? lo : lo + 1 + random.nextInt(hi - lo - 1);
        return String.format("%03d", at);
    }

    /** The newest descriptor of every range the running nodes hold, in key order. */
    static List<RangeDescriptor> currentRanges(TestCluster cluster) {
        Map<Long, RangeDescriptor> newest = new HashMap<>();
        for (long id = 1; id <= 3; id++) {
            FlotillaNode node = cluster.node(id);
            if (node == null) {
                continue;
            }
            for (RangeDescriptor r : node.stateMachine().ranges()) {
                newest.merge(r.getRangeId(), r, (a, b) -> a.getEpoch() >= b.getEpoch() ? a : b);
            }
        }
        // A range split on one node and not yet on another shows its old, wider descriptor there;
        // the newer one covers the same keys, so keep only descriptors no newer one overlaps.
        List<RangeDescriptor> all = new ArrayList<>(newest.values());
        List<RangeDescriptor> current = new ArrayList<>();
        for (RangeDescriptor r : all) {
            boolean superseded = all.stream().anyMatch(o -> o != r && o.getEpoch() > r.getEpoch() && RouteTable.overlaps(o, r));
            if (!superseded) {
                current.add(r);
            }
        }
        current.sort(Comparator.comparing(RangeDescriptor::getStartKey, ByteString.unsignedLexicographicalComparator()));
        return current;
    }

    /** {gaps, overlaps} of ranges sorted by start key against the whole key space. */
    private static long[] tiling(List<RangeDescriptor> ranges) {
        long gaps = 0;
        long overlaps = 0;
        ByteString expected = ByteString.EMPTY;
        for (RangeDescriptor r : ranges) {
            int c = KeySpace.compare(r.getStartKey(), expected);
            if (c > 0) {
                gaps++;
            } else if (c < 0) {
                overlaps++;
            }
            expected = r.getEndKey();
            if (expected.isEmpty()) {
                break;
            }
        }
        if (!expected.isEmpty()) {
            gaps++;
        }
        return new long[] {gaps, overlaps};
    }

    /** Puts and compare-and-sets on this writer's own keys, remembering what was acknowledged. */
    private void write(BlockingFlotillaClient client, int writer, AtomicBoolean stop) {
        SplittableRandom random = new SplittableRandom(SEED + writer);
        int n = 0;
        while (!stop.get()) {
            String k = key(writer, random.nextInt(KEYS_PER_WRITER));
            KeyHistory h = histories.computeIfAbsent(k, x -> new KeyHistory());
            String value = writer + "-" + (++n);
            h.written.add(value);
            try {
                if (random.nextInt(4) == 0 && h.acked != null && h.unknown.isEmpty()) {
                    CasResult r = client.compareAndSet(utf8(k), utf8(h.acked), utf8(value));
                    if (r.succeeded()) {
                        h.acked = value;
                        acknowledged.incrementAndGet();
                    } else {
                        // Only this writer writes the key and nothing of it is in doubt: a CAS on
                        // the last acknowledged value cannot fail.
                        illegal.incrementAndGet();
                        problems.add("CAS on " + k + " expected " + h.acked + " found "
                                + (r.currentValue() == null ? "nothing" : new String(r.currentValue(), StandardCharsets.UTF_8)));
                    }
                } else {
                    client.put(utf8(k), utf8(value));
                    h.acked = value;
                    acknowledged.incrementAndGet();
                    h.unknown.clear();
                }
            } catch (FlotillaException e) {
                h.unknown.add(value);
            }
        }
    }

    /** Whole-key-space scans across ranges, page by page, while the ranges split. */
    private void scan(BlockingFlotillaClient client, AtomicBoolean stop) {
        while (!stop.get()) {
            Set<String> ackedBefore = new java.util.HashSet<>();
            histories.forEach((k, h) -> {
                if (h.acked != null) {
                    ackedBefore.add(k);
                }
            });
            List<String> seen = new ArrayList<>();
            byte[] from = new byte[0];
            try {
                while (true) {
                    ScanResult page = client.scan(from, new byte[0], 17);
                    for (ScanEntry e : page.entries()) {
                        seen.add(new String(e.key(), StandardCharsets.UTF_8));
                    }
                    if (!page.hasMore()) {
                        break;
                    }
                    from = page.continuation();
                }
            } catch (FlotillaException e) {
                continue; // a scan that gave up proves nothing either way
            }
            for (int i = 1; i < seen.size(); i++) {
                if (seen.get(i - 1).compareTo(seen.get(i)) >= 0) {
                    illegal.incrementAndGet();
                    problems.add("scan out of order or repeated: " + seen.get(i - 1) + " then " + seen.get(i));
                }
            }
            Set<String> got = new java.util.HashSet<>(seen);
            for (String k : ackedBefore) {
                if (!got.contains(k)) {
                    illegal.incrementAndGet();
                    problems.add("scan missed " + k + ", acknowledged before the scan began");
                }
            }
            scans.incrementAndGet();
        }
    }

    /** Reads every key through the client that cached the routes of before the splits; returns how many lost a write. */
    private long verify(BlockingFlotillaClient client) {
        long lost = 0;
        for (Map.Entry<String, KeyHistory> e : histories.entrySet()) {
            KeyHistory h = e.getValue();
            byte[] v = client.get(utf8(e.getKey()));
            String value = v == null ? null : new String(v, StandardCharsets.UTF_8);
            if (value == null ? h.acked != null : !value.equals(h.acked) && !h.unknown.contains(value)) {
                if (value != null && !h.written.contains(value)) {
                    illegal.incrementAndGet();
                    problems.add(e.getKey() + " holds " + value + ", which nobody wrote");
                } else {
                    lost++;
                    problems.add(e.getKey() + " holds " + value + ", not its last acknowledged " + h.acked);
                }
            }
        }
        return lost;
    }
}
