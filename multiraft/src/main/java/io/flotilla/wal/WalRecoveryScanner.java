package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 *
 * <p>Reading. A {@link WalSegmentPrefetcher} reads each segment whole on its own thread while this
 * one decodes the segment before it, so a cold scan costs about the slower of reading and decoding.
 * The zero-filled space after the last record is read too, and must be all zeros: that is how a
 * zeroed block followed by intact records (damage, not a torn tail) is told from the clean end of
 * the data, so it cannot be skipped without skipping that check.
 */
public final class WalRecoveryScanner {
    private final WalFileSystem fs;
    private final WalConfig config;
    private final WalRecordDecoder decoder;

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
        try (WalSegmentPrefetcher prefetcher = new WalSegmentPrefetcher(fs, config, sequences)) {
            return scan(visitor, sequences, temps, prefetcher);
        }
    }

    private WalRecoveryResult scan(WalRecordVisitor visitor, List<Long> sequences, List<String> temps,
            WalSegmentPrefetcher prefetcher) throws IOException {
        long tailSequence = sequences.isEmpty() ? -1 : sequences.get(0);
        long tailEnd = WalSegmentHeader.HEADER_BYTES;
        int lastCrc = 0;
        long records = 0;
        for (int i = 0; i < sequences.size(); i++) {
            long seq = sequences.get(i);
            String name = WalSegmentNames.fileName(seq);
            WalSegmentPrefetcher.Segment loaded = load(prefetcher);
            ByteBuffer segment = loaded.buffer;
            int limit = loaded.sizeBytes;
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
                    String later = requireEmpty(prefetcher);
                    if (later != null) {
                        throw new WalCorruptionException(name, off, why + "; later segment " + later + " holds data");
                    }
                }
                int next = findIntactRecord(segment, off + WalRecordFormat.ALIGNMENT_BYTES, limit);
                if (next >= 0) {
                    throw new WalCorruptionException(name, off, why + "; an intact record follows at offset " + next);
                }
                return new WalRecoveryResult(sequences, seq, off, lastNonZero + 1L, lastCrc, records, temps);
            }
            prefetcher.release(loaded);
        }
        return new WalRecoveryResult(sequences, tailSequence, tailEnd, tailEnd, lastCrc, records, temps);
    }

    /** The next segment, read whole by the prefetcher, with its header checked. */
    private WalSegmentPrefetcher.Segment load(WalSegmentPrefetcher prefetcher) throws IOException {
        WalSegmentPrefetcher.Segment loaded = prefetcher.next();
        WalSegmentHeader.decode(loaded.buffer, WalSegmentNames.fileName(loaded.sequence), loaded.sizeBytes, config,
                loaded.sequence);
        return loaded;
    }

    /** Returns null if the next segment has a valid header and nothing but zeros after it, else its name. */
    private String requireEmpty(WalSegmentPrefetcher prefetcher) throws IOException {
        WalSegmentPrefetcher.Segment loaded = load(prefetcher);
        boolean empty = lastNonZeroByte(loaded.buffer, WalSegmentHeader.HEADER_BYTES, loaded.sizeBytes) < 0;
        String name = WalSegmentNames.fileName(loaded.sequence);
        prefetcher.release(loaded);
        return empty ? null : name;
    }

    /** Offset of the first intact record starting at an aligned offset in [from, limit) of {@code segment}, or -1. */
    private int findIntactRecord(ByteBuffer segment, int from, int limit) {
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
