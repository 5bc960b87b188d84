package io.flotilla.multiraft;

import io.flotilla.transport.snapshot.FileSnapshotSink;
import io.flotilla.transport.snapshot.SnapshotConfig;
import io.flotilla.transport.snapshot.SnapshotFailpoints;
import io.flotilla.transport.snapshot.SnapshotReceiver;
import io.flotilla.transport.snapshot.SnapshotSender;
import io.flotilla.transport.snapshot.SnapshotSource;
import io.flotilla.transport.snapshot.SnapshotStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node's snapshot channel as the runtime uses it. A leader whose follower needs entries its log
 * no longer holds captures an image of the group's state machine and streams it here (a
 * {@link SnapshotSender}); the Raft snapshot message follows over the peer transport only once the
 * image arrived whole, so a follower steps it only with the image on its disk. A follower receives
 * images into {@code directory} (a {@link SnapshotReceiver} over a {@link FileSnapshotSink}) and
 * keeps each one until its state machine holds the restored state durably: a crash between the
 * log's snapshot mark and the restore is repaired from it at restart.
 *
 * <p>Thread-safety: the I/O threads of the sender and receiver call in; workers publish and
 * withdraw images and query received files. The map of published images is the only shared state.
 */
public final class SnapshotStreams implements AutoCloseable {
    private static final Pattern RECEIVED = Pattern.compile("snapshot-g(\\d+)-i(\\d+)-t(\\d+)\\.snap");

    /** An image a worker captured for streaming. Its transfer count is touched only by that worker. */
    static final class OutgoingImage {
        final long groupId;
        final long index;
        final long term;
        final SnapshotSource.Reader reader;
        /** Transfers queued and not yet reported (worker thread). */
        int transfers;

        OutgoingImage(long groupId, long index, long term, SnapshotSource.Reader reader) {
            this.groupId = groupId;
            this.index = index;
            this.term = term;
            this.reader = reader;
        }
    }

    private record Key(long groupId, long index, long term) {
    }

    private final Path directory;
    private final FileSnapshotSink sink;
    private final SnapshotSender sender;
    private final SnapshotReceiver receiver;
    private final ConcurrentHashMap<Key, OutgoingImage> published = new ConcurrentHashMap<>();
    /** The nodes whose snapshots the receiver takes; read on its I/O thread at every handshake. */
    private final Set<Long> peers = ConcurrentHashMap.newKeySet();
    private volatile MultiRaftNode node;

    private SnapshotStreams(SnapshotConfig config, Path directory, SnapshotFailpoints failpoints) throws IOException {
        this.directory = directory;
        this.sink = new FileSnapshotSink(directory);
        this.sender = SnapshotSender.start(config, new PublishedImages(), this::onSent, failpoints);
        try {
            this.receiver = SnapshotReceiver.start(config, sink, (groupId, index, term) -> { }, peers::contains);
        } catch (IOException | RuntimeException e) {
            sender.close();
            throw e;
        }
    }

    /**
     * Starts the channel: the receiver listens on {@link SnapshotConfig#listenAddress}; received
     * images (and partial ones, resumed after a break or a restart) live in {@code directory}.
     */
    public static SnapshotStreams start(SnapshotConfig config, Path directory) throws IOException {
        return new SnapshotStreams(config, directory, new SnapshotFailpoints());
    }

    /** As {@link #start(SnapshotConfig, Path)}, with the sender's chunks passing through {@code failpoints} (tests). */
    public static SnapshotStreams start(SnapshotConfig config, Path directory, SnapshotFailpoints failpoints)
            throws IOException {
        return new SnapshotStreams(config, directory, failpoints);
    }

