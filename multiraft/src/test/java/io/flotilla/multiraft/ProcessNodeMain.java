package io.flotilla.multiraft;

import io.flotilla.raft.ProposeResult;
import io.flotilla.transport.PeerTransport;
import io.flotilla.transport.TransportConfig;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalWriterConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One runtime node as its own process, for {@link ThreeProcessClusterTest}: groups 1..G on nodes
 * 1..3, its WAL in a directory, its transport on a fixed loopback port. It proposes commands to
 * every group (only the leader's replica accepts them) until each group holds {@code target}
 * commands, and prints {@code checksums ...} whenever its applied state changes, so the test can
 * see all three converge. Runs until killed.
 *
 * <pre>ProcessNodeMain nodeId dir port1 port2 port3 groups target</pre>
 */
public final class ProcessNodeMain {
    /**
     * The test that started this node holds the other end of its stdin: when that JVM dies (killed,
     * or a build interrupted), stdin reaches its end and this node exits instead of running on as an
     * orphan (found after an interrupted build left three nodes running for an hour).
     */
    private static void exitWhenParentDies() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // Nothing is ever written; any byte is ignored.
                }
            } catch (java.io.IOException e) {
                // A broken pipe means the same as its end.
            }
            Runtime.getRuntime().halt(3);
        }, "parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    public static void main(String[] args) throws Exception {
        long id = Long.parseLong(args[0]);
        Path dir = Path.of(args[1]);
        int[] ports = {0, Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4])};
        int groups = Integer.parseInt(args[5]);
        int target = Integer.parseInt(args[6]);
        exitWhenParentDies();

        WalConfig wc = new WalConfig(dir, 1, id, 1 << 20, 256 << 10);
        Wal wal = Wal.open(new NioWalFileSystem(), wc, new WalWriterConfig(1024, 1 << 20, 1), WalCacheConfig.defaults(),
                new WalCacheBudget(64 << 20));
        InMemoryStateMachine sm = new InMemoryStateMachine();
        TransportPeerSender sender = new TransportPeerSender();
        MultiRaftNode node = new MultiRaftNode(new MultiRaftConfig(id, 1, 10, 10, 1, 1 << 14, 4096, 1000), wal, sm, sender);
        TransportConfig tc = TransportConfig.of(1, id, ports[(int) id]).withReconnectBackoffMs(10, 200);
        for (long peer = 1; peer <= 3; peer++) {
            if (peer != id) {
                tc = tc.withPeer(peer, new InetSocketAddress("127.0.0.1", ports[(int) peer]));
            }
        }
        PeerTransport transport = PeerTransport.start(tc, sender);
        sender.connect(transport, node);
        node.start();
        for (long g = 1; g <= groups; g++) {
            node.createGroup(g, 1, 2, 3);
        }
        System.out.println("started " + id);

        AtomicInteger inFlight = new AtomicInteger();
        long seq = 0;
        String last = "";
        while (true) {
            for (long g = 1; g <= groups; g++) {
                if (sm.group(g).commands() < target && inFlight.get() < 64) {
                    inFlight.incrementAndGet();
                    node.propose(g, ("n" + id + "-" + g + "-" + seq++).getBytes(), new ProposalListener() {
                        @Override
                        public void onApplied(long groupId, long index) {
                            inFlight.decrementAndGet();
                        }

                        @Override
                        public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                            inFlight.decrementAndGet();
                        }

                        @Override
                        public void onOutcomeUnknown(long groupId, long index) {
                            inFlight.decrementAndGet();
                        }

                        @Override
                        public void onBusy(long groupId) {
                            inFlight.decrementAndGet();
                        }
                    });
                }
            }
            StringBuilder b = new StringBuilder("checksums");
            for (long g = 1; g <= groups; g++) {
                InMemoryStateMachine.GroupState s = sm.group(g);
                b.append(' ').append(g).append(':').append(s.commands()).append('/').append(Long.toHexString(s.checksum()));
            }
            String line = b.toString();
            if (!line.equals(last)) {
                System.out.println(line);
                last = line;
            }
            if (node.failure() != null) {
                node.failure().printStackTrace();
                System.exit(2);
            }
            LockSupport.parkNanos(20_000_000);
        }
    }
}
