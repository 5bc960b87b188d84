package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads every segment of a log directory in sequence order, verifies every header and record CRC
 * and the CRC chain between records, and hands the records to a visitor in log order. Owned by the
 * thread opening the log, which must hold the directory lock.
 *
 * <p>What it tolerates, and nothing else: a torn tail, i.e. damage at offset D of the last segment
 * that holds data (later segments must be empty: header and zeros) such that no intact record
 * starts anywhere after D in that segment. That is what a crash during an unsynced append leaves,
 * given the writer's contract: it forces segment N before writing the first record of segment N+1.
 * Any other damage (an earlier segment, a CRC mismatch or zeros followed by an intact record, a
 * broken CRC chain, a missing segment) throws {@link WalCorruptionException} naming file and offset.
 */
public final class WalRecoveryScanner {
    private final WalFileSystem fs;
    private final WalConfig config;
    private final WalRecordDecoder decoder;
    /** Holds one whole segment; grown to the largest segment met, reused across segments. */
    private ByteBuffer segment;

    public WalRecoveryScanner(WalFileSystem fs, WalConfig config) {
        this.fs = fs;
        this.config = config;
        this.decoder = new WalRecordDecoder(config.maxRecordBytes());
    }

    /** Scans the log, calling {@code visitor} for each valid record in order. */
    public WalRecoveryResult scan(WalRecordVisitor visitor) throws IOException {
        List<Long> sequences = new ArrayList<>();
        List<String> temps = new ArrayList<>();
        for (String name : fs.list(config.directory())) {
            long seq = WalSegmentNames.parseSequence(name);
            if (seq >= 0) {
                sequences.add(seq);
            } else if (WalSegmentNames.parseTempSequence(name) >= 0) {
                temps.add(name);
            }
        }
        sequences.sort(null);
        for (int i = 1; i < sequences.size(); i++) {
            if (sequences.get(i) != sequences.get(i - 1) + 1) {
                throw new WalCorruptionException(WalSegmentNames.fileName(sequences.get(i - 1) + 1), 0,
                        "segment missing between " + WalSegmentNames.fileName(sequences.get(i - 1))
                                + " and " + WalSegmentNames.fileName(sequences.get(i)));
            }
        }

        long tailSequence = sequences.isEmpty() ? -1 : sequences.get(0);
        long tailEnd = WalSegmentHeader.HEADER_BYTES;
        int lastCrc = 0;
        long records = 0;
        for (int i = 0; i < sequences.size(); i++) {
            long seq = sequences.get(i);
            String name = WalSegmentNames.fileName(seq);
            int limit = load(seq);
            int off = WalSegmentHeader.HEADER_BYTES;
            while (true) {
                int code = decoder.probe(segment, off, limit);
                if (code > 0) {
                    if (records > 0 && WalRecordDecoder.prevCrc(segment, off) != lastCrc) {
                        throw new WalCorruptionException(name, off, "record chain broken: this record follows CRC "
                                + Integer.toHexString(WalRecordDecoder.prevCrc(segment, off)) + " but the record before it has CRC "
                                + Integer.toHexString(lastCrc) + "; records are missing before it");
                    }
                    visitor.onRecord(decoder.decodeProbed(segment, off, name, 0), seq, off);
                    lastCrc = WalRecordDecoder.storedCrc(segment, off);
                    records++;
                    off += code;
                    tailSequence = seq;
                    tailEnd = off;
                    continue;
                }
                int lastNonZero = lastNonZeroByte(segment, off, limit);
                if (lastNonZero < 0) {
                    break; // Clean end of this segment's data; the rest is preallocated zeros.
                }
                String why = decoder.describe(code, segment, off, limit);
                if (code == WalRecordDecoder.PROBE_ZERO_HEADER) {
                    why += ", but non-zero bytes follow up to offset " + lastNonZero;
                }
                for (int j = i + 1; j < sequences.size(); j++) {
                    String later = requireEmpty(sequences.get(j));
                    if (later != null) {
                        throw new WalCorruptionException(name, off, why + "; later segment " + later + " holds data");
                    }
                }
                int next = findIntactRecord(off + WalRecordFormat.ALIGNMENT_BYTES, limit);
                if (next >= 0) {
                    throw new WalCorruptionException(name, off, why + "; an intact record follows at offset " + next);
                }
                return new WalRecoveryResult(sequences, seq, off, lastNonZero + 1L, lastCrc, records, temps);
            }
        }
        return new WalRecoveryResult(sequences, tailSequence, tailEnd, tailEnd, lastCrc, records, temps);
    }

    /** Reads segment {@code seq} whole into {@link #segment}, checks its header, returns its size. */
    private int load(long seq) throws IOException {
        String name = WalSegmentNames.fileName(seq);
        try (WalFile file = fs.open(config.directory().resolve(name))) {
            long sizeBytes = file.sizeBytes();
            if (sizeBytes > WalConfig.MAX_SEGMENT_BYTES) {
                throw new WalCorruptionException(name, 0, "segment is " + sizeBytes + " bytes, more than the "
                        + WalConfig.MAX_SEGMENT_BYTES + " any segment may have");
            }
            int size = (int) sizeBytes;
            if (segment == null || segment.capacity() < size) {
                segment = ByteBuffer.allocateDirect(Math.max(size, WalSegmentHeader.HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
            }
            segment.clear().limit(size);
            int read = file.read(segment, 0);
            if (read != size) {
                throw new IOException("read " + read + " of " + size + " bytes of " + file.path());
            }
            segment.clear();
            WalSegmentHeader.decode(segment, name, size, config, seq);
            return size;
        }
    }

    /** Returns null if segment {@code seq} has a valid header and nothing but zeros after it, else its name. */
    private String requireEmpty(long seq) throws IOException {
        int limit = load(seq);
        return lastNonZeroByte(segment, WalSegmentHeader.HEADER_BYTES, limit) < 0 ? null : WalSegmentNames.fileName(seq);
    }

    /** Offset of the first intact record starting at an aligned offset in [from, limit), or -1. */
    private int findIntactRecord(int from, int limit) {
        for (int pos = from; pos + WalRecordFormat.HEADER_BYTES <= limit; pos += WalRecordFormat.ALIGNMENT_BYTES) {
            if (segment.getLong(pos) == 0 && segment.getLong(pos + 8) == 0) {
                continue;
            }
            if (decoder.probe(segment, pos, limit) > 0) {
                return pos;
            }
        }
        return -1;
    }

    private static int lastNonZeroByte(ByteBuffer buf, int from, int limit) {
        int pos = limit;
        while (pos - 8 >= from && buf.getLong(pos - 8) == 0) {
            pos -= 8;
        }
        for (int i = pos - 1; i >= from; i--) {
            if (buf.get(i) != 0) {
                return i;
            }
        }
        return -1;
    }
}
