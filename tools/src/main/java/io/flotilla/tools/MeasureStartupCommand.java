package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.NodeStatusResponse;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flotilla measure-startup}: the startup figures of the README. Bootstraps a new local
 * 3-node cluster with many ranges and times it until every range has a leader; loads it with data
 * spread evenly over the ranges; then restarts one node after a graceful stop and after SIGKILL,
 * and times each restart until the node serves and its replicas have caught up. Prints a table.
 * Uses its own data directory (deleted afterwards unless {@code --keep}).
 */
@Command(name = "measure-startup", mixinStandardHelpOptions = true,
        description = {"Measures how long a cluster with many ranges takes to start and to restart.",
                "Bootstraps a new 3-node cluster (1,024 ranges), loads it, restarts one node after SIGTERM and",
                "after SIGKILL, and prints a table. Uses its own scratch directory and ports."})
final class MeasureStartupCommand implements Callable<Integer> {
    private static final Pattern STARTED = Pattern.compile("started in (\\d+) ms");

    @Option(names = "--data-dir", defaultValue = "flotilla-startup-data", description = "scratch directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--ranges", defaultValue = "1024", description = "ranges of the cluster (default: ${DEFAULT-VALUE})")
    int ranges;

    @Option(names = "--load-mib", defaultValue = "1024", description = "data to load before the restarts, MiB (default: ${DEFAULT-VALUE})")
    int loadMib;

    @Option(names = "--value-kib", defaultValue = "128", description = "size of each value loaded, KiB (default: ${DEFAULT-VALUE})")
    int valueKib;

    @Option(names = "--base-port", defaultValue = "7300", description = "ports start here (default: ${DEFAULT-VALUE})")
    int basePort;

    @Option(names = "--keep", description = "keep the data directory and leave the cluster running")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(dataDir)) {
            System.err.println("flotilla measure-startup: " + dataDir + " exists; give a new --data-dir (it is deleted afterwards)");
            return FlotillaCli.EXIT_USAGE;
        }
        LocalClusterLayout layout = new LocalClusterLayout(dataDir, 3, basePort, 4711, ranges);
        layout.save();
        PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
        LocalClusterProcesses processes = new LocalClusterProcesses(layout, quiet);
        Table results = new Table("what", "time", "detail");
        try (FlotillaClient client = FlotillaClient.builder().seeds(layout.clientAddresses().toArray(String[]::new))
                .clusterId(layout.clusterId()).requestTimeout(Duration.ofSeconds(30)).build()) {
            long t0 = System.nanoTime();
            processes.start(120_000);
            long serving = System.nanoTime();
            awaitLeaders(client, layout, ranges);
            long led = System.nanoTime();
            results.row("bootstrap " + ranges + " ranges, 3 nodes: all serving", ms(serving - t0), "processes started to client ports open");
            results.row("bootstrap " + ranges + " ranges, 3 nodes: every range led", ms(led - t0), "");

            long loadStart = System.nanoTime();
            long bytes = load(client, (long) loadMib << 20, valueKib << 10);
            double loadS = (System.nanoTime() - loadStart) / 1e9;
            results.row("load", String.format("%.1f s", loadS), String.format("%,d MiB in %,d-KiB values over every range (%.1f MiB/s)",
                    bytes >> 20, valueKib, (bytes >> 20) / loadS));
            long rocksBytes = directoryBytes(layout.nodeDir(3).resolve("rocksdb"));
            long walBytes = directoryBytes(layout.nodeDir(3).resolve("wal"));

            for (boolean kill : new boolean[] {false, true}) {
                Optional<ProcessHandle> node = processes.running(3);
                long stopStart = System.nanoTime();
                if (kill) {
                    node.orElseThrow().destroyForcibly();
                } else {
                    node.orElseThrow().destroy();
                }
                node.get().onExit().get(60, TimeUnit.SECONDS);
                long stopped = System.nanoTime();
                long restartStart = System.nanoTime();
                processes.start(120_000);
                long open = System.nanoTime();
                awaitCaughtUp(client, layout);
                long caughtUp = System.nanoTime();
                String how = kill ? "after SIGKILL" : "after SIGTERM (" + ms(stopped - stopStart) + " to stop)";
                results.row("restart node 3 " + how + ": serving", ms(open - restartStart), "node's own figure: " + lastStartup(layout));
                results.row("restart node 3 " + how + ": caught up", ms(caughtUp - restartStart), "its replicas within 10 entries of the others");
            }
            System.out.printf("node 3 holds %,d MiB in RocksDB and %,d MiB of log%n", rocksBytes >> 20, walBytes >> 20);
            System.out.print(results.render());
        } finally {
            if (!keep) {
                processes.stop(30_000);
                deleteRecursively(dataDir);
            }
        }
        return 0;
    }

    private static long load(FlotillaClient client, long totalBytes, int valueBytes) throws Exception {
        byte[] value = new byte[valueBytes];
        new java.util.SplittableRandom(1).nextBytes(value); // incompressible, as real data may be
        long puts = totalBytes / valueBytes;
        Semaphore inFlight = new Semaphore(16);
        List<CompletableFuture<Void>> last = new ArrayList<>();
        for (long i = 0; i < puts; i++) {
            // Keys whose first two bytes walk the key space, so every range gets its share.
            int prefix = (int) ((i * 65_536 / puts) & 0xffff);
            byte[] suffix = String.format("load-%08d", i).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            byte[] key = new byte[2 + suffix.length];
            System.arraycopy(suffix, 0, key, 2, suffix.length);
            key[0] = (byte) (prefix >>> 8);
            key[1] = (byte) prefix;
            inFlight.acquire();
            CompletableFuture<Void> put = client.put(key, value).whenComplete((ok, e) -> inFlight.release());
            last.add(put);
            if (last.size() >= 64) {
                for (CompletableFuture<Void> f : last) {
                    f.join();
                }
                last.clear();
            }
        }
        for (CompletableFuture<Void> f : last) {
            f.join();
        }
        return puts * valueBytes;
    }

    private static void awaitLeaders(FlotillaClient client, LocalClusterLayout layout, int ranges) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            int leaders = 0;
            for (String address : layout.clientAddresses()) {
                try {
                    leaders += client.nodeStatus(address).get(5, TimeUnit.SECONDS).getLeaders();
                } catch (Exception notYet) {
                    // counted as no leaders
                }
            }
            if (leaders >= ranges) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IOException("not every range had a leader within 120 s");
    }

    /** Waits until node 3 reports every range and none trails the best replica by more than 10 entries. */
    private static void awaitCaughtUp(FlotillaClient client, LocalClusterLayout layout) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < deadline) {
            List<StatusCommand.NodeReport> reports = StatusCommand.collect(client, layout.clientAddresses(), 5_000);
            NodeStatusResponse three = reports.get(2).status();
            if (three != null && three.getRanges() == layout.initialRanges()
                    && StatusCommand.maxLag(reports, 2) <= 10) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IOException("node 3 did not catch up within 300 s");
    }

    private static String lastStartup(LocalClusterLayout layout) throws IOException {
        String found = "?";
        for (String line : Files.readAllLines(layout.logFile(3))) {
            Matcher m = STARTED.matcher(line);
            if (m.find()) {
                found = m.group(1) + " ms";
            }
        }
        return found;
    }

    private static String ms(long ns) {
        return String.format("%,d ms", TimeUnit.NANOSECONDS.toMillis(ns));
    }

    private static long directoryBytes(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
