package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.engine.service.KnownMetaRange;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.RouteSource;
import io.flotilla.router.MetaRange;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's once-a-second look at the meta range, on a thread of its own: joins the ranges it should
 * hold a replica of and does not ({@link MissingReplicas}), forgets the joining replicas that hold
 * state now ({@link JoiningReplicas}), drops the replicas of ranges that removed it
 * ({@link RemovedReplicas}), learns the nodes added to the cluster ({@link ClusterMembers}), and
 * applies the cluster's snapshot rate limit.
 * It reads the meta range from this node's replica of it, or else through a client from the meta
 * range's replicas in turn — every round only when a round needs it (missing replicas), otherwise
 * every {@link #REMOTE_META_ROUNDS}th round. The meta range's replicas are those of the newest
 * descriptor of it known ({@link KnownMetaRange}), which every answer updates: the meta range
 * moves too. A node holding a replica of it asks another replica as often, only to learn that
 * descriptor: a replica that was removed never hears of its removal otherwise, and its own copy
 * would go on naming it.
 */
final class MetaRounds implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetaRounds.class);
    static final long ROUND_MS = 1_000;
    /** Without a replica of the meta range here, how many rounds between reads of it. */
    private static final int REMOTE_META_ROUNDS = 5;

    private final long nodeId;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    private final ClusterDirectory directory;
    private final KnownMetaRange knownMeta;
    private final MissingReplicas missing;
    private final JoiningReplicas joining;
    private final RemovedReplicas removed;
    private final ClusterMembers members;
    /** Told the cluster's settings each time they are read (the snapshot rate limit). */
    private final Consumer<ClusterSettings> settings;
    private final RoundLoop loop;
    private int next;
    private long rounds;

    MetaRounds(long nodeId, KvStateMachine stateMachine, FlotillaClient client, ClusterDirectory directory,
            KnownMetaRange knownMeta,
            MissingReplicas missing, JoiningReplicas joining, RemovedReplicas removed, ClusterMembers members,
            Consumer<ClusterSettings> settings) {
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.client = client;
        this.directory = directory;
        this.knownMeta = knownMeta;
        this.missing = missing;
        this.joining = joining;
        this.removed = removed;
        this.members = members;
        this.settings = settings;
        this.loop = new RoundLoop("flotilla-meta-rounds-" + nodeId, ROUND_MS, this::round, e -> LOG.warn(
                "node {}: a round of looking at the meta range failed; trying again in {} ms", nodeId, ROUND_MS, e));
    }

    void start() {
        loop.start();
    }

    private void round() {
        missing.round(() -> byId(read()));
        joining.forgetFilled();
        boolean remoteRound = rounds++ % REMOTE_META_ROUNDS == 0;
        if (holdsMeta() || remoteRound) {
            if (holdsMeta() && remoteRound) {
                readRemotely(); // for the newest descriptor of the meta range only
            }
            RouteLookupResponse meta = read();
            Map<Long, RangeDescriptor> recorded = byId(meta);
            missing.joinListed(recorded);
            recorded.put(MetaRange.ID, knownMeta.get());
            removed.round(recorded);
            members.learn(meta.getNodesList());
            if (meta.hasSettings()) {
                settings.accept(meta.getSettings());
            }
        }
    }

    private boolean holdsMeta() {
        return stateMachine.descriptor(MetaRange.ID) != null;
    }

    /** What the meta range records (descriptors; added nodes as {@code nodes}): from the replica here, else asked. */
    private RouteLookupResponse read() {
        RangeDescriptor held = stateMachine.descriptor(MetaRange.ID);
        if (held != null) {
            knownMeta.learn(held);
            return RouteLookupResponse.newBuilder().addAllRanges(stateMachine.recordedRanges())
                    .addAllNodes(stateMachine.recordedMembers()).setSettings(stateMachine.recordedSettings()).build();
        }
        return readRemotely();
    }

    /**
     * Asks the next of the other replicas of the meta range (as last known) for what it records; an
     * empty answer if it did not answer or holds no replica of it any more (it answered with the
     * ranges it hosts only, but named the replicas it knows of, asked next).
     */
    private RouteLookupResponse readRemotely() {
        List<String> addresses = new ArrayList<>();
        for (ReplicaDescriptor replica : knownMeta.get().getReplicasList()) {
            NodeAddress a = directory.address(replica.getNodeId());
            if (replica.getNodeId() != nodeId && a != null) {
                addresses.add(a.getHost() + ":" + a.getClientPort());
            }
        }
        if (addresses.isEmpty()) {
            return RouteLookupResponse.getDefaultInstance();
        }
        String address = addresses.get(Math.floorMod(next++, addresses.size()));
        try {
            RouteLookupResponse answer = client.routeLookup(address).get(10, TimeUnit.SECONDS);
            if (answer.hasMetaRange()) {
                knownMeta.learn(answer.getMetaRange());
            }
            return answer.getSource() == RouteSource.HOSTED_ONLY ? RouteLookupResponse.getDefaultInstance() : answer;
        } catch (ExecutionException | TimeoutException e) {
            LOG.debug("node {}: route lookup at {} failed", nodeId, address, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return RouteLookupResponse.getDefaultInstance();
    }

    private static Map<Long, RangeDescriptor> byId(RouteLookupResponse meta) {
        Map<Long, RangeDescriptor> byId = new HashMap<>();
        for (RangeDescriptor range : meta.getRangesList()) {
            byId.put(range.getRangeId(), range);
        }
        return byId;
    }

    @Override
    public void close() {
        loop.close();
    }
}
