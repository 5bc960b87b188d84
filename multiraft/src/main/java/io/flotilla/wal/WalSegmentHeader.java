package io.flotilla.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The first {@value #HEADER_BYTES} bytes of every segment file, and their codec. Immutable; any
 * thread.
 *
 * <pre>
 * little-endian
 *  0  byte[8] magic          "FLOTWAL\0"
 *  8  int32   formatVersion  3 (version 1 had SNAPSHOT_MARK records without the membership,
 *                            version 2 no TOMBSTONE_SET records)
 * 12  int32   headerBytes    64
 * 16  int64   clusterId
 * 24  int64   nodeId
 * 32  int64   sequence       also the file name, %016x.wal
 * 40  int64   segmentBytes   the file's size
 * 48  byte[12] zero
 * 60  int32   crc32c         of bytes [0, 60)
 * </pre>
 *
 * Records start at offset 64.
 */
public record WalSegmentHeader(long clusterId, long nodeId, long sequence, long segmentBytes) {
    public static final int HEADER_BYTES = 64;
    /**
     * Version 3: TOMBSTONE_SET records (version 2: SNAPSHOT_MARK records carry the group's
     * membership). A log of another version is refused: a version-2 build would take a tombstone
     * set at the end of the log for a torn tail and cut it off, forgetting removed replicas.
     */
    public static final int FORMAT_VERSION = 3;
    static final long MAGIC = ByteBuffer.wrap(new byte[] {'F', 'L', 'O', 'T', 'W', 'A', 'L', 0})
            .order(ByteOrder.LITTLE_ENDIAN).getLong();
    private static final int OFFSET_CRC = 60;

    /** Writes the header into {@code dst[0, 64)} (absolute; dst must be little-endian). */
    public void encode(ByteBuffer dst) {
        dst.putLong(0, MAGIC).putInt(8, FORMAT_VERSION).putInt(12, HEADER_BYTES)
                .putLong(16, clusterId).putLong(24, nodeId).putLong(32, sequence).putLong(40, segmentBytes)
                .putLong(48, 0).putInt(56, 0);
        dst.putInt(OFFSET_CRC, crc(dst));
    }

    /**
     * Reads and checks the header in {@code src[0, 64)} of the segment {@code fileName}, which the
     * caller found to be {@code fileBytes} long, against what this node expects.
     */
    public static WalSegmentHeader decode(ByteBuffer src, String fileName, long fileBytes, WalConfig config,
            long expectedSequence) throws WalCorruptionException, WalIncompatibleException {
        if (fileBytes < HEADER_BYTES) {
            throw new WalCorruptionException(fileName, 0, "segment is " + fileBytes + " bytes, shorter than its header");
        }
        if (src.getLong(0) != MAGIC) {
            throw new WalCorruptionException(fileName, 0, "bad segment magic " + Long.toHexString(src.getLong(0)));
        }
        int version = src.getInt(8);
        if (version != FORMAT_VERSION) {
            throw new WalIncompatibleException(fileName, "has format version " + version
                    + ", this build reads only version " + FORMAT_VERSION,
                    "run the Flotilla version that wrote it, or a newer one");
        }
        int stored = src.getInt(OFFSET_CRC);
        int computed = crc(src);
        if (stored != computed || src.getInt(12) != HEADER_BYTES || src.getLong(48) != 0 || src.getInt(56) != 0) {
            throw new WalCorruptionException(fileName, 0, "segment header CRC mismatch (stored "
                    + Integer.toHexString(stored) + ", computed " + Integer.toHexString(computed) + ") or bad reserved bytes");
        }
        WalSegmentHeader h = new WalSegmentHeader(src.getLong(16), src.getLong(24), src.getLong(32), src.getLong(40));
        if (h.clusterId != config.clusterId()) {
            throw new WalIncompatibleException(fileName, "belongs to cluster " + h.clusterId
                    + ", this node is configured for cluster " + config.clusterId(),
                    "point this node at its own data directory or fix its cluster id");
        }
        if (h.nodeId != config.nodeId()) {
            throw new WalIncompatibleException(fileName, "belongs to node " + h.nodeId
                    + ", this node is " + config.nodeId(),
                    "point this node at its own data directory or fix its node id");
        }
        if (h.sequence != expectedSequence) {
            throw new WalCorruptionException(fileName, 32, "header sequence " + h.sequence
                    + " does not match the file name's " + expectedSequence);
        }
        if (h.segmentBytes != fileBytes) {
            throw new WalCorruptionException(fileName, 40, "header says the segment is " + h.segmentBytes
                    + " bytes, the file is " + fileBytes);
        }
        return h;
    }

    private static int crc(ByteBuffer buf) {
        CRC32C crc = new CRC32C();
        for (int i = 0; i < OFFSET_CRC; i++) {
            crc.update(buf.get(i));
        }
        return (int) crc.getValue();
    }
}
