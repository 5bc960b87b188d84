package io.flotilla.engine.rocks;

import com.google.protobuf.ByteString;

/**
 * How a group's column family lays out its keys. Every user key is stored behind the byte
 * {@code 0x01}; the group's own records sit behind {@code 0x00}, a prefix no user key can take: the
 * apply state at {@code 00 'A'} and the state machine's metadata records (client sessions) at
 * {@code 00 'M' <key>}. Pure functions.
 */
final class RocksKeys {
    static final byte META = 0x00;
    static final byte DATA = 0x01;
    static final byte[] APPLY_STATE = {META, 'A'};
    private static final byte[] META_RECORDS = {META, 'M'};
    /** The stored form of the empty user key: no user key sorts before it. */
    static final byte[] DATA_START = {DATA};
    /** The first key past every user key. */
    static final byte[] DATA_END = {DATA + 1};

    private RocksKeys() {
    }

    static byte[] data(ByteString key) {
        byte[] k = new byte[key.size() + 1];
        k[0] = DATA;
        key.copyTo(k, 1);
        return k;
    }

    /** The stored bound of an interval that ends before user key {@code end}; an empty end: past every user key. */
    static byte[] dataEnd(ByteString end) {
        return end.isEmpty() ? DATA_END : data(end);
    }

    static ByteString userKey(byte[] storedKey) {
        return ByteString.copyFrom(storedKey, 1, storedKey.length - 1);
    }

    static byte[] meta(ByteString key) {
        byte[] k = new byte[key.size() + 2];
        k[0] = META_RECORDS[0];
        k[1] = META_RECORDS[1];
        key.copyTo(k, 2);
        return k;
    }

    static ByteString metaKey(byte[] storedKey) {
        return ByteString.copyFrom(storedKey, 2, storedKey.length - 2);
    }
}
