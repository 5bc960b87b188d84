package io.flotilla.transport;

import static org.assertj.core.api.Assertions.fail;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.wire.RaftCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.concurrent.locks.LockSupport;

/** Helpers for transport tests: deadline waits, a recording listener, messages, raw frames. Test thread only. */
public final class TransportTestSupport {
    static final long CLUSTER = 7;
    public static final Duration TIMEOUT = Duration.ofSeconds(15);

    private TransportTestSupport() {
    }

    /** Polls {@code condition} until it holds or the deadline passes; never sleeps a fixed time. */
    public static void waitUntil(BooleanSupplier condition, Duration timeout, Supplier<String> what) {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadlineNs > 0) {
                fail("timed out after " + timeout + " waiting for " + what.get());
            }
            LockSupport.parkNanos(1_000_000);
        }
    }

    static void waitUntil(BooleanSupplier condition, Supplier<String> what) {
        waitUntil(condition, TIMEOUT, what);
    }

    /** Test-friendly timings: fast re-dials. */
    static TransportConfig config(long nodeId) {
        return TransportConfig.of(CLUSTER, nodeId, 0).withReconnectBackoffMs(10, 200);
    }

    /** An address nothing listens on (a port just released), for peers that must stay unreachable. */
    static InetSocketAddress deadAddress() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
    }

    /** Connects every pair of transports both ways and waits until every link is up. */
    static void connectAll(List<PeerTransport> nodes) {
        for (PeerTransport a : nodes) {
            for (PeerTransport b : nodes) {
                if (a != b) {
                    a.addPeer(b.config().nodeId(), b.localAddress());
                }
            }
        }
        for (PeerTransport a : nodes) {
            for (PeerTransport b : nodes) {
                if (a != b) {
                    long peer = b.config().nodeId();
                    waitUntil(() -> a.isConnected(peer), () -> "node " + a.config().nodeId() + " connected to " + peer);
                }
            }
        }
    }

    /** An APPEND carrying one entry whose payload names the group and sequence number. */
    static Message append(long groupId, long from, long to, long seq) {
        Message m = new Message(MessageType.APPEND, groupId, from, to, 3);
        m.logTerm = 3;
        m.index = 10 + seq;
        m.commit = 10 + seq;
        m.entries = List.of(Entry.normal(3, 11 + seq, ("g" + groupId + "-s" + seq).getBytes(StandardCharsets.UTF_8)));
        return m;
    }

    /** A message's identity for comparisons: every field that travels shows in {@code toString}. */
    static String key(Message m) {
        return "group " + m.groupId + " " + m;
    }

    // ---------------------------------------------------------------- raw frames

    public static byte[] frame(byte[] body) {
        return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
    }

    static byte[] handshake(long cluster, long from, long to, int version) {
        return frame(Handshake.newBuilder().setClusterId(cluster).setSenderNodeId(from).setReceiverNodeId(to)
                .setProtocolVersion(version).build().toByteArray());
    }

    static byte[] batch(Message... messages) {
        return frame(RaftCodec.encodeBatch(List.of(messages)));
    }

    public static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    public static Socket rawConnect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 5_000);
        s.setSoTimeout((int) TIMEOUT.toMillis());
        return s;
    }

    /** Reads (and discards, e.g. a handshake answer) until the transport closes the connection. */
    public static void assertClosedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // keep reading until end of stream
            }
        } catch (SocketTimeoutException e) {
            fail("the transport did not close the connection within " + TIMEOUT);
        } catch (SocketException e) {
            // reset by the transport: closed too
        }
    }

    /** Records what a transport delivers; written by event-loop and sender threads, read by the test. */
    static final class RecordingListener implements PeerTransport.Listener {
        record Received(long fromNodeId, Message message, String threadName) {
        }

        final Queue<Received> received = new ConcurrentLinkedQueue<>();
        final Map<Long, AtomicInteger> unreachable = new ConcurrentHashMap<>();

        @Override
        public void onMessages(long fromNodeId, List<Message> messages) {
            String thread = Thread.currentThread().getName();
            for (Message m : messages) {
                received.add(new Received(fromNodeId, m, thread));
            }
        }

        @Override
        public void onUnreachable(long peerNodeId) {
            unreachable.computeIfAbsent(peerNodeId, k -> new AtomicInteger()).incrementAndGet();
        }

        int count() {
            return received.size();
        }

        int unreachable(long peerNodeId) {
            AtomicInteger n = unreachable.get(peerNodeId);
            return n == null ? 0 : n.get();
        }

        List<String> keysFrom(long fromNodeId) {
            List<String> keys = new ArrayList<>();
            for (Received r : received) {
                if (r.fromNodeId() == fromNodeId) {
                    keys.add(key(r.message()));
                }
            }
            return keys;
        }
    }
}
