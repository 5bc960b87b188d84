package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KvCommandsTest {
    @Test
    void printableUtf8PrintsAsItIsAndAnythingElseEscapesItsUnprintableBytes() {
        assertThat(KvCommands.text("héllo\tworld".getBytes(StandardCharsets.UTF_8))).isEqualTo("héllo\tworld");
        assertThat(KvCommands.text(new byte[] {'a', 0, (byte) 0xff, '\\'})).isEqualTo("a\\x00\\xff\\x5c");
        assertThat(KvCommands.text(new byte[] {'k', '\n'})).isEqualTo("k\\x0a");
    }
}
