package io.flotilla.multiraft;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Groups this node hosts no replica of, whose leaders send it their log or heartbeats: a replica
 * the node should have but does not (it installed a snapshot of the range a split made the group
 * from, taken after the split, so it never applied the split that starts the group here), or one
 * it no longer should (a removed replica whose leader has not yet heard). The runtime only notes
 * them; the owner decides from its own records whether to join the group ({@link MultiRaftNode#takeStrayGroups}).
 * Bounded, so a flood of messages for unknown groups costs a fixed amount of memory. Workers note;
 * any thread takes.
 */
final class StrayGroups {
    /** At most this many groups are remembered between takes; the rest are noted again by their next message. */
    static final int MAX = 1_024;

    private final Set<Long> groups = ConcurrentHashMap.newKeySet();

    /** A leader of {@code groupId} sent this node a message for it, and the node hosts no replica of it. */
    void note(long groupId) {
        if (groups.size() < MAX) {
            groups.add(groupId);
        }
    }

    /** The groups noted since the last take. */
    List<Long> take() {
        List<Long> taken = new ArrayList<>(groups);
        groups.removeAll(taken);
        return taken;
    }
}
