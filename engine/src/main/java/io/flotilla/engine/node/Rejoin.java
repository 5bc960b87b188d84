package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.RejoinStep;
import io.flotilla.router.MetaRange;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node rejoining its cluster with an empty data directory ({@code --join}). Its old replicas
 * voted and acknowledged entries that its new, empty ones know nothing of; letting them take the
 * old ones' places could elect a leader without a committed entry. So each range replaces the old
 * replica with a new one by membership changes, driven from here and taken by the range's leader
 * ({@code RejoinService}): remove the old replica, add the new one as a learner, which asks for a
 * snapshot (RocksDB SST files) and installs it, then promote it. Until every range is done the data
 * directory stays marked ({@link DataDirectory#rejoining()}), so a restart goes on with the ranges
 * left; a range whose new replica holds state already restarts like any other.
 *
 * <p>Learns the ranges from the other nodes' status (it knows none itself), and talks to the
 * leaders through a {@link FlotillaClient} seeded with the other nodes. One thread, only while
 * rejoining, asks for every pending range's next step once per round.
 */
final class Rejoin implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Rejoin.class);
    /** Pause between rounds of requests. */
    private static final long ROUND_PAUSE_MS = 200;
    private static final long PROGRESS_LOG_MS = 5_000;

    private final NodeConfig config;
    private final DataDirectory directory;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    private Thread thread;
    private volatile boolean stopped;
    private volatile int pendingRanges = -1;

    private Rejoin(NodeConfig config, DataDirectory directory, KvStateMachine stateMachine, FlotillaClient client) {
        this.config = config;
        this.directory = directory;
        this.stateMachine = stateMachine;
        this.client = client;
    }

    static Rejoin connect(NodeConfig config, DataDirectory directory, KvStateMachine stateMachine) {
        String[] seeds = config.peers().stream().map(ClusterMember::clientSeed).toArray(String[]::new);
        FlotillaClient client = FlotillaClient.builder().seeds(seeds).clusterId(config.clusterId())
                .requestTimeout(Duration.ofSeconds(5)).build();
        return new Rejoin(config, directory, stateMachine, client);
    }

    /**
     * Every range the other nodes report, the newest descriptor of each (by epoch, then conf
     * version), asking them until one answers or {@code timeoutMs} passed.
     *
     * @throws IOException if no other node answered: a node rejoins only a cluster that is up
     */
    List<RangeDescriptor> clusterRanges(long timeoutMs) throws IOException {
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Map<Long, RangeDescriptor> newest = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        while (true) {
            problems.clear();
            for (ClusterMember peer : config.peers()) {
                String address = peer.clientSeed();
                try {
                    NodeStatusResponse status = client.nodeStatus(address).get(5, TimeUnit.SECONDS);
                    for (RangeStatus range : status.getRangeStatusList()) {
                        newest.merge(range.getRange().getRangeId(), range.getRange(), Rejoin::newer);
                    }
                } catch (ExecutionException | TimeoutException e) {
                    problems.add("node " + peer.nodeId() + " at " + address + ": " + (e.getCause() != null ? e.getCause() : e));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while asking the other nodes for their ranges", e);
                }
            }
            if (!newest.isEmpty()) {
                return new ArrayList<>(newest.values());
            }
            if (System.nanoTime() >= deadlineNs) {
                throw new IOException("node " + config.nodeId() + " was started with --join but no other node reported a"
                        + " range within " + timeoutMs + " ms (" + String.join("; ", problems) + "). A node rejoins a"
                        + " running cluster: start the other nodes first. To create a new cluster instead, start"
                        + " without --join on an empty data directory.");
            }
            sleep(ROUND_PAUSE_MS);
        }
    }

    private static RangeDescriptor newer(RangeDescriptor a, RangeDescriptor b) {
        if (a.getEpoch() != b.getEpoch()) {
            return a.getEpoch() > b.getEpoch() ? a : b;
        }
        return a.getConfVersion() >= b.getConfVersion() ? a : b;
    }

    /** Starts taking the rejoin steps of {@code ranges} in the background. */
    void start(List<RangeDescriptor> ranges) {
        thread = new Thread(() -> run(ranges), "flotilla-rejoin-" + config.nodeId());
        thread.setDaemon(true);
        thread.start();
    }

    /** Whether some range's new replica is not yet a voter holding state (true before the first round). Any thread. */
    boolean rejoining() {
        return pendingRanges != 0;
    }

    private void run(List<RangeDescriptor> ranges) {
        long startNs = System.nanoTime();
        long id = config.nodeId();
        Map<Long, RangeDescriptor> pending = new LinkedHashMap<>();
        for (RangeDescriptor r : ranges) {
            pending.put(r.getRangeId(), r);
        }
        LOG.info("node {}: rejoining {} ranges: each replaces this node's old replica with a new one that catches up"
                + " by snapshot", id, pending.size());
        long lastLogNs = System.nanoTime();
        Map<Long, RejoinStep> steps = new TreeMap<>();
        while (!stopped && !pending.isEmpty()) {
            pendingRanges = pending.size();
            steps.clear();
            List<CompletableFuture<Void>> round = new ArrayList<>();
            for (RangeDescriptor range : pending.values()) {
                long rangeId = range.getRangeId();
                long applied = stateMachine.appliedIndex(rangeId);
                CompletableFuture<RejoinStep> asked = MetaRange.isMeta(range) ? client.rejoinMetaReplica(id, applied)
                        : client.rejoinReplica(range.getStartKey().toByteArray(), id, applied);
                round.add(asked.handle((step, failure) -> {
                            if (step != null) {
                                synchronized (steps) {
                                    steps.put(rangeId, step);
                                }
                            }
                            return null;
                        }));
            }
            try {
                CompletableFuture.allOf(round.toArray(CompletableFuture[]::new)).get();
            } catch (InterruptedException e) {
                return;
            } catch (ExecutionException e) {
                throw new IllegalStateException(e); // handle() completes every future normally
            }
            steps.forEach((rangeId, step) -> {
                if (step == RejoinStep.DONE) {
                    pending.remove(rangeId);
                }
            });
            if (System.nanoTime() - lastLogNs > TimeUnit.MILLISECONDS.toNanos(PROGRESS_LOG_MS) && !pending.isEmpty()) {
                lastLogNs = System.nanoTime();
                LOG.info("node {}: rejoin: {} of {} ranges done; the others: {}", id, ranges.size() - pending.size(),
                        ranges.size(), census(steps, pending.size()));
            }
            if (!pending.isEmpty()) {
                sleep(ROUND_PAUSE_MS);
            }
        }
        pendingRanges = pending.size();
        if (pending.isEmpty()) {
            try {
                directory.rejoined();
                LOG.info("node {}: rejoined its cluster in {} s: every range holds its new replica as a voter", id,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startNs));
            } catch (IOException e) {
                LOG.error("node {}: every range rejoined, but the data directory's rejoin mark could not be removed;"
                        + " the next start checks each range again", id, e);
            }
        }
    }

    private static String census(Map<Long, RejoinStep> steps, int pending) {
        Map<RejoinStep, Integer> counts = new EnumMap<>(RejoinStep.class);
        steps.values().forEach(s -> counts.merge(s, 1, Integer::sum));
        counts.remove(RejoinStep.DONE);
        int answered = counts.values().stream().mapToInt(Integer::intValue).sum();
        return counts + (answered < pending ? ", " + (pending - answered) + " not answered (no leader reached yet)" : "");
    }

    private void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            stopped = true;
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the rejoin (it goes on at the next start) and closes the client. */
    @Override
    public void close() throws InterruptedException {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
            thread.join(10_000);
        }
        client.close();
    }
}
