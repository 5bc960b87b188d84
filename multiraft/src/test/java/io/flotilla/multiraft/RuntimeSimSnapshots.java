package io.flotilla.multiraft;

import io.flotilla.transport.snapshot.SnapshotRetention;
import io.flotilla.transport.snapshot.SnapshotSender;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One simulated node's snapshot channel, across its incarnations (a {@link SnapshotChannel} in
 * place of the socket-and-file {@link SnapshotStreams}). Images live in memory. A transfer ends
 * after a seeded delay on the simulation's scheduler: it fails if the image was withdrawn, if the
 * follower is down or cut off by a partition at its start or end, and now and then for no reason
 * (a broken connection); otherwise the whole image lands in the follower's received images. The
 * outcome reaches the leader's runtime through {@link MultiRaftNode#snapshotSent}, as the real
 * channel's I/O thread reports it; a transfer whose leader crashed or closed meanwhile reports
 * nothing. Received images are named as {@code FileSnapshotSink} names its files, under a path
 * that exists only here: the state machine reads an image by that path from {@link #image}.
 * Finished images survive a crash (a sink renames a finished image into place durably); a transfer
 * still running has left nothing behind. Owned by the seed's thread.
 */
final class RuntimeSimSnapshots implements SnapshotChannel {
    private static final Pattern RECEIVED = Pattern.compile("snapshot-g(\\d+)-i(\\d+)-t(\\d+)\\.snap");
    /** Transfers queued or running at once per sending node, as {@code SnapshotConfig.maxQueuedSends} bounds them. */
    private static final int MAX_TRANSFERS = 4;

    private record Key(long groupId, long index, long term) {
    }

    private record Transfer(long peer, long groupId) {
    }

    private final RuntimeSimCluster cluster;
    private final long nodeId;
    private final SplittableRandom random;
    private final Path directory;
    /** Finished received images by file name: what a restart finds. */
    private final TreeMap<String, byte[]> received = new TreeMap<>();
    /** This incarnation's published images. */
    private final PublishedImages published = new PublishedImages();
    private final Set<Transfer> running = new HashSet<>();
    private MultiRaftNode runtime;
    private boolean faulty = true;
    long transfersStarted;
    long transfersFailed;
    long imagesReceived;

    RuntimeSimSnapshots(RuntimeSimCluster cluster, long nodeId, SplittableRandom random) {
        this.cluster = cluster;
        this.nodeId = nodeId;
        this.random = random;
        this.directory = Path.of("/sim/node-" + nodeId + "/snapshots");
    }

    /** The incarnation ended (crash or close): its images and transfers go; received images stay. */
    void reset() {
        runtime = null;
        published.forgetAll();
        running.clear();
    }

    /** No more transfers failing for no reason (the final quiet period); down and cut-off followers still fail them. */
    void stopFaults() {
        faulty = false;
    }

    /** The bytes of a received image {@link #receivedImage} named; the state machine's restore reads them. */
    byte[] image(Path path) {
        byte[] bytes = path.getParent().equals(directory) ? received.get(path.getFileName().toString()) : null;
        if (bytes == null) {
            throw new UncheckedIOException(new IOException("no received snapshot image " + path + " on node " + nodeId));
        }
        return bytes;
    }

    int receivedImages() {
        return received.size();
    }

    @Override
    public void attach(MultiRaftNode node) {
        this.runtime = node;
    }

    @Override
    public void publish(OutgoingImage image) {
        published.publish(image);
    }

    @Override
    public void withdraw(OutgoingImage image) {
        published.withdraw(image);
    }

    @Override
    public SnapshotSender.SendResult send(long peerNodeId, OutgoingImage image) {
        Transfer t = new Transfer(peerNodeId, image.groupId);
        if (running.contains(t)) {
            return SnapshotSender.SendResult.ALREADY_QUEUED;
        }
        if (running.size() >= MAX_TRANSFERS) {
            return SnapshotSender.SendResult.QUEUE_FULL;
        }
        running.add(t);
        transfersStarted++;
        MultiRaftNode sender = runtime;
        Key key = new Key(image.groupId, image.index, image.term);
        boolean reachable = reachable(peerNodeId);
        // A follower that is down or cut off refuses the connection at once; otherwise the image
        // streams for a while, sometimes for longer than an election timeout.
        long delayNs = !reachable ? 1_000_000 + random.nextLong(5_000_000)
                : random.nextInt(10) == 0 ? random.nextLong(2 * cluster.config().electionTimeoutNs())
                : 500_000 + random.nextLong(20_000_000);
        boolean breaks = !reachable || (faulty && random.nextInt(10) == 0);
        cluster.scheduler().after(delayNs, () -> end(sender, t, key, breaks));
        return SnapshotSender.SendResult.QUEUED;
    }

    private boolean reachable(long peer) {
        return peer >= 1 && peer <= cluster.config().totalNodes() && cluster.node(peer).up()
                && cluster.network().connected(nodeId, peer);
    }

    private void end(MultiRaftNode sender, Transfer t, Key key, boolean breaks) {
        if (sender != runtime || sender == null) {
            return; // the sending incarnation is gone, and its transfers with it
        }
        running.remove(t);
        OutgoingImage image = published.get(key.groupId(), key.index(), key.term());
        boolean ok = !breaks && image != null && reachable(t.peer());
        if (ok) {
            cluster.node(t.peer()).snapshots().receive(key, read(image));
        } else {
            transfersFailed++;
        }
        cluster.trace("node " + nodeId + " snapshot of group " + key.groupId() + " at " + key.index() + " to node "
                + t.peer() + (ok ? " arrived" : " failed"));
        sender.snapshotSent(t.peer(), key.groupId(), key.index(), ok);
    }

    private static byte[] read(OutgoingImage image) {
        ByteBuffer b = ByteBuffer.allocate((int) image.reader.totalBytes());
        try {
            image.reader.read(0, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.array();
    }

    private void receive(Key key, byte[] bytes) {
        received.put(name(key.groupId(), key.index(), key.term()), bytes);
        imagesReceived++;
    }

    private static String name(long groupId, long index, long term) {
        return "snapshot-g" + groupId + "-i" + index + "-t" + term + ".snap";
    }

    @Override
    public Path receivedImage(long groupId, long index, long term) {
        String name = name(groupId, index, term);
        return received.containsKey(name) ? directory.resolve(name) : null;
    }

    @Override
    public void deleteReceived(long groupId, long index, boolean inclusive) {
        for (Iterator<String> it = received.keySet().iterator(); it.hasNext(); ) {
            Matcher m = RECEIVED.matcher(it.next());
            if (m.matches() && Long.parseLong(m.group(1)) == groupId) {
                long i = Long.parseLong(m.group(2));
                if (i < index || (inclusive && i == index)) {
                    it.remove();
                }
            }
        }
    }

    /** The sweep runs a little later, as on the receiver's I/O thread; a crash before it cancels it. */
    @Override
    public CompletableFuture<SnapshotRetention.Swept> retainReceived(SnapshotRetention retention) {
        CompletableFuture<SnapshotRetention.Swept> done = new CompletableFuture<>();
        MultiRaftNode asked = runtime;
        cluster.scheduler().after(random.nextLong(2_000_000), () -> {
            if (asked != runtime || asked == null) {
                return;
            }
            int deleted = 0;
            long bytes = 0;
            for (Iterator<Map.Entry<String, byte[]>> it = received.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, byte[]> e = it.next();
                Matcher m = RECEIVED.matcher(e.getKey());
                if (m.matches() && !retention.needs(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))) {
                    deleted++;
                    bytes += e.getValue().length;
                    it.remove();
                }
            }
            done.complete(new SnapshotRetention.Swept(0, 0, deleted, bytes));
        });
        return done;
    }
}
