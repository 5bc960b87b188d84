package io.flotilla.bench.load;

/** The operations the load generator issues. Immutable. */
enum OpKind {
    /** A get of one key at the run's read consistency. */
    READ("get"),
    /** A put of one key. */
    PUT("put"),
    /** A compare-and-set of one key whose expected and new value are the run's value. */
    CAS("cas"),
    /** A scan of up to {@code --scan-limit} keys from one key, within its range. */
    SCAN("scan");

    /** The name in tables and plots. */
    final String label;

    OpKind(String label) {
        this.label = label;
    }
}
