package io.flotilla.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the Raft core deterministic (STYLE.md): its sources may not use threads, locks, clocks, IO,
 * global randomness, Netty or RocksDB.
 */
class CorePurityTest {
    private static final Path CORE = Path.of("src/main/java/io/flotilla/raft");

    private static final Pattern FORBIDDEN = Pattern.compile(String.join("|",
            "import\\s+java\\.util\\.concurrent",
            "import\\s+java\\.io\\.",
            "import\\s+java\\.nio\\.(file|channels)",
            "import\\s+java\\.net\\.",
            "import\\s+java\\.time\\.",
            "import\\s+io\\.netty\\.",
            "import\\s+org\\.rocksdb\\.",
            "import\\s+org\\.agrona\\.",
            "\\bThread\\b", "\\bsynchronized\\b", "\\bvolatile\\b", "\\bExecutor",
            "System\\.(nanoTime|currentTimeMillis)", "ThreadLocalRandom", "Math\\.random", "new\\s+Random\\("));

    @Test
    void theCorePackageUsesNoThreadsLocksClocksIoOrNativeLibraries() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.list(CORE)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (FORBIDDEN.matcher(lines.get(i)).find()) {
                        violations.add(f.getFileName() + ":" + (i + 1) + ": " + lines.get(i).trim());
                    }
                }
            }
        }
        assertThat(violations).as("forbidden constructs in the Raft core").isEmpty();
    }

    @Test
    void theScannerSeesTheCoreAndCatchesAForbiddenLine() {
        assertThat(Files.isRegularFile(CORE.resolve("RaftNode.java"))).isTrue();
        assertThat(FORBIDDEN.matcher("import java.util.concurrent.locks.ReentrantLock;").find()).isTrue();
        assertThat(FORBIDDEN.matcher("long now = System.nanoTime();").find()).isTrue();
        assertThat(FORBIDDEN.matcher("import java.util.SplittableRandom;").find()).isFalse();
    }
}
