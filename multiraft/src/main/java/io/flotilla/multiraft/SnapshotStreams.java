package io.flotilla.multiraft;

import io.flotilla.transport.snapshot.FileSnapshotSink;
import io.flotilla.transport.snapshot.SnapshotConfig;
import io.flotilla.transport.snapshot.SnapshotFailpoints;
import io.flotilla.transport.snapshot.SnapshotObserver;
import io.flotilla.transport.snapshot.SnapshotReceiver;
import io.flotilla.transport.snapshot.SnapshotRetention;
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
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
 * <p>Bounds on what others can make this node store: the receiver takes images only from the
 * nodes added with {@link #addPeer}, refuses an image larger than
 * {@link SnapshotConfig#maxImageBytes} at its offer, and refuses a transfer that would make the
 * directory hold more than {@link SnapshotConfig#maxReceivedBytes}; {@link #retainReceived}
 * deletes the images no hosted group needs.
 *
 * <p>Threads, and who calls what:
 * <ul>
 *   <li>Whoever keeps the node's peer set (node setup, a membership listener), any thread:
 *       {@link #addPeer}, {@link #removePeer}.</li>
 *   <li>The runtime's worker that owns a group, on its own thread: {@link #publish},
 *       {@link #withdraw}, {@link #send} for images it captured; {@link #receivedImage} and
 *       {@link #deleteReceived} for that group's received images; {@link #retainReceived} for the
 *       groups it owns (the sweep itself runs on the receiver's I/O thread).</li>
 *   <li>The sender's I/O thread reads published images and reports outcomes to the runtime
 *       ({@code MultiRaftNode.snapshotSent}, which hands them to the group's worker); the
 *       receiver's I/O thread writes the receive directory.</li>
 *   <li>{@link #attach} once, by the runtime's constructor; {@link #close} by the owner, after the
 *       runtime is closed.</li>
 * </ul>
 * Shared state: the map of published images and the peer set (concurrent maps), and the receive
 * directory, where workers only read and delete finished images and every other change is made by
 * the receiver's I/O thread.
 */
public final class SnapshotStreams implements SnapshotChannel, AutoCloseable {
    private static final Pattern RECEIVED = Pattern.compile("snapshot-g(\\d+)-i(\\d+)-t(\\d+)\\.snap");

    private final Path directory;
    private final FileSnapshotSink sink;
    private final SnapshotSender sender;
    private final SnapshotReceiver receiver;
    private final PublishedImages published = new PublishedImages();
    /** The nodes whose snapshots the receiver takes; read on its I/O thread at every handshake. */
    private final Set<Long> peers = ConcurrentHashMap.newKeySet();
    private volatile MultiRaftNode node;
    private volatile SnapshotObserver observer = SnapshotObserver.NONE;

    private SnapshotStreams(SnapshotConfig config, Path directory, SnapshotFailpoints failpoints) throws IOException {
        this.directory = directory;
        this.sink = new FileSnapshotSink(directory);
        this.sender = SnapshotSender.start(config, new PublishedImageSource(), this::onSent, failpoints);
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

    /** Limits the bytes per second this node's outgoing snapshots send together (0: no limit). Any thread. */
    public void rateLimit(long bytesPerSecond) {
        sender.rateLimit(bytesPerSecond);
    }

    /** From now on, {@code observer} hears of each snapshot sent and installed (any thread). */
    public void observe(SnapshotObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
        sender.observe(observer);
    }

    @Override
    public void installed(long bytes, long durationNs) {
        observer.installed(bytes, durationNs);
    }

    public SnapshotStats senderStats() {
        return sender.stats();
    }

    public SnapshotStats receiverStats() {
        return receiver.stats();
    }

    /** The runtime whose workers hear how transfers ended. Called once, by its constructor. */
    @Override
    public void attach(MultiRaftNode runtime) {
        this.node = runtime;
    }

    // ---------------------------------------------------------------- sending (worker threads)

    /** Makes a captured image readable by the sender's I/O thread. */
    @Override
    public void publish(OutgoingImage image) {
        published.publish(image);
    }

    /** Withdraws an image no transfer uses any more and releases it. */
    @Override
    public void withdraw(OutgoingImage image) {
        published.withdraw(image);
    }

    /** Queues a transfer of a published image to {@code peerNodeId}; the outcome reaches the group's worker. */
    @Override
    public SnapshotSender.SendResult send(long peerNodeId, OutgoingImage image) {
        return sender.send(peerNodeId, image.groupId, image.index, image.term);
    }

    @Override
    public SnapshotSender.Progress transferProgress(long peerNodeId, long groupId) {
        return sender.progress(peerNodeId, groupId);
    }

    private void onSent(long peerNodeId, long groupId, long index, boolean ok) {
        MultiRaftNode runtime = node;
        if (runtime != null) {
            runtime.snapshotSent(peerNodeId, groupId, index, ok);
        }
    }

    /** The sender reads published images through views whose close is a no-op: the worker owns the image. */
    private final class PublishedImageSource implements SnapshotSource {
        @Override
        public Reader open(long groupId, long index, long term) {
            OutgoingImage image = published.get(groupId, index, term);
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
    @Override
    public Path receivedImage(long groupId, long index, long term) {
        Path file = sink.snapshotFile(groupId, index, term);
        return Files.exists(file) ? file : null;
    }

    /**
     * Deletes the group's received images up to {@code index}, or below it if not {@code inclusive}:
     * older snapshots are never installed, and one the state machine holds durably is not needed.
     */
    @Override
    public void deleteReceived(long groupId, long index, boolean inclusive) {
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

    /**
     * Deletes every received image the runtime no longer needs, among the groups {@code retention}
     * rules on: all images (finished, partial, or still arriving) of a group not hosted here — one
     * tombstoned, moved away, or never created — and a hosted group's images below its
     * {@code keepFromIndex} (see {@link SnapshotRetention}). A transfer still arriving for such an
     * image is failed, so its leader reports the snapshot failed and offers a current one if the
     * follower still needs it. This is what keeps the receive directory from filling with images
     * nobody will install; {@link SnapshotConfig#maxReceivedBytes} refuses new transfers while it
     * is full.
     *
     * <p>Who calls it and when: a worker, from its own thread, with the groups it owns (scope: the
     * ids that map to it; its replicas hosted, each with its retained image's index if a restore is
     * not yet durable, else applied index + 1). Once after startup recovery (images of groups
     * destroyed or moved away while the node was down), after destroying a group (its partials),
     * and periodically, e.g. with the compaction sweep every few election timeouts. One call with
     * scope {@code id -> true} from a thread that knows every group serves as well.
     *
     * <p>Never blocks: the sweep runs on the receiver's I/O thread (the only writer of the
     * directory besides this class's deletions of finished images), and the returned future
     * completes there — with what was deleted, or exceptionally if the directory could not be
     * listed or a file deleted (the next call retries) or the channel is closed. A worker must not
     * wait on it; to act on the result it hands it to its own inbox.
     */
    @Override
    public CompletableFuture<SnapshotRetention.Swept> retainReceived(SnapshotRetention retention) {
        return receiver.retain(retention);
    }

    /** Stops both sides; partial received images stay for a later run to resume. */
    @Override
    public void close() {
        sender.close();
        receiver.close();
        published.closeAll();
    }
}
