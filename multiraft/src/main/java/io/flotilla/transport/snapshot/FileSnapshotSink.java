package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * A {@link SnapshotSink} that writes each transfer to a file in one directory and renames it into
 * place when it is complete and verified. Writers are used on the receiver's I/O thread; several
 * transfers (different keys) may be open at once.
 *
 * <p>Files: {@code partial-g<group>-i<index>-t<term>-n<sender>.data} holds the bytes received so
 * far, and {@code .progress} next to it the durable prefix: two 64-byte slots written alternately,
 * each {@code magic, sequence, durableBytes, totalBytes, CRC32C of the data prefix, CRC32C of the
 * slot}. A sync forces the data file, then writes and forces the next slot, so a slot never names
 * bytes that are not on disk, and a torn slot write leaves the other one valid. Reopening takes the
 * valid slot with the highest sequence, truncates the data to its durable length and checks that
 * prefix against the slot's CRC (a damaged prefix restarts the transfer at 0). A finished transfer
 * is renamed to {@link #snapshotFile}; the directory is forced after every create, rename and delete.
 *
 * <p>Finished files are also deleted by the runtime's workers once installed (any thread may
 * delete a finished file: it is never written again); everything else here runs on the receiver's
 * I/O thread, retention sweeps ({@link #discardUnneeded}) included, so a sweep never races a
 * transfer's writes.
 */
public final class FileSnapshotSink implements SnapshotSink {
    private static final Pattern PARTIAL = Pattern.compile("partial-g(\\d+)-i(\\d+)-t(\\d+)-n(\\d+)\\.data");
    private static final Pattern PARTIAL_FILE =
            Pattern.compile("partial-g(\\d+)-i(\\d+)-t(\\d+)-n(\\d+)\\.(data|progress)");
    private static final Pattern FINISHED = Pattern.compile("snapshot-g(\\d+)-i(\\d+)-t(\\d+)\\.snap");
    private static final int SLOT_BYTES = 64;
    private static final int SLOT_PAYLOAD_BYTES = 4 + 8 + 8 + 8 + 4;
    private static final int MAGIC = 0x464c5350; // "FLSP"
    private static final int READ_BUFFER_BYTES = 1 << 16;

    private final Path directory;
    private final Map<SnapshotKey, Boolean> open = new ConcurrentHashMap<>();

    public FileSnapshotSink(Path directory) throws IOException {
        this.directory = directory;
        Files.createDirectories(directory);
    }

    /** Where a finished snapshot of the group at index / term is. */
    public Path snapshotFile(long groupId, long index, long term) {
        return directory.resolve("snapshot-g" + groupId + "-i" + index + "-t" + term + ".snap");
    }

    Path dataFile(SnapshotKey key) {
        return directory.resolve("partial-g" + key.groupId() + "-i" + key.index() + "-t" + key.term()
                + "-n" + key.senderNodeId() + ".data");
    }

    Path progressFile(SnapshotKey key) {
        return directory.resolve("partial-g" + key.groupId() + "-i" + key.index() + "-t" + key.term()
                + "-n" + key.senderNodeId() + ".progress");
    }

    @Override
    public Writer begin(SnapshotKey key, long totalBytes) throws IOException {
        Check.state(open.putIfAbsent(key, Boolean.TRUE) == null, "%s is already open", key);
        try {
            discardOtherPartials(key);
            return open(key, totalBytes);
        } catch (IOException | RuntimeException e) {
            open.remove(key);
            throw e;
        }
    }

    private FileWriter open(SnapshotKey key, long totalBytes) throws IOException {
        Path data = dataFile(key);
        Path progress = progressFile(key);
        boolean existed = Files.exists(data) && Files.exists(progress);
        FileChannel dataChannel = FileChannel.open(data, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileChannel progressChannel;
        try {
            progressChannel = FileChannel.open(progress, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            dataChannel.close();
            throw e;
        }
        FileWriter writer = new FileWriter(key, totalBytes, dataChannel, progressChannel);
        try {
            if (!existed || !writer.recover()) {
                writer.startOver();
            }
            forceDirectory();
            return writer;
        } catch (IOException | RuntimeException e) {
            writer.closeQuietly();
            throw e;
        }
    }

    /**
     * Every regular file in the directory counts (whatever takes the disk counts), except the
     * group's partials (reused or discarded by {@code begin}, or open), the open partials of other
     * groups, and the finished file this key would replace.
     */
    @Override
    public long storedBytesBeside(SnapshotKey key) throws IOException {
        long total = 0;
        for (Path file : listFiles()) {
            String name = file.getFileName().toString();
            Matcher p = PARTIAL_FILE.matcher(name);
            if (p.matches()) {
                SnapshotKey other = keyOf(p);
                if (other != null && (other.groupId() == key.groupId() || open.containsKey(other))) {
                    continue;
                }
            } else {
                Matcher f = FINISHED.matcher(name);
                if (f.matches() && name.equals(snapshotFile(key.groupId(), key.index(), key.term()).getFileName().toString())) {
                    continue;
                }
            }
            total += sizeOf(file);
        }
        return total;
    }

    @Override
    public SnapshotRetention.Swept discardUnneeded(SnapshotRetention retention) throws IOException {
        int partials = 0;
        int images = 0;
        long freed = 0;
        for (Path file : listFiles()) {
            String name = file.getFileName().toString();
            Matcher p = PARTIAL_FILE.matcher(name);
            Matcher f = FINISHED.matcher(name);
            boolean unneeded;
            if (p.matches()) {
                SnapshotKey key = keyOf(p);
                unneeded = key != null && !open.containsKey(key) && !retention.needs(key.groupId(), key.index());
            } else if (f.matches()) {
                long[] id = parse(f, 2);
                unneeded = id != null && !retention.needs(id[0], id[1]);
            } else {
                unneeded = false;
            }
            if (!unneeded) {
                continue;
            }
            long bytes = sizeOf(file);
            if (Files.deleteIfExists(file)) {
                freed += bytes;
                if (f.matches()) {
                    images++;
                } else if (name.endsWith(".data")) {
                    partials++;
                }
            }
        }
        if (partials + images > 0 || freed > 0) {
            forceDirectory();
        }
        return new SnapshotRetention.Swept(0, partials, images, freed);
    }

    private List<Path> listFiles() throws IOException {
        List<Path> list = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                if (Files.isRegularFile(file)) {
                    list.add(file);
                }
            }
        }
        return list;
    }

    /** The size of a file another thread may delete (the runtime deletes installed images): 0 once gone. */
    private static long sizeOf(Path file) throws IOException {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            return 0;
        }
    }

    /** The first {@code count} numeric groups of a match, or null if one does not fit a long (not a name this sink wrote). */
    private static long[] parse(Matcher m, int count) {
        long[] values = new long[count];
        try {
            for (int i = 0; i < count; i++) {
                values[i] = Long.parseLong(m.group(i + 1));
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return values;
    }

    private static SnapshotKey keyOf(Matcher partial) {
        long[] v = parse(partial, 4);
        return v == null ? null : new SnapshotKey(v[3], v[0], v[1], v[2]);
    }

    /** Only the newest snapshot of a group matters: partials of the group under other keys are deleted. */
    private void discardOtherPartials(SnapshotKey key) throws IOException {
        boolean deleted = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "partial-*.data")) {
            for (Path file : files) {
                Matcher m = PARTIAL.matcher(file.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                SnapshotKey other = keyOf(m);
                if (other != null && other.groupId() == key.groupId() && !other.equals(key) && !open.containsKey(other)) {
                    Files.deleteIfExists(progressFile(other));
                    Files.deleteIfExists(file);
                    deleted = true;
                }
            }
        }
        if (deleted) {
            forceDirectory();
        }
    }

    private void forceDirectory() throws IOException {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    private final class FileWriter implements Writer {
        private final SnapshotKey key;
        private final long totalBytes;
        private final FileChannel data;
        private final FileChannel progress;
        private final CRC32C crc = new CRC32C();
        private final ByteBuffer slot = ByteBuffer.allocate(SLOT_BYTES).order(ByteOrder.BIG_ENDIAN);
        private long written;
        private long durable;
        private int durableCrc;
        private long sequence;
        private boolean closed;

        FileWriter(SnapshotKey key, long totalBytes, FileChannel data, FileChannel progress) {
            this.key = key;
            this.totalBytes = totalBytes;
            this.data = data;
            this.progress = progress;
        }

        /** Reopens at the durable prefix the progress slots name; false if none is usable. */
        boolean recover() throws IOException {
            long bestSequence = -1;
            long bestDurable = 0;
            int bestCrc = 0;
            for (int i = 0; i < 2; i++) {
                slot.clear();
                if (readFully(progress, slot, (long) i * SLOT_BYTES) < SLOT_BYTES) {
                    continue;
                }
                slot.flip();
                int magic = slot.getInt(0);
                long seq = slot.getLong(4);
                long durableBytes = slot.getLong(12);
                long total = slot.getLong(20);
                int prefixCrc = slot.getInt(28);
                int slotCrc = slot.getInt(32);
                CRC32C check = new CRC32C();
                check.update(slot.array(), 0, SLOT_PAYLOAD_BYTES);
                if (magic == MAGIC && slotCrc == (int) check.getValue() && total == totalBytes
                        && durableBytes >= 0 && durableBytes <= total && seq > bestSequence) {
                    bestSequence = seq;
                    bestDurable = durableBytes;
                    bestCrc = prefixCrc;
                }
            }
            if (bestSequence < 0 || data.size() < bestDurable) {
                return false;
            }
            // Bytes past the durable prefix were never acknowledged; after a crash they may be garbage.
            data.truncate(bestDurable);
            ByteBuffer buf = ByteBuffer.allocate(READ_BUFFER_BYTES);
            long pos = 0;
            while (pos < bestDurable) {
                buf.clear();
                buf.limit((int) Math.min(READ_BUFFER_BYTES, bestDurable - pos));
                int n = readFully(data, buf, pos);
                if (n < buf.limit()) {
                    return false;
                }
                buf.flip();
                crc.update(buf);
                pos += n;
            }
            if ((int) crc.getValue() != bestCrc) {
                crc.reset();
                return false;
            }
            written = durable = bestDurable;
            durableCrc = bestCrc;
            sequence = bestSequence + 1;
            return true;
        }

        void startOver() throws IOException {
            crc.reset();
            data.truncate(0);
            written = durable = 0;
            durableCrc = (int) crc.getValue();
            sequence = 0;
            progress.truncate(0);
            writeSlot();
            data.force(true);
        }

        @Override
        public long bytesWritten() {
            return written;
        }

        @Override
        public long durableBytes() {
            return durable;
        }

        @Override
        public int checksum() {
            return (int) crc.getValue();
        }

        @Override
        public void write(long offset, ByteBuffer bytes) throws IOException {
            Check.state(!closed, "%s: write after close", key);
            Check.argument(offset == written, "write at %d, expected %d", offset, written);
            int n = bytes.remaining();
            Check.argument(written + n <= totalBytes, "write of %d at %d passes the total of %d bytes", n, offset,
                    totalBytes);
            ByteBuffer src = bytes.duplicate();
            long pos = offset;
            while (src.hasRemaining()) {
                pos += data.write(src, pos);
            }
            crc.update(bytes.duplicate());
            written += n;
        }

        @Override
        public long sync() throws IOException {
            Check.state(!closed, "%s: sync after close", key);
            if (durable == written) {
                return durable;
            }
            data.force(false);
            durable = written;
            durableCrc = (int) crc.getValue();
            writeSlot();
            return durable;
        }

        private void writeSlot() throws IOException {
            slot.clear();
            slot.putInt(MAGIC).putLong(sequence).putLong(durable).putLong(totalBytes).putInt(durableCrc);
            CRC32C check = new CRC32C();
            check.update(slot.array(), 0, SLOT_PAYLOAD_BYTES);
            slot.putInt((int) check.getValue());
            slot.position(0).limit(SLOT_BYTES);
            long at = (sequence & 1) * SLOT_BYTES;
            while (slot.hasRemaining()) {
                at += progress.write(slot, at);
            }
            progress.force(false);
            sequence++;
        }

        @Override
        public void finish(int snapshotCrc32c) throws IOException {
            Check.state(!closed && written == totalBytes, "%s: finish with %d of %d bytes", key, written, totalBytes);
            Check.state(snapshotCrc32c == checksum(), "%s: finish with checksum %08x, the data's is %08x", key,
                    snapshotCrc32c, checksum());
            data.force(true);
            closeQuietly();
            Files.move(dataFile(key), snapshotFile(key.groupId(), key.index(), key.term()),
                    StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            Files.deleteIfExists(progressFile(key));
            forceDirectory();
        }

        @Override
        public void abort() {
            if (closed) {
                return;
            }
            closeQuietly();
            try {
                Files.deleteIfExists(dataFile(key));
                Files.deleteIfExists(progressFile(key));
                forceDirectory();
            } catch (IOException e) {
                // A leftover partial is discarded by the next begin of the group or overwritten by startOver.
                SnapshotReceiver.LOG.log(System.Logger.Level.WARNING, "could not delete the partial " + key
                        + " in " + directory + ": " + e);
            }
        }

        @Override
        public void suspend() {
            if (closed) {
                return;
            }
            try {
                sync();
            } catch (IOException e) {
                SnapshotReceiver.LOG.log(System.Logger.Level.WARNING, "could not sync the partial " + key + " in "
                        + directory + "; it resumes from its last durable prefix: " + e);
            }
            closeQuietly();
        }

        void closeQuietly() {
            if (closed) {
                return;
            }
            closed = true;
            open.remove(key);
            try {
                data.close();
            } catch (IOException e) {
                // Nothing left to lose: durability came from force(), not from close().
            }
            try {
                progress.close();
            } catch (IOException e) {
                // As above.
            }
        }
    }

    private static int readFully(FileChannel channel, ByteBuffer dst, long position) throws IOException {
        int total = 0;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }
}
