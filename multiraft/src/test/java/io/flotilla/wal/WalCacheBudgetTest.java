package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The node-wide cache budget bounds the cached bytes of all groups together. */
class WalCacheBudgetTest {

    @Test
    void groupsTogetherStayWithinTheNodeBudgetAndTheBusyGroupPays() {
        WalCacheBudget budget = new WalCacheBudget(10_000);
        WalCacheConfig perGroup = new WalCacheConfig(1 << 10, 1 << 20);
        WalGroupIndex quiet = new WalGroupIndex(1, perGroup, budget);
        WalGroupIndex busy = new WalGroupIndex(2, perGroup, budget);
        byte[] payload = new byte[476]; // 500 bytes with the entry header estimate
        for (long i = 1; i <= 8; i++) {
            quiet.apply(new WalRecord.Entries(1, List.of(Entry.normal(1, i, payload))), 1, 64);
        }
        assertThat(quiet.cachedEntries()).isEqualTo(8);
        for (long i = 1; i <= 1000; i++) {
            busy.apply(new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))), 1, 64);
            assertThat(budget.cachedBytes()).isLessThanOrEqualTo(budget.maxBytes());
        }
        assertThat(quiet.cachedEntries()).as("the idle group keeps its cache").isEqualTo(8);
        assertThat(busy.cachedEntries()).isEqualTo(12);
        assertThat(budget.cachedBytes()).isEqualTo(quiet.cachedBytes() + busy.cachedBytes());
        busy.apply(new WalRecord.CompactPrefix(2, 1000, 1), 1, 64);
        assertThat(budget.cachedBytes()).as("compaction returns the bytes").isEqualTo(quiet.cachedBytes());
    }
}
