package io.flotilla.engine.rocks;

import java.nio.file.Path;

/**
 * Settings of a node's RocksDB store. Immutable and validated. The defaults are the tuned ones of
 * shared/BUILD-NOTES.md that reopen 1,024 column families in well under a second.
 *
 * @param dataDirectory          the node's data directory: RocksDB goes in {@code rocksdb/}, the native
 *                               library in {@code lib/}, snapshot exports and imports in {@code rocksdb-tmp/}
 * @param maxGroups              column families (ranges) the node holds at most; creating and dropping
 *                               one rewrites RocksDB's OPTIONS file, which grows by ~5.6 KiB per family
 * @param blockCacheBytes        the one block cache shared by every column family
 * @param writeBufferManagerBytes memtable memory of all column families together, charged to the cache
 * @param writeBufferBytes       one column family's memtable size
 * @param arenaBlockBytes        memtable arena block (small: a shared buffer manager counts whole blocks)
 * @param maxOpenFiles           SST files kept open at most (bounded, so open does not start a file
 *                               opening thread pool per family)
 * @param backgroundJobs         RocksDB flush and compaction threads
 */
public record RocksConfig(Path dataDirectory, int maxGroups, long blockCacheBytes, long writeBufferManagerBytes,
        long writeBufferBytes, long arenaBlockBytes, int maxOpenFiles, int backgroundJobs) {
    public static final int DEFAULT_MAX_GROUPS = 4096;

    public RocksConfig {
        if (dataDirectory == null) {
            throw new IllegalArgumentException("a RocksDB store needs a data directory");
        }
        positive("maxGroups", maxGroups);
        positive("blockCacheBytes", blockCacheBytes);
        positive("writeBufferManagerBytes", writeBufferManagerBytes);
        positive("writeBufferBytes", writeBufferBytes);
        positive("arenaBlockBytes", arenaBlockBytes);
        positive("maxOpenFiles", maxOpenFiles);
        positive("backgroundJobs", backgroundJobs);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }

    /** 4,096 ranges, 512 MiB cache, 256 MiB of memtables, 4 MiB per memtable, 64 KiB arena blocks, 5,000 open files, 2 jobs. */
    public static RocksConfig defaults(Path dataDirectory) {
        return new RocksConfig(dataDirectory, DEFAULT_MAX_GROUPS, 512L << 20, 256L << 20, 4L << 20, 64L << 10, 5000, 2);
    }

    public RocksConfig withMaxGroups(int max) {
        return new RocksConfig(dataDirectory, max, blockCacheBytes, writeBufferManagerBytes, writeBufferBytes,
                arenaBlockBytes, maxOpenFiles, backgroundJobs);
    }

    public RocksConfig withWriteBufferBytes(long bytes) {
        return new RocksConfig(dataDirectory, maxGroups, blockCacheBytes, writeBufferManagerBytes, bytes, arenaBlockBytes,
                maxOpenFiles, backgroundJobs);
    }

    Path rocksDirectory() {
        return dataDirectory.resolve("rocksdb");
    }

    Path libDirectory() {
        return dataDirectory.resolve("lib");
    }

    Path tempDirectory() {
        return dataDirectory.resolve("rocksdb-tmp");
    }
}
