package io.flotilla.raft;

import java.util.List;

/**
 * Everything a replica needs done since the last {@link RaftNode#advance(Ready)}. The caller must:
 * <ol>
 *   <li>send {@link #messages()} at once (leader appends may go out before the local write,
 *       Raft thesis §10.2.1);</li>
 *   <li>make {@link #snapshot()}, {@link #entries()} and {@link #hardState()} durable, in that order;</li>
 *   <li>only then send {@link #messagesAfterPersist()} (votes, append acknowledgements) and apply
 *       {@link #committedEntries()};</li>
 *   <li>call {@link RaftNode#advance(Ready)} with this object.</li>
 * </ol>
 * Steps and ticks may happen between {@code ready()} and {@code advance}; a second {@code ready()}
 * may not.
 *
 * @param softState null when unchanged
 * @param hardState null when unchanged
 * @param snapshot null when there is none to install
 */
public record Ready(
        long number,
        SoftState softState,
        HardState hardState,
        Snapshot snapshot,
        List<Entry> entries,
        List<Entry> committedEntries,
        List<Message> messages,
        List<Message> messagesAfterPersist,
        List<ReadState> readStates) {

    /** True when something must reach the disk before {@link #messagesAfterPersist()} may go. */
    public boolean mustPersist() {
        return hardState != null || snapshot != null || !entries.isEmpty();
    }
}
