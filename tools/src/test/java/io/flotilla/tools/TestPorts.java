package io.flotilla.tools;

/** Finds a base port for a local test cluster whose ports are all free on 127.0.0.1 right now. */
final class TestPorts {
    private TestPorts() {
    }

    static int freeBase(int nodes) {
        return LocalClusterLayout.freeBasePort(nodes);
    }
}
