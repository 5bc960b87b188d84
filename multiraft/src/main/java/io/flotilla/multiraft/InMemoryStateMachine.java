package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link StateMachine} for tests and benchmarks: per group, the applied index, the number of
 * commands and a running checksum of their bytes, so replicas can be compared cheaply. Groups live
 * in a concurrent map because several workers apply to it; each group's entry is touched only by
 * its owning worker.
 */
public final class InMemoryStateMachine implements StateMachine {
    /** One group's state; mutated only by the worker that owns the group. */
    public static final class GroupState {
        private long appliedIndex;
        private long commands;
        private long checksum;

        public long appliedIndex() {
            return appliedIndex;
        }

        public long commands() {
            return commands;
        }

        public long checksum() {
            return checksum;
        }
    }

    /** An image: applied index, command count, checksum. */
    private static final int IMAGE_BYTES = 24;

    private final ConcurrentHashMap<Long, GroupState> groups = new ConcurrentHashMap<>();

    public GroupState group(long groupId) {
        return groups.computeIfAbsent(groupId, id -> new GroupState());
    }

    @Override
    public void apply(ApplyBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            GroupState g = group(batch.groupId(i));
            for (Entry e : batch.entries(i)) {
                if (e.index() <= g.appliedIndex) {
                    throw new IllegalStateException("group " + batch.groupId(i) + " re-applies " + e.index()
                            + " after " + g.appliedIndex);
                }
                g.appliedIndex = e.index();
                if (e.type() == EntryType.NORMAL && e.data().length > 0) {
                    g.commands++;
                    g.checksum = g.checksum * 31 + java.util.Arrays.hashCode(e.data());
                }
            }
        }
    }

    @Override
    public long appliedIndex(long groupId) {
        GroupState g = groups.get(groupId);
        return g == null ? 0 : g.appliedIndex;
    }

    @Override
    public void destroy(long groupId) {
        groups.remove(groupId);
    }

    /** Nothing survives a crash: the runtime keeps every entry of the log. */
    @Override
    public long durableIndex(long groupId) {
        return 0;
    }

    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        GroupState g = group(groupId);
        return SnapshotSource.ofBytes(ByteBuffer.allocate(IMAGE_BYTES).putLong(g.appliedIndex).putLong(g.commands)
                .putLong(g.checksum).array());
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        byte[] bytes = Files.readAllBytes(image);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length != IMAGE_BYTES || b.getLong() != snapshot.index()) {
            throw new IOException(image + " is not an image of group " + groupId + " at index " + snapshot.index());
        }
        GroupState g = group(groupId);
        g.appliedIndex = snapshot.index();
        g.commands = b.getLong();
        g.checksum = b.getLong();
    }
}
