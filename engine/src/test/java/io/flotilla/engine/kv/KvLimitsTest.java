package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.batch;
import static io.flotilla.engine.kv.KvHarness.cas;
import static io.flotilla.engine.kv.KvHarness.condition;
import static io.flotilla.engine.kv.KvHarness.put;
import static io.flotilla.engine.kv.KvHarness.putOp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.WriteOp;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The check the node runs before it proposes a write. */
class KvLimitsTest {
    private final KvLimits limits = KvLimits.defaults();

    @Test
    void writesWithinTheDefaultLimitsPass() {
        assertThat(limits.check(put("k", "v").build())).isNull();
        assertThat(limits.check(put("k", "v").build().toBuilder()
                .setPut(put("k", "").getPut().toBuilder().setKey(ByteString.copyFrom(new byte[64 << 10]))).build())).isNull();
        assertThat(limits.check(cas("k", "a", "b").build())).isNull();
    }

    @Test
    void eachLimitNamesItselfTheSizeAndTheMaximum() {
        Error key = limits.checkKey(ByteString.copyFrom(new byte[(64 << 10) + 1]));
        assertThat(key.getTooLarge().getLimit()).isEqualTo("key");
        assertThat(key.getTooLarge().getSize()).isEqualTo((64 << 10) + 1);
        assertThat(key.getTooLarge().getMax()).isEqualTo(64 << 10);
        assertThat(key.getMessage()).contains("over the limit");

        Error value = limits.checkValue(ByteString.copyFrom(new byte[(8 << 20) + 1]));
        assertThat(value.getTooLarge().getLimit()).isEqualTo("value");

        Error expected = limits.check(cas("k", "x".repeat((8 << 20) + 1), "b").build());
        assertThat(expected.getTooLarge().getLimit()).isEqualTo("value");

        List<WriteOp> ops = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            ops.add(putOp("k" + i, "v"));
        }
        assertThat(limits.check(batch(List.of(), ops).build())).isNull();
        assertThat(limits.check(batch(List.of(condition("c", null)), ops).build()).getTooLarge().getLimit())
                .isEqualTo("batch_ops");

        String mib = "x".repeat(1 << 20);
        List<WriteOp> big = new ArrayList<>();
        for (int i = 0; i < 17; i++) {
            big.add(putOp("k" + i, mib));
        }
        Error bytes = limits.check(batch(List.of(), big).build());
        assertThat(bytes.getTooLarge().getLimit()).isEqualTo("batch_bytes");
        assertThat(bytes.getTooLarge().getMax()).isEqualTo(16L << 20);
    }

    @Test
    void scanPagesAreCapped() {
        assertThat(limits.scanPageKeys(0)).isEqualTo(10_000);
        assertThat(limits.scanPageKeys(50)).isEqualTo(50);
        assertThat(limits.scanPageKeys(1_000_000)).isEqualTo(10_000);
        assertThat(limits.maxScanBytes()).isEqualTo(16L << 20);
        assertThatThrownBy(() -> new KvLimits(0, 1, 1, 1, 1, 1)).hasMessageContaining("maxKeyBytes");
    }
}
