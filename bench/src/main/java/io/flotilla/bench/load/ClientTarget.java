package io.flotilla.bench.load;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.ReadConsistency;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * The cluster, through one or more {@link FlotillaClient}s (each its own connections and I/O
 * thread): gets and scans at the run's read consistency, puts of the run's value, and
 * compare-and-sets that expect the run's value and write it again (so one holds on every key a put
 * has written in a run with the same {@code --value-size}). Immutable; any thread.
 */
final class ClientTarget implements LoadTarget {
    private final List<FlotillaClient> clients;
    private final KeyCodec keys;
    private final byte[] value;
    private final ReadConsistency consistency;
    private final int scanLimit;

    ClientTarget(List<FlotillaClient> clients, KeyCodec keys, int valueSize, ReadConsistency consistency, int scanLimit) {
        if (valueSize < 0) {
            throw new IllegalArgumentException("--value-size must be 0 or more bytes, not " + valueSize);
        }
        this.clients = List.copyOf(clients);
        this.keys = keys;
        this.value = value(valueSize);
        this.consistency = consistency;
        this.scanLimit = scanLimit;
    }

    /** The bytes every put writes: printable letters from a fixed seed, the same in every run. */
    static byte[] value(int size) {
        byte[] v = new byte[size];
        SplittableRandom letters = new SplittableRandom(7);
        for (int i = 0; i < size; i++) {
            v[i] = (byte) ('a' + letters.nextInt(26));
        }
        return v;
    }

    @Override
    public CompletableFuture<Boolean> issue(OpKind kind, long key, long slot) {
        FlotillaClient client = clients.get((int) Math.floorMod(slot, (long) clients.size()));
        byte[] k = keys.key(key);
        switch (kind) {
            case READ:
                return client.get(k, consistency).thenApply(v -> v != null);
            case PUT:
                return client.put(k, value).thenApply(v -> Boolean.TRUE);
            case CAS:
                return client.compareAndSet(k, value, value).thenApply(r -> r.succeeded());
            case SCAN:
                return client.scan(k, null, scanLimit, consistency).thenApply(r -> !r.entries().isEmpty());
            default:
                throw new IllegalStateException("unknown operation " + kind);
        }
    }
}
