package io.flotilla.client;

import io.flotilla.kv.proto.Response;

/**
 * Waits for the answer to one request sent on a {@link NodeConnection}. Called on the client's I/O
 * thread, at most once, with either the response or the reason the connection could not deliver it.
 */
interface ResponseListener {
    void onResponse(Response response);

    /** The request's connection failed or closed before its response arrived; {@code reason} says how. */
    void onConnectionLost(String reason);
}
