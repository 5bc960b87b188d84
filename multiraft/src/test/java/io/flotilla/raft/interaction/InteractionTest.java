package io.flotilla.raft.interaction;

import static org.junit.jupiter.api.Assertions.fail;

import io.flotilla.raft.interaction.Script.Directive;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every interaction script in {@code src/test/resources/interaction/} (see {@link Script} for the
 * format and {@link InteractionEnv} for the commands), one dynamic test per file, and fails at the
 * first command whose output differs from the expected one, with a line diff.
 *
 * <p>With {@code -Dflotilla.rewrite=true} (or the environment variable {@code FLOTILLA_REWRITE=1}) it
 * writes the actual outputs back into the scripts in the source tree instead of failing. Rewritten
 * expectations are only as good as the review they get: read every changed line against the Raft
 * paper before keeping it.
 */
class InteractionTest {
    private static final String SOURCE_DIR = "src/test/resources/interaction";

    @TestFactory
    Stream<DynamicTest> scripts() throws IOException {
        Path dir = scriptDir();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".txt")).sorted().toList();
        }
        if (files.isEmpty()) {
            fail("no interaction scripts in " + dir.toAbsolutePath());
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> run(f)));
    }

    static boolean rewriting() {
        return Boolean.parseBoolean(System.getProperty("flotilla.rewrite", "false"))
                || "1".equals(System.getenv("FLOTILLA_REWRITE"))
                || "true".equals(System.getenv("FLOTILLA_REWRITE"));
    }

    /** The scripts in the source tree (so rewrites land there), else the copies on the class path. */
    private static Path scriptDir() {
        for (String candidate : new String[] {SOURCE_DIR, "multiraft/" + SOURCE_DIR}) {
            Path p = Paths.get(candidate);
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        if (rewriting()) {
            fail("cannot rewrite: " + SOURCE_DIR + " not found from working directory "
                    + Paths.get("").toAbsolutePath() + "; run from the multiraft module or the repository root");
        }
        URL url = InteractionTest.class.getResource("/interaction");
        if (url == null) {
            fail("no interaction scripts: neither " + SOURCE_DIR + " nor /interaction on the class path");
        }
        try {
            return Paths.get(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void run(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Script script = Script.parse(text);
        InteractionEnv env = new InteractionEnv();
        List<String> outputs = new ArrayList<>();
        String name = file.getFileName().toString();
        for (Directive d : script.directives()) {
            String where = name + ":" + d.lineNumber() + ": " + d.command();
            String actual;
            try {
                actual = env.execute(d.command());
            } catch (InteractionEnv.ScriptError e) {
                throw new AssertionError(where + ": script error: " + e.getMessage(), e);
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError(where + ": threw " + e, e);
            }
            outputs.add(actual);
            if (!rewriting() && !actual.equals(d.expected())) {
                fail(where + "\n" + (d.expected() == null ? "no expected output written (missing '----')"
                        : "output differs (- expected, + actual)")
                        + "; if the new output is correct Raft behaviour, rerun with -Dflotilla.rewrite=true\n"
                        + LineDiff.diff(d.expected() == null ? "" : d.expected(), actual));
            }
        }
        if (rewriting()) {
            String rendered = script.render(outputs);
            if (!rendered.equals(text)) {
                Files.writeString(file, rendered, StandardCharsets.UTF_8);
                System.out.println("rewrote " + file.toAbsolutePath());
            }
        }
    }
}
