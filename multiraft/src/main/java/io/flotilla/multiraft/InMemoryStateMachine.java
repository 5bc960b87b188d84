package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import java.nio.ByteBuffer;
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

    @Override
    public byte[] snapshot(long groupId) {
        GroupState g = group(groupId);
        return ByteBuffer.allocate(24).putLong(g.appliedIndex).putLong(g.commands).putLong(g.checksum).array();
    }

    @Override
    public void restore(long groupId, long index, byte[] image) {
        GroupState g = group(groupId);
        g.appliedIndex = index;
        if (image.length == 24) {
            ByteBuffer b = ByteBuffer.wrap(image);
            b.getLong();
            g.commands = b.getLong();
            g.checksum = b.getLong();
        } else {
            g.commands = 0;
            g.checksum = 0;
        }
    }
}
