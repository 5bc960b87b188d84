package io.flotilla.engine.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The client connection's framing, on an embedded channel: frames split across reads or packed
 * into one read decode exactly; an oversized length or bytes that are not a Request close the
 * connection before anything reaches the service; responses queued together go out with one flush.
 */
class KvServiceFramingTest {
    private static final int LIMIT = 1024;

    private final List<Request> handled = new ArrayList<>();

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new ClientFrameDecoder(LIMIT), new ClientConnection((r, out) -> handled.add(r)));
    }

    private static ByteBuf frame(Request r) {
        byte[] body = r.toByteArray();
        return Unpooled.buffer().writeInt(body.length).writeBytes(body);
    }

    private static Request get(long id) {
        return Request.newBuilder().setRequestId(id).setGet(GetRequest.newBuilder().setKey(com.google.protobuf.ByteString
                .copyFromUtf8("key-" + id))).build();
    }

    @Test
    void framesSplitAcrossReadsOrPackedIntoOneDecodeExactly() {
        EmbeddedChannel ch = channel();
        ByteBuf all = Unpooled.buffer();
        for (long id = 1; id <= 3; id++) {
            all.writeBytes(frame(get(id)));
        }
        // Three frames, fed in pieces of 5 bytes: every boundary falls somewhere inside a frame.
        while (all.isReadable()) {
            ch.writeInbound(all.readRetainedSlice(Math.min(5, all.readableBytes())));
        }
        all.release();
        ch.writeInbound(frame(get(4)).writeBytes(frame(get(5))));
        assertThat(handled).extracting(Request::getRequestId).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(ch.isOpen()).isTrue();
        ch.finishAndReleaseAll();
    }

    @Test
    void anOversizedLengthClosesTheConnectionBeforeTheFrameArrives() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.buffer().writeInt(LIMIT + 1));
        assertThat(ch.isOpen()).isFalse();
        assertThat(handled).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void bytesThatAreNotARequestCloseTheConnectionAndReachNothing() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(frame(get(1)).writeInt(3).writeBytes(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff})
                .writeBytes(frame(get(2))));
        assertThat(ch.isOpen()).isFalse();
        assertThat(handled).extracting(Request::getRequestId).containsExactly(1L);
        ch.finishAndReleaseAll();
    }

    @Test
    void responsesQueuedTogetherAreWrittenWithOneFlush() throws Exception {
        int[] flushes = new int[1];
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                flushes[0]++;
                ctx.flush();
            }
        });
        ResponseWriter out = new ResponseWriter(ch);
        Thread worker = new Thread(() -> {
            for (long id = 1; id <= 100; id++) {
                out.send(Response.newBuilder().setRequestId(id).build());
            }
        });
        worker.start();
        worker.join();
        ch.runPendingTasks();
        assertThat(flushes[0]).isEqualTo(1);
        for (long id = 1; id <= 100; id++) {
            ByteBuf b = ch.readOutbound();
            int length = b.readInt();
            assertThat(length).isEqualTo(b.readableBytes());
            assertThat(Response.parseFrom(b.nioBuffer()).getRequestId()).isEqualTo(id);
            b.release();
        }
        assertThat((Object) ch.readOutbound()).isNull();
        ch.finishAndReleaseAll();
    }
}
