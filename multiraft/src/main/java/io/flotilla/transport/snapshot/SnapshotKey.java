package io.flotilla.transport.snapshot;

/**
 * The name of one snapshot transfer on the receiving node: which node sends which snapshot of which
 * group. A transfer interrupted and offered again under the same key resumes; any other key starts
 * from byte 0. Immutable.
 */
public record SnapshotKey(long senderNodeId, long groupId, long index, long term) {
    @Override
    public String toString() {
        return "snapshot of group " + groupId + " at index " + index + " term " + term + " from node " + senderNodeId;
    }
}
