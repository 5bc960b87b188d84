package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads single records back from segment files by location, for reads that miss the entry cache.
 * Keeps the last segment it read open (replication reads cluster in the newest segments) and one
 * buffer that grows to the largest record read, at most {@link WalConfig#maxRecordBytes()}. Every
 * record is CRC-checked again as it is read. Owned by one worker thread, shared by that worker's
 * groups; never by two threads.
 */
public final class WalSegmentReader implements AutoCloseable {
    private final WalFileSystem fs;
    private final WalConfig config;
    private final WalRecordDecoder decoder;
    private ByteBuffer buffer = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
    private WalFile file;
    private long fileSequence = -1;

    public WalSegmentReader(WalFileSystem fs, WalConfig config) {
        this.fs = fs;
        this.config = config;
        this.decoder = new WalRecordDecoder(config.maxRecordBytes());
    }

    /**
     * The record at {@code offsetBytes} of segment {@code segmentSequence}.
     *
     * @throws WalCorruptionException if the bytes there are not an intact record
     */
    public WalRecord read(long segmentSequence, long offsetBytes) throws IOException {
        WalFile f = open(segmentSequence);
        String name = WalSegmentNames.fileName(segmentSequence);
        buffer.clear().limit(WalRecordFormat.HEADER_BYTES);
        readFully(f, offsetBytes);
        int bodyBytes = buffer.getInt(4);
        int limit = WalRecordFormat.HEADER_BYTES;
        // A bad length is left to the decoder to describe; only a plausible one is read in full.
        if (bodyBytes >= WalRecordFormat.MIN_BODY_BYTES && bodyBytes <= config.maxRecordBytes() - WalRecordFormat.HEADER_BYTES) {
            int recordBytes = (int) WalRecordFormat.align(WalRecordFormat.HEADER_BYTES + bodyBytes);
            if (buffer.capacity() < recordBytes) {
                ByteBuffer grown = ByteBuffer.allocate(Math.max(recordBytes, Math.min(buffer.capacity() * 2,
                        config.maxRecordBytes()))).order(ByteOrder.LITTLE_ENDIAN);
                grown.put(0, buffer, 0, WalRecordFormat.HEADER_BYTES);
                buffer = grown;
            }
            buffer.clear().position(WalRecordFormat.HEADER_BYTES).limit(recordBytes);
            readFully(f, offsetBytes);
            limit = recordBytes;
        }
        return decoder.decode(buffer, 0, limit, name, offsetBytes);
    }

    /** Reads into {@code buffer} from its position to its limit, from file offset {@code base + position}. */
    private void readFully(WalFile f, long base) throws IOException {
        while (buffer.hasRemaining()) {
            int n = f.read(buffer, base + buffer.position());
            if (n <= 0) {
                return; // Short: the decoder reports the record as running past the data.
            }
        }
    }

    private WalFile open(long segmentSequence) throws IOException {
        if (fileSequence != segmentSequence) {
            closeFile();
            file = fs.open(config.directory().resolve(WalSegmentNames.fileName(segmentSequence)));
            fileSequence = segmentSequence;
        }
        return file;
    }

    private void closeFile() throws IOException {
        WalFile f = file;
        file = null;
        fileSequence = -1;
        if (f != null) {
            f.close();
        }
    }

    @Override
    public void close() throws IOException {
        closeFile();
    }
}
