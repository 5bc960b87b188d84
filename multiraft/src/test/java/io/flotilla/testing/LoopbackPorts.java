package io.flotilla.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for test nodes that stop and start again on the same port.
 *
 * <p>A port the kernel hands out for {@code new ServerSocket(0)} comes from its ephemeral range,
 * the same range it draws the local port of every outgoing connection from. Once the test node
 * on such a port stops, any connection made on this machine (a peer reconnecting elsewhere,
 * Maven, another test fork) may take it, and the node cannot listen again when it restarts
 * ("Address already in use"). Ports below the ephemeral range are only ever taken by a process
 * that asks for them by number, so this picks free ones there at random.
 */
public final class LoopbackPorts {
    private static final int LOWEST = 10_000;

    private LoopbackPorts() {
    }

    /** {@code count} distinct ports below the ephemeral range that nothing listens on now. */
    public static int[] reserve(int count) throws IOException {
        int highest = ephemeralRangeStart() - 1;
        Set<Integer> chosen = new LinkedHashSet<>();
        for (int attempt = 0; chosen.size() < count; attempt++) {
            if (attempt > 10_000) {
                throw new IOException("found only " + chosen.size() + " of " + count
                        + " free loopback ports in " + LOWEST + ".." + highest);
            }
            int port = ThreadLocalRandom.current().nextInt(LOWEST, highest + 1);
            if (!chosen.contains(port) && canListenOn(port)) {
                chosen.add(port);
            }
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean canListenOn(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /** Linux says where its ephemeral range starts; elsewhere assume the IANA range (49152). */
    private static int ephemeralRangeStart() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int start = Integer.parseInt(range.split("\\s+")[0]);
            return Math.max(start, LOWEST + 1_000);
        } catch (IOException | RuntimeException unknown) {
            return 49_152;
        }
    }
}
