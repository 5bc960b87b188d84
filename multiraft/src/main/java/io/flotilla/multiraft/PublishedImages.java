package io.flotilla.multiraft;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The images a node's workers have published for streaming, by group, index and term: what a
 * {@link SnapshotChannel} reads when it sends one. Workers publish and withdraw their own images;
 * the channel's sending thread looks them up. Thread-safe.
 */
final class PublishedImages {
    private record Key(long groupId, long index, long term) {
    }

    private final ConcurrentHashMap<Key, OutgoingImage> images = new ConcurrentHashMap<>();

    /** Makes a captured image readable by the channel. */
    void publish(OutgoingImage image) {
        images.put(new Key(image.groupId, image.index, image.term), image);
    }

    /** Withdraws an image no transfer uses any more and releases it. */
    void withdraw(OutgoingImage image) {
        images.remove(new Key(image.groupId, image.index, image.term), image);
        image.reader.close();
    }

    /** The published image of {@code groupId} at {@code index} and {@code term}, or null. */
    OutgoingImage get(long groupId, long index, long term) {
        return images.get(new Key(groupId, index, term));
    }

    /** The channel closes: every image is released. */
    void closeAll() {
        for (OutgoingImage image : images.values()) {
            image.reader.close();
        }
        images.clear();
    }

    /** Forgets every image without releasing it (a simulated crash: the process is gone with them). */
    void forgetAll() {
        images.clear();
    }
}
