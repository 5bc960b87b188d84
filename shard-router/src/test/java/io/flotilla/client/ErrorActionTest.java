package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.Error;
import org.junit.jupiter.api.Test;

/** What the client does with each typed error of kv.proto ({@link ErrorAction}). One test thread. */
class ErrorActionTest {
    @Test
    void everyErrorKindHasAnAction() {
        for (Error.KindCase kind : Error.KindCase.values()) {
            Error.Builder error = Error.newBuilder();
            switch (kind) {
                case NOT_LEADER -> error.setNotLeader(io.flotilla.kv.proto.NotLeader.getDefaultInstance());
                case RANGE_NOT_FOUND -> error.setRangeNotFound(io.flotilla.kv.proto.RangeNotFound.getDefaultInstance());
                case KEY_NOT_IN_RANGE -> error.setKeyNotInRange(io.flotilla.kv.proto.KeyNotInRange.getDefaultInstance());
                case EPOCH_MISMATCH -> error.setEpochMismatch(io.flotilla.kv.proto.EpochMismatch.getDefaultInstance());
                case BUSY -> error.setBusy(io.flotilla.kv.proto.Busy.getDefaultInstance());
                case TOO_LARGE -> error.setTooLarge(io.flotilla.kv.proto.TooLarge.getDefaultInstance());
                case SESSION_EXPIRED -> error.setSessionExpired(io.flotilla.kv.proto.SessionExpired.getDefaultInstance());
                case UNAVAILABLE -> error.setUnavailable(io.flotilla.kv.proto.Unavailable.getDefaultInstance());
                case TIMEOUT -> error.setTimeout(io.flotilla.kv.proto.Timeout.getDefaultInstance());
                case INTERNAL -> error.setInternal(io.flotilla.kv.proto.Internal.getDefaultInstance());
                case CLUSTER_MISMATCH -> error.setClusterMismatch(io.flotilla.kv.proto.ClusterMismatch.getDefaultInstance());
                case KIND_NOT_SET -> { }
            }
            assertThat(ErrorAction.of(error.build())).as(kind.name()).isNotNull();
        }
    }

    @Test
    void onlyTransientErrorsAreRetried() {
        assertThat(ErrorAction.of(Error.newBuilder().setBusy(io.flotilla.kv.proto.Busy.getDefaultInstance()).build())).isEqualTo(ErrorAction.BACK_OFF);
        assertThat(ErrorAction.of(Error.newBuilder().setTooLarge(io.flotilla.kv.proto.TooLarge.getDefaultInstance()).build())).isEqualTo(ErrorAction.FAIL);
        assertThat(ErrorAction.of(Error.newBuilder().setSessionExpired(io.flotilla.kv.proto.SessionExpired.getDefaultInstance()).build()))
                .isEqualTo(ErrorAction.FAIL);
        assertThat(ErrorAction.of(Error.newBuilder().setEpochMismatch(io.flotilla.kv.proto.EpochMismatch.getDefaultInstance()).build()))
                .isEqualTo(ErrorAction.ADOPT_DESCRIPTORS);
        assertThat(ErrorAction.of(Error.getDefaultInstance())).as("an error this client does not know").isEqualTo(ErrorAction.FAIL);
    }
}
