package io.flotilla.engine.service;

import io.flotilla.kv.proto.Request;

/**
 * What a client connection hands each decoded request to. Called on the connection's event loop;
 * must not block: the answer goes to {@code out} later, from any thread.
 */
public interface RequestHandler {
    void handle(Request request, ResponseWriter out);
}
