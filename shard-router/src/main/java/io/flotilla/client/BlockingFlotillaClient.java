package io.flotilla.client;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A blocking view of a {@link FlotillaClient}: each method waits for its call and returns its
 * result or throws its {@link FlotillaException}. Thread-safe; any thread but the client's own I/O
 * thread may call it (waiting there would wait forever, so it is refused).
 */
public final class BlockingFlotillaClient {
    private final FlotillaClient client;

    BlockingFlotillaClient(FlotillaClient client) {
        this.client = client;
    }

    /** The client this view waits on. */
    public FlotillaClient async() {
        return client;
    }

    public byte[] get(byte[] key) {
        return await(client.get(key));
    }

    public byte[] get(byte[] key, ReadConsistency consistency) {
        return await(client.get(key, consistency));
    }

    public String get(String key) {
        return await(client.get(key));
    }

    public void put(byte[] key, byte[] value) {
        await(client.put(key, value));
    }

    public void put(String key, String value) {
        await(client.put(key, value));
    }

    public boolean delete(byte[] key) {
        return await(client.delete(key));
    }

    public boolean delete(String key) {
        return await(client.delete(key));
    }

    public CasResult compareAndSet(byte[] key, byte[] expected, byte[] newValue) {
        return await(client.compareAndSet(key, expected, newValue));
    }

    public CasResult compareAndDelete(byte[] key, byte[] expected) {
        return await(client.compareAndDelete(key, expected));
    }

    public BatchResult batch(WriteBatch batch) {
        return await(client.batch(batch));
    }

    public ScanResult scan(byte[] start, byte[] end, int limit) {
        return await(client.scan(start, end, limit));
    }

    public ScanResult scan(byte[] start, byte[] end, int limit, ReadConsistency consistency) {
        return await(client.scan(start, end, limit, consistency));
    }

    private <T> T await(CompletableFuture<T> call) {
        if (client.inIoThread()) {
            call.cancel(false);
            throw new IllegalStateException("a blocking call on the client's I/O thread (in a callback of another call)"
                    + " would wait forever; chain the async call instead, or give the builder a callbackExecutor");
        }
        try {
            return call.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new FlotillaException("the call failed: " + cause, cause);
        } catch (CancellationException e) {
            throw new FlotillaException("the call was cancelled", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlotillaException("interrupted while waiting for the call; it may still complete", e);
        }
    }
}
