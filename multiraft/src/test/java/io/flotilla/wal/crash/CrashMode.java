package io.flotilla.wal.crash;

/**
 * What a power failure does to the bytes that were written but not yet forced, in a crash image
 * made by {@link CrashSimFileSystem#crashImage}. Directory entries are the same in every mode: only
 * the durable ones (made durable by a directory fsync) survive. Immutable.
 */
public enum CrashMode {
    /** None of the unsynced bytes reached the disk. */
    LOSE_UNSYNCED(0),
    /** Every unsynced write but the last reached the disk; the last one stopped at a 512-byte sector boundary. */
    TORN_512(512),
    /** As {@link #TORN_512}, with 4 KiB pages. */
    TORN_4096(4096),
    /** Every unsynced byte happened to reach the disk. */
    KEEP_UNSYNCED(0);

    /** Granularity of a torn write in bytes; 0 if the mode does not tear. */
    public final int tearBytes;

    CrashMode(int tearBytes) {
        this.tearBytes = tearBytes;
    }
}