    /**
     * Makes {@code peerNodeId} a peer of this channel: this node streams images to its receiver at
     * {@code address} (a later call moves it there), and this node's receiver takes images from it.
     * The receiver refuses the handshake of any node not added here (logged and counted as
     * {@code SENDER_ID}), before anything reaches the disk. Any thread; called by whoever keeps the
     * node's peer set, alongside the peer transport's {@code addPeer}.
     */
    public void addPeer(long peerNodeId, InetSocketAddress address) {
        sender.addPeer(peerNodeId, address);
        peers.add(peerNodeId);
    }

    /**
     * Forgets a peer: its new handshakes are refused, its transfers in progress to this node are
     * closed and discarded, and this node's transfers to it fail at their next connection. Any
     * thread.
     */
    public void removePeer(long peerNodeId) {
        peers.remove(peerNodeId);
        sender.removePeer(peerNodeId);
        receiver.dropSender(peerNodeId);
    }

    public InetSocketAddress localAddress() {
        return receiver.localAddress();
    }

    public SnapshotStats senderStats() {
        return sender.stats();
    }

    public SnapshotStats receiverStats() {
        return receiver.stats();
    }

    /** The runtime whose workers hear how transfers ended. Called once, by its constructor. */
    void attach(MultiRaftNode runtime) {
        this.node = runtime;
    }

    // ---------------------------------------------------------------- sending (worker threads)

    /** Makes a captured image readable by the sender's I/O thread. */
    void publish(OutgoingImage image) {
        published.put(new Key(image.groupId, image.index, image.term), image);
    }

    /** Withdraws an image no transfer uses any more and releases it. */
    void withdraw(OutgoingImage image) {
        published.remove(new Key(image.groupId, image.index, image.term), image);
        image.reader.close();
    }

    /** Queues a transfer of a published image to {@code peerNodeId}; the outcome reaches the group's worker. */
    SnapshotSender.SendResult send(long peerNodeId, OutgoingImage image) {
        return sender.send(peerNodeId, image.groupId, image.index, image.term);
    }

    private void onSent(long peerNodeId, long groupId, long index, boolean ok) {
        MultiRaftNode runtime = node;
        if (runtime != null) {
            runtime.snapshotSent(peerNodeId, groupId, index, ok);
        }
    }

    /** The sender reads published images through views whose close is a no-op: the worker owns the image. */
    private final class PublishedImages implements SnapshotSource {
        @Override
        public Reader open(long groupId, long index, long term) {
            OutgoingImage image = published.get(new Key(groupId, index, term));
            if (image == null) {
                return null;
            }
            SnapshotSource.Reader r = image.reader;
            return new Reader() {
                @Override
                public long totalBytes() {
                    return r.totalBytes();
                }

                @Override
                public int checksum() {
                    return r.checksum();
                }

                @Override
                public void read(long offset, ByteBuffer dst) throws IOException {
                    r.read(offset, dst);
                }

                @Override
                public void close() {
                }
            };
        }
    }

    // ---------------------------------------------------------------- receiving (worker threads)

    /** The complete, verified image of the group's snapshot at index / term, or null if none arrived. */
    Path receivedImage(long groupId, long index, long term) {
        Path file = sink.snapshotFile(groupId, index, term);
        return Files.exists(file) ? file : null;
    }

    /**
     * Deletes the group's received images up to {@code index}, or below it if not {@code inclusive}:
     * older snapshots are never installed, and one the state machine holds durably is not needed.
     */
    void deleteReceived(long groupId, long index, boolean inclusive) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "snapshot-g" + groupId + "-*.snap")) {
            for (Path f : files) {
                Matcher m = RECEIVED.matcher(f.getFileName().toString());
                if (m.matches() && Long.parseLong(m.group(1)) == groupId) {
                    long i = Long.parseLong(m.group(2));
                    if (i < index || (inclusive && i == index)) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("deleting received snapshots of group " + groupId + " in " + directory, e);
        }
    }

    /** Stops both sides; partial received images stay for a later run to resume. */
    @Override
    public void close() {
        sender.close();
        receiver.close();
        for (OutgoingImage image : published.values()) {
            image.reader.close();
        }
        published.clear();
    }
}
