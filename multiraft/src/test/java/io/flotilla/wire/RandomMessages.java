package io.flotilla.wire;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random Raft messages for codec tests, reproducible from a seed: valid ones (they pass every check
 * {@link RaftCodec#decodeBatch} makes) and arbitrary ones (any field values, for encoding). Values
 * favour the edges of varint sizes (0, 2^7k +- 1, 2^63 - 1). Also renders messages as text, so two
 * decodings compare in one assertion. Test thread only.
 */
final class RandomMessages {
    private static final MessageType[] TYPES = MessageType.values();
    private static final ConfChangeType[] CONF_CHANGE_TYPES = ConfChangeType.values();

    private final SplittableRandom random;
    private final int maxPayloadBytes;

    RandomMessages(long seed) {
        this(seed, 20_000);
    }

    /** Payloads stay under {@code maxPayloadBytes}, for tests that decode every prefix of a frame. */
    RandomMessages(long seed, int maxPayloadBytes) {
        this.random = new SplittableRandom(seed);
        this.maxPayloadBytes = maxPayloadBytes;
    }

    SplittableRandom random() {
        return random;
    }

    /** 0 to {@code maxCount} valid messages of random types. */
    List<Message> validBatch(int maxCount) {
        int count = random.nextInt(maxCount + 1);
        List<Message> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            batch.add(valid(TYPES[random.nextInt(TYPES.length)]));
        }
        return batch;
    }

    /** A message of {@code type} that decodes: ids > 0, no value at or above 2^63, entries and snapshot as the type allows. */
    Message valid(MessageType type) {
        long term = type == MessageType.SNAPSHOT ? 1 + nonNegative(Long.MAX_VALUE - 1) : nonNegative(Long.MAX_VALUE);
        Message m = new Message(type, positive(), positive(), positive(), term);
        m.logTerm = nonNegative(term);
        m.index = nonNegative(Long.MAX_VALUE);
        m.commit = nonNegative(Long.MAX_VALUE);
        m.reject = random.nextBoolean();
        m.rejectHint = nonNegative(Long.MAX_VALUE);
        m.context = anyLong();
        if (type == MessageType.APPEND) {
            m.entries = contiguousEntries(m);
        } else if (type == MessageType.SNAPSHOT) {
            m.snapshot = snapshot(1 + nonNegative(Long.MAX_VALUE - 1), 1 + nonNegative(term - 1));
        }
        return m;
    }

    /** Entries after (index, logTerm) of an APPEND: contiguous, terms never decreasing, none past the message term. */
    private List<Entry> contiguousEntries(Message m) {
        if (m.term == 0 || random.nextInt(5) == 0) {
            return Message.NO_ENTRIES;
        }
        int count = 1 + random.nextInt(random.nextInt(8) == 0 ? 40 : 4);
        m.index = Math.min(m.index, Long.MAX_VALUE - count);
        List<Entry> entries = new ArrayList<>(count);
        long entryTerm = Math.max(1, m.logTerm);
        for (int i = 0; i < count; i++) {
            if (random.nextInt(4) == 0) {
                entryTerm += nonNegative(m.term - entryTerm);
            }
            entries.add(entry(entryTerm, m.index + 1 + i));
        }
        return random.nextBoolean() ? List.copyOf(entries) : entries;
    }

    private Entry entry(long term, long index) {
        if (random.nextInt(10) == 0) {
            ConfChange change = new ConfChange(CONF_CHANGE_TYPES[random.nextInt(CONF_CHANGE_TYPES.length)], positive());
            return new Entry(term, index, EntryType.CONF_CHANGE, change.encode());
        }
        return Entry.normal(term, index, payload());
    }

    private Snapshot snapshot(long index, long term) {
        return new Snapshot(new SnapshotMetadata(index, term, confState()), bytes(random.nextInt(48)));
    }

    private ConfState confState() {
        int voters = random.nextInt(6);
        int learners = random.nextInt(3);
        long[] v = new long[voters];
        long[] l = new long[learners];
        long next = 0;
        for (int i = 0; i < voters; i++) {
            next += 1 + random.nextInt(1000);
            v[i] = next;
        }
        for (int i = 0; i < learners; i++) {
            next += 1 + random.nextInt(1000);
            l[i] = next;
        }
        return new ConfState(v, l);
    }

    /** Any values at all, entries and a snapshot on any type: what the encoder writes need not decode. */
    Message arbitrary() {
        Message m = new Message(TYPES[random.nextInt(TYPES.length)], anyLong(), anyLong(), anyLong(), anyLong());
        m.logTerm = anyLong();
        m.index = anyLong();
        m.commit = anyLong();
        m.reject = random.nextBoolean();
        m.rejectHint = anyLong();
        m.context = anyLong();
        if (random.nextInt(3) == 0) {
            int count = random.nextInt(5);
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                entries.add(new Entry(anyLong(), anyLong(), random.nextBoolean() ? EntryType.NORMAL : EntryType.CONF_CHANGE,
                        payload()));
            }
            m.entries = entries;
        }
        if (random.nextInt(4) == 0) {
            m.snapshot = random.nextInt(5) == 0 ? Snapshot.EMPTY : snapshot(anyLong(), anyLong());
        }
        return m;
    }

    private byte[] payload() {
        int size = switch (random.nextInt(10)) {
            case 0 -> 0;
            case 1 -> 127 + random.nextInt(3);          // around the one-byte length boundary
            case 2 -> random.nextInt(maxPayloadBytes);
            default -> random.nextInt(200);
        };
        return bytes(Math.min(size, maxPayloadBytes));
    }

    byte[] bytes(int size) {
        byte[] b = new byte[size];
        random.nextBytes(b);
        return b;
    }

    /** 0 to {@code max}, often 0, small, or at a varint size edge. */
    long nonNegative(long max) {
        if (max <= 0) {
            return 0;
        }
        long v = switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> random.nextLong(Math.min(max, 300) + 1);
            case 2 -> {
                int bits = 7 * (1 + random.nextInt(9));
                long edge = bits >= 63 ? Long.MAX_VALUE : 1L << bits;
                yield edge + random.nextInt(3) - 1;
            }
            case 3 -> Long.MAX_VALUE;
            default -> random.nextLong(max) + 1;
        };
        return Math.max(0, Math.min(v, max));
    }

    long positive() {
        return 1 + nonNegative(Long.MAX_VALUE - 1);
    }

    /** Any 64 bits, negative (a uint64 of 2^63 or more) included. */
    long anyLong() {
        return switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> -1 - random.nextInt(3);
            case 2 -> nonNegative(Long.MAX_VALUE);
            default -> random.nextLong();
        };
    }

    // ---------------------------------------------------------------- rendering

    /** Every field of every message, payloads in hex: equal text means equal decodings. */
    static String render(List<Message> messages) {
        StringBuilder b = new StringBuilder();
        for (Message m : messages) {
            b.append(m.type).append(" g=").append(m.groupId).append(' ').append(m.from).append("->").append(m.to)
                    .append(" t=").append(m.term).append(" lt=").append(m.logTerm).append(" i=").append(m.index)
                    .append(" c=").append(m.commit).append(" r=").append(m.reject).append(" rh=").append(m.rejectHint)
                    .append(" ctx=").append(m.context).append(" entries=[");
            for (Entry e : m.entries) {
                b.append(' ').append(e.term()).append('/').append(e.index()).append('/').append(e.type())
                        .append('/').append(HexFormat.of().formatHex(e.data()));
            }
            b.append(" ]");
            if (m.snapshot != null) {
                b.append(" snapshot=").append(m.snapshot.metadata()).append('/')
                        .append(HexFormat.of().formatHex(m.snapshot.data()));
            }
            b.append('\n');
        }
        return b.toString();
    }
}
