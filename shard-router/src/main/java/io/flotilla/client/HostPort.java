package io.flotilla.client;

/** A node's client address. Immutable, any thread. */
record HostPort(String host, int port) {
    HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("a node address needs a host");
        }
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " of " + host + " is not in 1..65535");
        }
    }

    /** Parses {@code host:port} (an IPv6 host in brackets: {@code [::1]:7101}). */
    static HostPort parse(String address) {
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("seed \"" + address + "\" is not host:port");
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            return new HostPort(host, Integer.parseInt(address.substring(colon + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("seed \"" + address + "\" has no numeric port", e);
        }
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
