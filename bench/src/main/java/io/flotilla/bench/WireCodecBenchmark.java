package io.flotilla.bench;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.transport.FrameCodec;
import io.flotilla.transport.LengthPrefixedFrameDecoder;
import io.flotilla.wire.MessageBatchCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The peer wire's batch codec, {@link MessageBatchCodec}: {@link #encode} sizes the messages and
 * writes them into one pooled frame, as {@code PeerTransport} does; {@link #decode} reads them from
 * the frame body in place, as {@code InboundHandler} does.
 *
 * <p>Until the proto-object path (a {@code RaftMessage} and {@code Entry} per message, the received
 * frame copied out and parsed into them) left main code, this class measured it side by side with
 * the direct codec. Its figures for an APPEND, 300 B allocated per message to encode and 1,015 B to
 * decode against 5 and 325 B, are in docs/PERFORMANCE-HISTORY.md; commit {@code 5508b74} has the
 * benchmark that produced them.
 *
 * <p>One batch is what one worker round sends one peer: 64 messages, one per group, either APPENDs
 * with one 128-byte entry each or APPEND_RESPONSEs. Frames come from and go back to Netty's pooled
 * (direct) allocator, as on a connection. Each invocation is a whole batch and counts as 64
 * operations, so the score is ns per message and {@code gc.alloc.rate.norm} from {@code -prof gc}
 * is bytes allocated per message. Single-threaded.
 *
 * <p>Run: {@code bench/run WireCodecBenchmark -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 2, timeUnit = TimeUnit.SECONDS)
public class WireCodecBenchmark {
    private static final int MESSAGES = 64;
    private static final int PAYLOAD_BYTES = 128;
    private static final int MAX_FRAME_BYTES = 16 << 20;

    @Param({"APPEND", "APPEND_RESPONSE"})
    public String type;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private List<Message> batch;
    /** The batch's frame body, as the frame decoder hands it over: a slice of a pooled direct buffer. */
    private ByteBuf received;

    @Setup(Level.Trial)
    public void setUp() {
        batch = new ArrayList<>(MESSAGES);
        long term = 7;
        for (int g = 1; g <= MESSAGES; g++) {
            long index = 1_000_000L + g * 17L;
            Message m;
            if (type.equals("APPEND")) {
                m = new Message(MessageType.APPEND, g, 1, 2, term);
                m.index = index;
                m.logTerm = term;
                m.commit = index;
                byte[] payload = new byte[PAYLOAD_BYTES];
                for (int i = 0; i < payload.length; i++) {
                    payload[i] = (byte) ('a' + (i + g) % 26);
                }
                m.entries = List.of(Entry.normal(term, index + 1, payload));
            } else {
                m = new Message(MessageType.APPEND_RESPONSE, g, 2, 1, term);
                m.index = index + 1;
            }
            batch.add(m);
        }
        ByteBuf frame = encodeFrame();
        received = frame.skipBytes(LengthPrefixedFrameDecoder.LENGTH_FIELD_BYTES).slice();
        // The frame must read back as the batch written into it, or the figures measure nothing.
        check(decode().toString().equals(batch.toString()), "the frame does not decode to the batch");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        received.release();
    }

    // ---------------------------------------------------------------- encode

    @Benchmark
    @OperationsPerInvocation(MESSAGES)
    public int encode() {
        ByteBuf frame = encodeFrame();
        int bytes = frame.readableBytes();
        frame.release();
        return bytes;
    }

    /** What PeerTransport.sendFrames does for a batch that fits one frame. */
    private ByteBuf encodeFrame() {
        int bodyBytes = 0;
        for (int i = 0; i < batch.size(); i++) {
            int fieldBytes = MessageBatchCodec.fieldBytes(batch.get(i));
            check(fieldBytes <= MAX_FRAME_BYTES && bodyBytes + fieldBytes <= MAX_FRAME_BYTES, "one frame");
            bodyBytes += fieldBytes;
        }
        return FrameCodec.encodeBatch(alloc, batch, 0, batch.size(), bodyBytes, MAX_FRAME_BYTES);
    }

    // ---------------------------------------------------------------- decode

    @Benchmark
    @OperationsPerInvocation(MESSAGES)
    public List<Message> decode() {
        return MessageBatchCodec.decodeBatch(received.nioBuffer(), MAX_FRAME_BYTES);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
