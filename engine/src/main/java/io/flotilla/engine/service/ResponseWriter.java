package io.flotilla.engine.service;

import com.google.protobuf.CodedOutputStream;
import io.flotilla.kv.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes one client connection's responses. Any thread may {@link #send} (workers answering
 * proposals and reads, deadline timers, the event loop itself); the responses are queued and written
 * by the connection's event loop, which encodes every response queued so far and flushes once for
 * all of them: one flush per batch, not per response (answers from one worker round, or to one read
 * of many pipelined requests, go out in one syscall).
 */
public final class ResponseWriter {
    private final Channel channel;
    private final ConcurrentLinkedQueue<Response> queue = new ConcurrentLinkedQueue<>();
    /** A drain is queued on the event loop; set by the sender that queues it, cleared by the drain. */
    private final AtomicBoolean drainQueued = new AtomicBoolean();
    private final Runnable drain = this::drain;

    ResponseWriter(Channel channel) {
        this.channel = channel;
    }

    /** The connection's event loop: timers of its requests run there. */
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /** Queues a response; it is written at the event loop's next turn. Dropped if the connection closed. Never throws. */
    public void send(Response response) {
        queue.add(response);
        if (drainQueued.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(drain);
            } catch (RejectedExecutionException e) {
                // The client service has shut down and its connections with it: nobody to answer. A
                // worker thread calling here must not fail for it.
                queue.clear();
            }
        }
    }

    private void drain() {
        // Cleared first: a response queued after the loop below starts schedules a drain of its own.
        drainQueued.set(false);
        if (!channel.isActive()) {
            queue.clear();
            return;
        }
        int written = 0;
        for (Response r; (r = queue.poll()) != null; ) {
            channel.write(encode(r), channel.voidPromise());
            written++;
        }
        if (written > 0) {
            channel.flush();
        }
    }

    private ByteBuf encode(Response response) {
        int size = response.getSerializedSize();
        ByteBuf buf = channel.alloc().ioBuffer(4 + size);
        buf.writeInt(size);
        try {
            CodedOutputStream out = CodedOutputStream.newInstance(buf.nioBuffer(4, size));
            response.writeTo(out);
            out.checkNoSpaceLeft();
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw new IllegalStateException("response " + response.getRequestId() + " of " + size + " bytes did not encode", e);
        }
        buf.writerIndex(4 + size);
        return buf;
    }
}
