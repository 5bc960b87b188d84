package io.flotilla.engine.node;

import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A raw client of the node's client protocol for tests: a plain socket speaking the framing (4-byte
 * big-endian length, one message), many requests in flight matched by request id, and raw bytes for
 * malformed input. Sends from the test thread; a reader thread completes the futures.
 */
public final class TestKvClient implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final Map<Long, CompletableFuture<Response>> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread reader;

    public TestKvClient(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5_000);
        socket.setTcpNoDelay(true);
        out = socket.getOutputStream();
        reader = new Thread(this::readLoop, "test-client-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** Sends {@code request} with a fresh request id; the future completes with its response. */
    public CompletableFuture<Response> send(Request.Builder request) throws IOException {
        long id = nextId.getAndIncrement();
        CompletableFuture<Response> f = new CompletableFuture<>();
        pending.put(id, f);
        byte[] body = request.setRequestId(id).build().toByteArray();
        sendRaw(ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array());
        return f;
    }

    /** Sends and waits up to 10 s for the response. */
    public Response call(Request.Builder request) throws Exception {
        return send(request).get(10, TimeUnit.SECONDS);
    }

    public synchronized void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** Waits until the node closed the connection; true if it did within {@code timeoutMs}. */
    public boolean awaitClosedByNode(long timeoutMs) throws InterruptedException {
        return closed.await(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void readLoop() {
        try (DataInputStream in = new DataInputStream(socket.getInputStream())) {
            while (true) {
                int length = in.readInt();
                byte[] body = new byte[length];
                in.readFully(body);
                Response r = Response.parseFrom(body);
                CompletableFuture<Response> f = pending.remove(r.getRequestId());
                if (f != null) {
                    f.complete(r);
                }
            }
        } catch (EOFException e) {
            // The node closed the connection.
        } catch (IOException e) {
            // Closed by close(), or reset.
        } finally {
            for (CompletableFuture<Response> f : pending.values()) {
                f.completeExceptionally(new IOException("connection closed"));
            }
            closed.countDown();
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
