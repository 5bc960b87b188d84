package io.flotilla.engine.node;

import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.multiraft.SnapshotStreams;
import io.flotilla.transport.PeerTransport;
import java.net.InetSocketAddress;
import java.util.Collection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns the nodes added to the cluster after this node was configured ({@code flotilla add-node}
 * records them in the meta range): each new one goes into the node's directory (route lookups,
 * leader hints, the balancer) and becomes a peer of the Raft transport and the snapshot channel,
 * so that ranges can place replicas on it. Any thread (one at a time: the meta rounds').
 */
final class ClusterMembers {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterMembers.class);

    private final long nodeId;
    private final ClusterDirectory directory;
    private final PeerTransport transport;
    private final SnapshotStreams snapshots;

    ClusterMembers(long nodeId, ClusterDirectory directory, PeerTransport transport, SnapshotStreams snapshots) {
        this.nodeId = nodeId;
        this.directory = directory;
        this.transport = transport;
        this.snapshots = snapshots;
    }

    /** Adds the nodes of {@code nodes} this node did not know (those with every address). */
    void learn(Collection<NodeAddress> nodes) {
        for (NodeAddress n : nodes) {
            if (n.getNodeId() == nodeId || n.getPeerPort() == 0 || n.getSnapshotPort() == 0 || n.getClientPort() == 0
                    || !directory.add(n)) {
                continue;
            }
            transport.addPeer(n.getNodeId(), new InetSocketAddress(n.getHost(), n.getPeerPort()));
            snapshots.addPeer(n.getNodeId(), new InetSocketAddress(n.getHost(), n.getSnapshotPort()));
            LOG.info("node {}: node {} joined the cluster (peers at {}:{}, snapshots at :{}, clients at :{})", nodeId,
                    n.getNodeId(), n.getHost(), n.getPeerPort(), n.getSnapshotPort(), n.getClientPort());
        }
    }
}
