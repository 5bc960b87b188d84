package io.flotilla.tools;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Finds a base port for a local test cluster whose ports are all free on 127.0.0.1 right now. */
final class TestPorts {
    private TestPorts() {
    }

    static int freeBase(int nodes) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = 20_000 + 100 * ThreadLocalRandom.current().nextInt(300);
            if (allFree(base, nodes)) {
                return base;
            }
        }
        throw new IllegalStateException("no free block of ports found between 20000 and 50000");
    }

    private static boolean allFree(int base, int nodes) {
        for (int i = 1; i <= nodes; i++) {
            for (int offset = 0; offset < 3; offset++) {
                try (ServerSocket s = new ServerSocket(base + 10 * i + offset, 1, InetAddress.getLoopbackAddress())) {
                    s.setReuseAddress(true);
                } catch (IOException taken) {
                    return false;
                }
            }
        }
        return true;
    }
}
