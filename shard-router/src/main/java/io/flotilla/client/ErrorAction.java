package io.flotilla.client;

import io.flotilla.kv.proto.Error;

/**
 * What a call does about each kind of typed error a node answers. Pure, any thread.
 */
enum ErrorAction {
    /** NotLeader: go to the hinted leader at once, or, without a hint, to another replica after a wait. */
    FOLLOW_LEADER,
    /** RangeNotFound: the node does not host the range; forget the descriptor, look it up again after a wait. */
    LOOK_UP_AGAIN,
    /** KeyNotInRange, EpochMismatch: cache the descriptors the error carries and route again. */
    ADOPT_DESCRIPTORS,
    /** Busy, Unavailable, Timeout: the same request may succeed later; wait and retry. */
    BACK_OFF,
    /** TooLarge, SessionExpired, ClusterMismatch, InvalidArgument, Internal, or an error this client does not know: give up. */
    FAIL;

    static ErrorAction of(Error error) {
        return switch (error.getKindCase()) {
            case NOT_LEADER -> FOLLOW_LEADER;
            case RANGE_NOT_FOUND -> LOOK_UP_AGAIN;
            case KEY_NOT_IN_RANGE, EPOCH_MISMATCH -> ADOPT_DESCRIPTORS;
            case BUSY, UNAVAILABLE, TIMEOUT -> BACK_OFF;
            case TOO_LARGE, SESSION_EXPIRED, CLUSTER_MISMATCH, INVALID_ARGUMENT, INTERNAL, KIND_NOT_SET -> FAIL;
        };
    }
}
