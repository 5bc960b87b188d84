package io.flotilla.engine.rocks;

import com.google.protobuf.ByteString;
import io.flotilla.engine.rocks.RocksKvStore.Family;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;

/**
 * Finds where a split by size cuts a range ({@link RocksKvStore#middleKey}): one ordered walk over
 * the group's family, under the family's guard like every read off its worker. Stateless; runs on
 * the caller's thread, off the apply path (the split trigger's, or the client service's middle-key
 * thread), never a worker.
 */
final class RocksMiddleKey {
    /** How many keys {@link #find} keeps noted at most while it walks a range. */
    static final int MAX_NOTES = 4096;

    private RocksMiddleKey() {
    }

    /**
     * Walks the group's keys once, in order, summing key and value sizes and noting keys at most
     * {@link #MAX_NOTES} of them, evenly by bytes (every key at first; when the notes fill
     * up, every other one is dropped and the spacing doubles); returns the noted key nearest past
     * half the sum, so the answer is within 1/2048 of the range's bytes of the middle. (Sizes as
     * stored uncompressed: RocksDB's estimate counts compressed files, and the two do not mix.) A
     * sequential read of the whole range, some 128 MiB at the default split size, run by the split
     * trigger's thread, not a worker.
     */
    static ByteString find(RocksDB db, Family f) {
        f.guard.readLock().lock();
        // A family dropped before the lock was taken has a freed handle: look before opening an iterator on it.
        if (f.closed) {
            f.guard.readLock().unlock();
            return null;
        }
        try (Slice upper = new Slice(RocksKeys.DATA_END);
                ReadOptions options = new ReadOptions().setIterateUpperBound(upper).setFillCache(false);
                RocksIterator it = db.newIterator(f.handle, options)) {
            List<byte[]> marks = new ArrayList<>();
            List<Long> marksAt = new ArrayList<>();
            long bytes = 0;
            long step = 1;
            long nextMark = 0;
            boolean first = true;
            for (it.seek(new byte[] {RocksKeys.DATA}); it.isValid(); it.next()) {
                byte[] key = it.key();
                if (!first && bytes >= nextMark) {
                    if (marks.size() == MAX_NOTES) {
                        for (int i = 0; i < MAX_NOTES / 2; i++) {
                            marks.set(i, marks.get(2 * i));
                            marksAt.set(i, marksAt.get(2 * i));
                        }
                        marks.subList(MAX_NOTES / 2, MAX_NOTES).clear();
                        marksAt.subList(MAX_NOTES / 2, MAX_NOTES).clear();
                        step *= 2;
                    }
                    marks.add(key);
                    marksAt.add(bytes);
                    nextMark = bytes + step;
                }
                first = false;
                bytes += key.length - 1 + it.value().length;
            }
            it.status();
            for (int i = 0; i < marks.size(); i++) {
                if (marksAt.get(i) >= bytes / 2) {
                    return RocksKeys.userKey(marks.get(i));
                }
            }
            return marks.isEmpty() ? null : RocksKeys.userKey(marks.get(marks.size() - 1));
        } catch (RocksDBException e) {
            throw new RocksStoreException("finding the middle key of range " + f.groupId + " failed: " + e.getMessage(), e);
        } finally {
            f.guard.readLock().unlock();
        }
    }
}
