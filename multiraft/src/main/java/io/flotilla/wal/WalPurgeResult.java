package io.flotilla.wal;

import java.util.List;

/**
 * What one {@link Wal#purge} did: how many segment files it deleted, the oldest segment kept, and
 * the groups that hold old segments back (oldest first). The owner rewrites each lagging group's
 * live records forward ({@link Wal#rewriteForward}) or asks it to snapshot and compact.
 */
public record WalPurgeResult(int deletedSegments, long oldestKeptSegment, List<Long> laggingGroups) {
    public WalPurgeResult {
        laggingGroups = List.copyOf(laggingGroups);
    }
}
