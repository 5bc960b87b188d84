package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.rocks.RocksConfig;
import io.flotilla.engine.rocks.RocksKvStore;
import io.flotilla.engine.kv.SessionConfig;
import io.flotilla.engine.service.ClientServer;
import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.engine.service.KnownMetaRange;
import io.flotilla.engine.service.KvService;
import io.flotilla.engine.service.MoveSources;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.engine.service.RangeLoad;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.MetaRange;
import io.flotilla.multiraft.SnapshotStreams;
import io.flotilla.transport.snapshot.SnapshotSender;
import io.flotilla.multiraft.TransportPeerSender;
import io.flotilla.transport.PeerTransport;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalWriterConfig;
import io.flotilla.wal.WalRecoveryResult;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running storage node: its locked {@link DataDirectory}, the shared log ({@link Wal}), the
 * state machine, the multi-group runtime with its peer transport and snapshot channel, and the
 * client service ({@link KvService} behind a {@link ClientServer}). {@link #start} brings it up
 * (recovering everything from the data directory) and returns once it serves clients; {@link #close}
 * shuts it down gracefully. Start and close run on the owner's thread (close also from a shutdown
 * hook, at most once); the accessors from any thread.
 */
public final class FlotillaNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlotillaNode.class);
    /** How long startup waits for the log replay before serving anyway (requests then wait for the replay). */
    private static final long REPLAY_WAIT_MS = 120_000;
    /**
     * The node-wide cap on log entries cached in memory for replication. Each group may cache up to
     * 1 MiB; without a node-wide cap, 1,024 ranges loaded with 1 GiB ran two nodes out of a 1 GiB heap.
     */
    static final long LOG_CACHE_BYTES = 64L << 20;
    /** How long a bootstrap keeps spreading the new ranges' leaders over the nodes (see LeaderPlacement). */
    private static final long PLACEMENT_TIMEOUT_MS = 30_000;
    /** How long a rejoining node asks the other nodes for the cluster's ranges before giving up. */
    private static final long REJOIN_LOOKUP_MS = 30_000;

    private final NodeConfig config;
    private final DataDirectory directory;
    private final Wal wal;
    private final RocksKvStore store;
    private final KvStateMachine stateMachine;
    private final SnapshotStreams snapshots;
    private final MultiRaftNode runtime;
    private final PeerTransport transport;
    /** Null unless this start bootstrapped a new cluster's ranges. */
    private final LeaderPlacement placement;
    /** Null unless the node splits ranges on its own (its split policy enables it). */
    private final SplitTrigger splits;
    /** Records the ranges this node leads in the meta range. */
    private final MetaRecorder recorder;
    /** Joins the ranges this node should hold a replica of and does not. */
    private final MissingReplicas missing;
    /** The node's once-a-second look at the meta range (missing and removed replicas, added nodes). */
    private final MetaRounds metaRounds;
    /** Drives the replica moves the meta range records, while this node leads it. */
    private final MoveDriver moves;
    /** How this node's own threads reach the other nodes as a client does (the meta range, route lookups). */
    private final FlotillaClient cluster;
    private final NodeMetrics metrics;
    /** Null unless this node is rejoining its cluster with a new data directory. */
    private final Rejoin rejoin;
    private final KvService service;
    private final ClientServer clients;
    private final long startupMs;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    private FlotillaNode(NodeConfig config, DataDirectory directory, Wal wal, RocksKvStore store, KvStateMachine stateMachine,
            SnapshotStreams snapshots, MultiRaftNode runtime, PeerTransport transport, LeaderPlacement placement,
            SplitTrigger splits, MetaRecorder recorder, MissingReplicas missing, MetaRounds metaRounds, MoveDriver moves,
            FlotillaClient cluster,
            NodeMetrics metrics, Rejoin rejoin, KvService service, ClientServer clients, long startupMs) {
        this.config = config;
        this.directory = directory;
        this.wal = wal;
        this.store = store;
        this.stateMachine = stateMachine;
        this.snapshots = snapshots;
        this.runtime = runtime;
        this.transport = transport;
        this.placement = placement;
        this.splits = splits;
        this.recorder = recorder;
        this.missing = missing;
        this.metaRounds = metaRounds;
        this.moves = moves;
        this.cluster = cluster;
        this.metrics = metrics;
        this.rejoin = rejoin;
        this.service = service;
        this.clients = clients;
        this.startupMs = startupMs;
    }

    /**
     * Locks and recovers the data directory, joins the cluster and serves clients.
     *
     * @throws NodeLockedException   if another node holds the data directory
     * @throws NodeIdentityException if the directory belongs to another node or cluster
     * @throws IOException           if the log cannot be recovered or an address cannot be bound
     */
    public static FlotillaNode start(NodeConfig config) throws IOException {
        long startNs = System.nanoTime();
        long id = config.nodeId();
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            DataDirectory directory = DataDirectory.lock(config.dataDir());
            opened.push(directory);
            boolean newDirectory = directory.claim(id, config.clusterId(), config.join());
            if (config.join() && !directory.rejoining()) {
                LOG.info("node {}: --join ignored: data directory {} already belongs to this node", id, directory.root());
            }

            long logStartNs = System.nanoTime();
            WalConfig walConfig = WalConfig.of(directory.wal(), config.clusterId(), id);
            Wal wal = Wal.open(new NioWalFileSystem(), walConfig, WalWriterConfig.defaults(walConfig),
                    WalCacheConfig.defaults(), new WalCacheBudget(LOG_CACHE_BYTES));
            opened.push(wal);
            WalRecoveryResult recovery = wal.recovery();
            List<Long> recoveredGroups = wal.recoveredGroups();
            LOG.info("node {}: log recovered in {} ms: {} segments, {} records, {} groups{}", id, millisSince(logStartNs),
                    recovery.segmentSequences().size(), recovery.recordCount(), recoveredGroups.size(),
                    recovery.tornTail() ? " (a torn tail was cut off)" : "");

            KvLimits limits = KvLimits.defaults();
            long storeStartNs = System.nanoTime();
            RocksKvStore store = RocksKvStore.open(RocksConfig.defaults(directory.root()));
            opened.push(() -> closeStore(store));
            LOG.info("node {}: RocksDB opened in {} ms: {} ranges", id, millisSince(storeStartNs), store.groupCount());
            KvStateMachine stateMachine = new KvStateMachine(store, limits, SessionConfig.defaults());
            List<Long> unfinished = stateMachine.dropUnfinishedSplits();
            if (!unfinished.isEmpty()) {
                LOG.info("node {}: dropped the half-made state of ranges {} (a split the last run did not finish);"
                        + " their ranges' logs apply the splits again", id, unfinished);
            }
            RangeIds rangeIds = new RangeIds(directory, id);
            JoiningReplicas joining = new JoiningReplicas(directory, stateMachine);

            SnapshotStreams snapshots = SnapshotStreams.start(config.snapshotConfig(), directory.snapshots());
            opened.push(snapshots);
            TransportPeerSender sender = new TransportPeerSender();
            MultiRaftNode runtime = new MultiRaftNode(config.runtimeConfig(), wal, stateMachine, sender, snapshots);
            opened.push(runtime);
            PeerTransport transport = PeerTransport.start(config.transportConfig(), sender);
            opened.push(transport);
            sender.connect(transport, runtime);
            SplitStarter splitStarter = new SplitStarter(id, runtime);
            FlotillaClient cluster = clusterClient(config);
            opened.push(cluster);
            MetaRecorder recorder = new MetaRecorder(id, runtime, stateMachine, cluster);
            opened.push(recorder);
            MissingReplicas missing = new MissingReplicas(id, runtime, stateMachine);
            ClusterDirectory members = config.clusterDirectory();
            NodeMetrics metrics = new NodeMetrics(runtime, wal, snapshots, stateMachine, missing::joined);
            opened.push(metrics);
            stateMachine.onSplit((left, right) -> {
                splitStarter.onSplit(left, right);
                recorder.splitApplied(left, right);
                metrics.splitApplied();
            });
            for (ClusterMember peer : config.peers()) {
                snapshots.addPeer(peer.nodeId(), peer.snapshotAddress());
            }
            runtime.start();

            long replayStartNs = System.nanoTime();
            Map<Long, Long> appliedAtStart = new HashMap<>();
            Rejoin rejoin = null;
            List<RangeDescriptor> ranges;
            boolean bootstrapping = false;
            if (directory.rejoining()) {
                rejoin = Rejoin.connect(config, directory, stateMachine);
                opened.push(rejoin);
                ranges = RangeBootstrap.createRejoiningGroups(config, stateMachine, runtime,
                        rejoin.clusterRanges(REJOIN_LOOKUP_MS), recoveredGroups, joining.ids(), appliedAtStart);
            } else {
                bootstrapping = stateMachine.allRanges().isEmpty();
                ranges = RangeBootstrap.createGroups(config, stateMachine, runtime, recoveredGroups,
                        wal.recoveredTombstones()::contains, joining.ids(), newDirectory,
                        appliedAtStart);
            }
            LogReplay.Result replay = LogReplay.await(runtime, ranges, appliedAtStart, REPLAY_WAIT_MS);
            if (runtime.failure() != null) {
                throw new IOException("node " + id + " stopped while replaying its log: " + runtime.failure(),
                        runtime.failure());
            }
            LOG.info("node {}: {} ranges caught up with their logs in {} ms ({} entries applied){}", id, replay.ranges(),
                    millisSince(replayStartNs), replay.entries(), replay.complete() ? ""
                            : " (" + (replay.ranges() - replay.replayed()) + " ranges still replaying; they serve once done)");

            // A new cluster's ranges get their leaders at once and spread over the nodes, instead of
            // after an election timeout and mostly on the node that started first.
            LeaderPlacement placement = null;
            if (bootstrapping) {
                long electionTimeoutMs = (long) config.tickIntervalMs() * config.electionTimeoutTicks();
                placement = LeaderPlacement.start(id, runtime, transport, ranges, PLACEMENT_TIMEOUT_MS, electionTimeoutMs);
                opened.push(placement::stop);
            }

            RangeLoad load = new RangeLoad();
            Rejoin rejoinOrNull = rejoin;
            KnownMetaRange knownMeta = new KnownMetaRange(MetaRange.initialDescriptor(config.memberIds()));
            knownMeta.learn(stateMachine.descriptor(MetaRange.ID));
            MoveDriver moves = new MoveDriver(id, runtime, stateMachine, cluster, members,
                    System::currentTimeMillis, metrics::moveCompleted);
            opened.push(moves);
            KvService service = new KvService(id, config.clusterId(), config.defaultTimeoutMs(), runtime, wal, stateMachine,
                    limits, members, System::currentTimeMillis, rangeIds::next, load, metrics.service(), new MoveSources() {
                        @Override
                        public long[] snapshotProgress(long peerNodeId, long groupId) {
                            SnapshotSender.Progress p = snapshots.transferProgress(peerNodeId, groupId);
                            return p == null ? null : new long[] {p.ackedBytes(), p.totalBytes()};
                        }

                        @Override
                        public ListMovesResponse moves() {
                            return moves.list();
                        }

                        @Override
                        public void hosting(long groupId) {
                            joining.add(groupId);
                        }

                        @Override
                        public boolean rejoining() {
                            return rejoinOrNull != null && rejoinOrNull.rejoining();
                        }
                    }, knownMeta);
            SplitTrigger splits = null;
            if (config.splitPolicy().enabled()) {
                splits = new SplitTrigger(id, config.splitPolicy(), runtime, stateMachine, load, rangeIds::next,
                        System::currentTimeMillis);
                splits.start();
                opened.push(splits);
            }
            ClientServer clients = ClientServer.start(id, config.clientListen(), config.clientIoThreads(),
                    config.maxClientFrameBytes(), service);
            opened.push(clients);
            if (rejoin != null) {
                rejoin.start(ranges);
            }
            recorder.start();
            MetaRounds metaRounds = new MetaRounds(id, stateMachine, cluster, members, knownMeta, missing, joining,
                    new RemovedReplicas(id, runtime, stateMachine), new ClusterMembers(id, members, transport, snapshots),
                    settings -> snapshots.rateLimit(settings.getSnapshotSendBytesPerSecond()));
            opened.push(metaRounds);
            metaRounds.start();
            moves.start();
            if (config.metricsListen() != null) {
                StatusPage page = new StatusPage(id, config.clusterId(), members, runtime, stateMachine,
                        metrics::splitsApplied, missing::joined, moves::list);
                int port = metrics.serve(config.metricsListen(), page);
                LOG.info("node {}: metrics at http://{}:{}/metrics, status page at /", id,
                        config.metricsListen().getHostString(), port);
            }
            long startupMs = millisSince(startNs);
            LOG.info("node {}: started in {} ms; clients at {}, peers at {}, snapshots at {}", id, startupMs,
                    clients.localAddress(), transport.localAddress(), snapshots.localAddress());
            return new FlotillaNode(config, directory, wal, store, stateMachine, snapshots, runtime, transport, placement, splits,
                    recorder, missing, metaRounds, moves, cluster, metrics, rejoin, service, clients, startupMs);
        } catch (IOException | RuntimeException e) {
            closeAll(opened, e);
            throw e;
        }
    }

    /** A client seeded with every node of the cluster, this one included, for the node's own requests to the others. */
    private static FlotillaClient clusterClient(NodeConfig config) {
        List<String> seeds = new ArrayList<>();
        seeds.add(config.self().clientSeed());
        for (ClusterMember peer : config.peers()) {
            seeds.add(peer.clientSeed());
        }
        return FlotillaClient.builder().seeds(seeds.toArray(String[]::new)).clusterId(config.clusterId())
                .requestTimeout(Duration.ofSeconds(5)).build();
    }

    /**
     * Flushes every range's memtable before closing, so that the next start replays little of the
     * log (with RocksDB's own WAL off, a close without a flush loses nothing but costs replay).
     */
    private static void closeStore(RocksKvStore store) {
        try {
            store.flushAll();
        } finally {
            store.close();
        }
    }

    public NodeConfig config() {
        return config;
    }

    /** Where clients reach this node (the actual port if the configured one was 0). */
    public InetSocketAddress clientAddress() {
        return clients.localAddress();
    }

    public MultiRaftNode runtime() {
        return runtime;
    }

    public KvStateMachine stateMachine() {
        return stateMachine;
    }

    /**
     * Whether the leaders of a new cluster's ranges have been spread over the nodes (or this start
     * bootstrapped nothing): until then a range's leadership may still move to the node it prefers
     * (see LeaderPlacement), and a request may meet NotLeader or Busy, which clients retry. Any thread.
     */
    public boolean leadersPlaced() {
        return placement == null || placement.finished();
    }

    /**
     * Whether this node still rejoins its cluster ({@code --join}): some range has not yet made its
     * new replica here a voter holding the range's state. Any thread.
     */
    public boolean rejoining() {
        return rejoin != null && rejoin.rejoining();
    }

    /**
     * Replicas this node started after finding itself listed in a range it held no replica of (it
     * missed the split that made the range; see MissingReplicas). Any thread.
     */
    public long replicasJoinedAfterMissedSplits() {
        return missing.joined();
    }

    /** How long {@link #start} took, from locking the directory to serving clients. */
    public long startupMs() {
        return startupMs;
    }

    /** Why the runtime stopped itself (a failed log write, a broken invariant), or null while it works. */
    public Throwable failure() {
        return runtime.failure();
    }

    /** Blocks until {@link #close} has finished, or {@code timeoutMs} passed; true if closed. */
    public boolean awaitClosed(long timeoutMs) throws InterruptedException {
        return closed.await(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Graceful shutdown: new requests are answered Unavailable and no connection is accepted; the
     * ranges this node leads hand their leadership to other nodes (bounded by the config's
     * {@code shutdownHandoffMs}); then the runtime (which answers every request still pending), the
     * peer transport, the snapshot channel, the state machine (it flushes), the log, the client
     * connections and the directory lock are closed, in that order. Only the first call does it; a
     * concurrent call waits until it is done.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            // Another thread closes it (say the shutdown hook while the stdin watcher does): wait for
            // that, or the JVM could exit half way through.
            awaitQuietly();
            return;
        }
        long startNs = System.nanoTime();
        long id = config.nodeId();
        LOG.info("node {}: shutting down", id);
        try {
            service.stopServing();
            clients.stopAccepting();
            if (placement != null) {
                placement.stop();
            }
            if (splits != null) {
                splits.close();
            }
            recorder.close();
            metaRounds.close();
            moves.close();
            cluster.close();
            if (rejoin != null) {
                closeAll(new ArrayDeque<>(List.of(rejoin)), null);
            }
            if (runtime.failure() == null && config.shutdownHandoffMs() > 0) {
                LeadershipHandoff.run(id, runtime, transport, stateMachine.allRanges(), config.shutdownHandoffMs());
            }
            Deque<AutoCloseable> order = new ArrayDeque<>();
            // Pushed in reverse: the first pushed closes last.
            order.push(directory);
            order.push(metrics);
            order.push(clients);
            order.push(wal);
            order.push(() -> closeStore(store));
            order.push(snapshots);
            // The workers stop before the transport closes: a worker's last sends then never race the
            // transport's event loops shutting down (which Netty reports as a rejected task). Messages
            // that arrive meanwhile find stopped workers and are dropped, as they would be anyway.
            order.push(transport);
            order.push(runtime);
            closeAll(order, null);
            LOG.info("node {}: stopped in {} ms", id, millisSince(startNs));
        } finally {
            closed.countDown();
        }
    }

    private void awaitQuietly() {
        boolean interrupted = false;
        while (true) {
            try {
                closed.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes {@code resources} from the top of the stack; failures are logged (or added to {@code cause}). */
    private static void closeAll(Deque<AutoCloseable> resources, Throwable cause) {
        while (!resources.isEmpty()) {
            AutoCloseable r = resources.pop();
            try {
                r.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                if (cause != null) {
                    cause.addSuppressed(e);
                } else {
                    LOG.warn("closing {} failed", r, e);
                }
            }
        }
    }

    private static long millisSince(long startNs) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
    }
}
