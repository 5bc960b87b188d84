package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;

/**
 * Creates segment files so that a crash never leaves a half-made segment under a real name: write
 * the header and zeros under a temporary name, force, rename, force the directory. Zeros are really
 * written (not a sparse {@code setLength}) so that appends overwrite allocated blocks, which is
 * about twice as fast to fsync (BUILD-NOTES.md, "The disk"), and so a crash cannot expose stale
 * blocks. Owned by one thread (the preallocating thread); it reuses one zero buffer.
 */
public final class WalSegmentCreator {
    private static final int ZERO_CHUNK_BYTES = 1 << 20;

    private final WalFileSystem fs;
    private final WalConfig config;
    private final ByteBuffer zeros;
    private final ByteBuffer header = ByteBuffer.allocate(WalSegmentHeader.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);

    public WalSegmentCreator(WalFileSystem fs, WalConfig config) {
        this.fs = fs;
        this.config = config;
        this.zeros = ByteBuffer.allocateDirect(Math.min(ZERO_CHUNK_BYTES, config.segmentBytes()));
    }

    /**
     * Creates segment {@code sequence} and makes its name durable. A leftover temporary file of the
     * same sequence (from a crash during an earlier creation) is replaced.
     *
     * @return the segment's path
     * @throws FileAlreadyExistsException if the segment already exists
     */
    public Path create(long sequence) throws IOException {
        Check.argument(sequence >= 0, "segment sequence %d must not be negative", sequence);
        Path dir = config.directory();
        Path target = dir.resolve(WalSegmentNames.fileName(sequence));
        Path temp = dir.resolve(WalSegmentNames.tempFileName(sequence));
        if (fs.exists(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "segment already exists");
        }
        if (fs.exists(temp)) {
            fs.delete(temp);
        }
        try (WalFile file = fs.create(temp)) {
            new WalSegmentHeader(config.clusterId(), config.nodeId(), sequence, config.segmentBytes()).encode(header);
            header.clear();
            file.write(header, 0);
            long position = WalSegmentHeader.HEADER_BYTES;
            while (position < config.segmentBytes()) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), config.segmentBytes() - position));
                int n = zeros.remaining();
                file.write(zeros, position);
                position += n;
            }
            file.force();
        }
        fs.rename(temp, target);
        fs.fsyncDirectory(dir);
        return target;
    }
}
