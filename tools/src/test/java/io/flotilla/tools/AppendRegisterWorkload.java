package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.check.CheckResult;
import io.flotilla.check.LinearizabilityChecker;
import io.flotilla.check.Operation;
import io.flotilla.client.CasResult;
import io.flotilla.client.FlotillaClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;

/**
 * The checked workload of the cluster tests that break things (kills, moves): two kinds of clients
 * side by side, through the Java client.
 *
 * <p>Appenders: each owns one key whose value is the list of its appended numbers ({@code "1;2;3;"}),
 * extended by compare-and-set from the value it last saw, so a lost write shows as a missing number.
 * A write applied twice shows too: the second apply of a compare-and-set fails its condition, so a
 * session that failed to deduplicate a retry answers "failed, the current value is exactly what you
 * wrote"; every such answer counts as a duplicate. Registers: clients put, compare-and-set and read
 * a few shared keys with unique values, checked by the project's linearizability checker (unknown
 * outcomes included). Any call that fails is a client error (its outcome unknown), counted.
 */
final class AppendRegisterWorkload {
    private final int appenders;
    private final int registerClients;
    private final int registers;
    private final IntFunction<String> appendKey;
    private final IntFunction<String> registerKey;
    private volatile boolean stop;
    private final List<Operation> history = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong duplicated = new AtomicLong();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    /** Client errors by their cause's type and message, so a check can say what failed. */
    private final Map<String, Long> errorCauses = new ConcurrentHashMap<>();
    private final List<Set<Long>> ackedByAppender = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    /** What the workload found once stopped. */
    record Result(long acked, long lost, long duplicated, long errors, Map<String, Long> errorCauses,
            CheckResult linearizable) {
        /** One indented line per cause of the client errors, most frequent first; empty if none. */
        String errorReport() {
            StringBuilder b = new StringBuilder();
            errorCauses.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> b.append("  ").append(e.getValue()).append(" x ").append(e.getKey()).append('\n'));
            return b.toString();
        }
    }

    AppendRegisterWorkload(int appenders, int registerClients, int registers, IntFunction<String> appendKey,
            IntFunction<String> registerKey) {
        this.appenders = appenders;
        this.registerClients = registerClients;
        this.registers = registers;
        this.appendKey = appendKey;
        this.registerKey = registerKey;
    }

    void start(FlotillaClient client) {
        for (int a = 0; a < appenders; a++) {
            Set<Long> mine = Collections.synchronizedSet(new HashSet<>());
            ackedByAppender.add(mine);
            int id = a;
            threads.add(started("appender-" + a, () -> append(client, id, mine)));
        }
        for (int c = 0; c < registerClients; c++) {
            int id = c;
            threads.add(started("registers-" + c, () -> registers(client, id)));
        }
    }

    long acked() {
        return acked.get();
    }

    /** Waits until the workload has acknowledged {@code more} writes beyond those so far. */
    void awaitAcknowledged(long more) {
        long target = acked.get() + more;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (acked.get() < target) {
            assertThat(System.nanoTime()).as("%d more writes acknowledged within 60 s (%d so far)", more, acked.get())
                    .isLessThan(deadline);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    /** Stops the clients, reads every appender's key, and checks the histories. */
    Result stopAndCheck(FlotillaClient client) throws InterruptedException {
        stop = true;
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
        }
        long lost = 0;
        for (int a = 0; a < appenders; a++) {
            List<Long> present = parse(readUntilAnswered(client, appendKey.apply(a)));
            Set<Long> seen = new HashSet<>();
            for (long n : present) {
                if (!seen.add(n)) {
                    duplicated.incrementAndGet();
                }
            }
            for (long n : ackedByAppender.get(a)) {
                if (!seen.contains(n)) {
                    lost++;
                }
            }
        }
        return new Result(acked.get(), lost, duplicated.get(), errors.get(), new TreeMap<>(errorCauses),
                LinearizabilityChecker.check(new ArrayList<>(history)));
    }

    /** One appender: extends its key's list with 1, 2, 3, ... by compare-and-set, until told to stop. */
    private void append(FlotillaClient client, int id, Set<Long> ackedNumbers) {
        byte[] key = bytes(appendKey.apply(id));
        String current = "";
        boolean currentKnown = true;
        for (long n = 1; !stop; n++) {
            while (!stop) {
                if (!currentKnown) {
                    String read = readOnce(client, appendKey.apply(id));
                    if (read == null) {
                        continue;
                    }
                    current = read.equals("\0") ? "" : read;
                    currentKnown = true;
                    if (parse(current).contains(n)) {
                        break; // an attempt whose outcome was unknown did apply
                    }
                }
                String next = current + n + ";";
                try {
                    CasResult r = client.compareAndSet(key, current.isEmpty() ? null : bytes(current), bytes(next)).join();
                    if (r.succeeded()) {
                        ackedNumbers.add(n);
                        acked.incrementAndGet();
                        current = next;
                        break;
                    }
                    String now = r.currentValue() == null ? "" : new String(r.currentValue(), StandardCharsets.UTF_8);
                    if (now.equals(next)) {
                        // This very call's write is there, yet the call says its condition failed:
                        // the write was applied, then applied again by a retry that was not deduplicated.
                        duplicated.incrementAndGet();
                        ackedNumbers.add(n);
                        acked.incrementAndGet();
                    }
                    current = now;
                    if (parse(now).contains(n)) {
                        break;
                    }
                } catch (RuntimeException unknownOutcome) {
                    failed(unknownOutcome);
                    currentKnown = false;
                }
            }
        }
    }

    /** One register client: random puts, compare-and-sets and reads of a few shared keys. */
    private void registers(FlotillaClient client, int id) {
        SplittableRandom random = new SplittableRandom(id);
        for (int i = 0; !stop; i++) {
            String key = registerKey.apply(random.nextInt(registers));
            String value = "c" + id + "-" + i;
            int kind = random.nextInt(3);
            String expected = kind == 2 ? "c" + random.nextInt(registerClients) + "-" + random.nextInt(Math.max(1, i)) : null;
            long call = System.nanoTime();
            try {
                if (kind == 0) {
                    client.put(bytes(key), bytes(value)).join();
                    history.add(Operation.write(id, key, value, call, System.nanoTime()));
                } else if (kind == 1) {
                    byte[] got = client.get(bytes(key)).join();
                    history.add(Operation.read(id, key, got == null ? null : new String(got, StandardCharsets.UTF_8), call,
                            System.nanoTime()));
                } else {
                    CasResult r = client.compareAndSet(bytes(key), bytes(expected), bytes(value)).join();
                    history.add(Operation.cas(id, key, expected, value, r.succeeded(), call, System.nanoTime()));
                }
            } catch (RuntimeException unknownOutcome) {
                failed(unknownOutcome);
                // A failed read constrains nothing; a failed write may still apply at any later time.
                if (kind == 0) {
                    history.add(Operation.unknownWrite(id, key, value, call));
                } else if (kind == 2) {
                    history.add(Operation.unknownCas(id, key, expected, value, call));
                }
            }
        }
    }

    /** Counts a call that failed, by the type and message of its innermost cause. */
    private void failed(RuntimeException e) {
        errors.incrementAndGet();
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = String.valueOf(cause.getMessage());
        String what = cause.getClass().getSimpleName() + ": " + (message.length() > 400 ? message.substring(0, 400) + "..." : message);
        errorCauses.merge(what, 1L, Long::sum);
    }

    private static Thread started(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.start();
        return t;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Long> parse(String list) {
        List<Long> numbers = new ArrayList<>();
        for (String part : list.split(";")) {
            if (!part.isEmpty()) {
                numbers.add(Long.parseLong(part));
            }
        }
        return numbers;
    }

    /** The key's value ("\0" if absent), or null if the read failed. */
    private static String readOnce(FlotillaClient client, String key) {
        try {
            byte[] v = client.get(bytes(key)).join();
            return v == null ? "\0" : new String(v, StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String readUntilAnswered(FlotillaClient client, String key) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String v = readOnce(client, key);
            if (v != null) {
                return v.equals("\0") ? "" : v;
            }
        }
        throw new AssertionError("no read of " + key + " succeeded within 60 s after the workload");
    }
}
