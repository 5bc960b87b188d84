package io.flotilla.engine.rocks;

import java.util.List;
import java.util.Properties;
import org.rocksdb.AbstractEventListener;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.ConfigOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.Filter;
import org.rocksdb.FlushOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.LRUCache;
import org.rocksdb.WriteBufferManager;
import org.rocksdb.WriteOptions;

/**
 * The native option objects one RocksDB store shares across all its column families, built with the
 * tuned settings of shared/BUILD-NOTES.md: bounded open files and one file-opening thread, no stats
 * update on open, the manifest reused on open, one block cache and one write buffer manager for all,
 * and ONE column family options object (small memtables, a 64 KiB arena block). They stay referenced
 * while the database is open and are closed after it. Created and closed by the store's owner thread.
 */
final class RocksResources implements AutoCloseable {
    final LRUCache blockCache;
    final WriteBufferManager writeBufferManager;
    final Filter bloomFilter;
    final DBOptions dbOptions;
    final ColumnFamilyOptions columnFamilyOptions;
    /** RocksDB's WAL off: the shared Raft log is the only write-ahead log. */
    final WriteOptions writeOptions;
    /** Through RocksDB's WAL and synced: only for the initial state of new ranges. */
    final WriteOptions syncedWalWrite;
    final FlushOptions waitingFlush;
    private final ConfigOptions configOptions;

    RocksResources(RocksConfig config, AbstractEventListener listener) {
        blockCache = new LRUCache(config.blockCacheBytes());
        writeBufferManager = new WriteBufferManager(config.writeBufferManagerBytes(), blockCache);
        bloomFilter = new BloomFilter(10);
        configOptions = new ConfigOptions();
        Properties props = new Properties();
        // No Java setter; saves writing a new MANIFEST on every open.
        props.setProperty("reuse_manifest_on_open", "true");
        DBOptions fromProps = DBOptions.getDBOptionsFromProps(configOptions, props);
        if (fromProps == null) {
            System.getLogger(RocksResources.class.getName()).log(System.Logger.Level.WARNING,
                    "this RocksDB does not take reuse_manifest_on_open; every open writes a new MANIFEST");
        }
        dbOptions = fromProps != null ? fromProps : new DBOptions();
        dbOptions.setCreateIfMissing(true)
                .setCreateMissingColumnFamilies(false)
                .setMaxOpenFiles(config.maxOpenFiles())
                .setMaxFileOpeningThreads(1)
                .setSkipStatsUpdateOnDbOpen(true)
                .setWriteBufferManager(writeBufferManager)
                .setMaxBackgroundJobs(config.backgroundJobs())
                // A crash loses memtables anyway (the Raft log replays them); a clean close need not flush either.
                .setAvoidFlushDuringShutdown(true)
                // Replaying RocksDB's own WAL (it holds only new ranges' initial state) must not
                // flush every family at open.
                .setAvoidFlushDuringRecovery(true)
                .setInfoLogLevel(InfoLogLevel.WARN_LEVEL)
                .setKeepLogFileNum(2)
                .setListeners(List.of(listener));
        BlockBasedTableConfig table = new BlockBasedTableConfig()
                .setBlockCache(blockCache)
                .setFilterPolicy(bloomFilter);
        columnFamilyOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(config.writeBufferBytes())
                .setArenaBlockSize(config.arenaBlockBytes())
                .setOptimizeFiltersForHits(true)
                .setTableFormatConfig(table);
        writeOptions = new WriteOptions().setDisableWAL(true).setSync(false);
        syncedWalWrite = new WriteOptions().setDisableWAL(false).setSync(true);
        waitingFlush = new FlushOptions().setWaitForFlush(true).setListenerWait(true);
    }

    @Override
    public void close() {
        waitingFlush.close();
        writeOptions.close();
        syncedWalWrite.close();
        columnFamilyOptions.close();
        dbOptions.close();
        configOptions.close();
        bloomFilter.close();
        writeBufferManager.close();
        blockCache.close();
    }
}
