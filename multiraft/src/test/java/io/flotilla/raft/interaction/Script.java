package io.flotilla.raft.interaction;

import java.util.ArrayList;
import java.util.List;

/**
 * An interaction script: commands, each followed by its expected output, with comments between
 * them. Parsed once, run by {@link InteractionTest}, and rendered back with the actual outputs when
 * expectations are rewritten. Owned by the test thread.
 *
 * <h2>Format</h2>
 * <pre>
 * # A comment: any line starting with '#'. Blank lines and comments are kept as they are.
 * command arg key=value
 * ----
 * expected output, one or more lines, none of them blank
 * (a blank line or the end of the file ends the output)
 * </pre>
 * A command without a {@code ----} line has no expectation yet: it fails, unless expectations
 * are being rewritten, which fills it in.
 */
final class Script {
    static final String SEPARATOR = "----";

    /** A line kept verbatim (a comment or a blank line between directives). */
    record Verbatim(String line) implements Item {
    }

    /** A command at {@code lineNumber} (1-based) and its expected output (null if none was written). */
    record Directive(int lineNumber, String command, String expected) implements Item {
    }

    sealed interface Item permits Verbatim, Directive {
    }

    final List<Item> items;

    private Script(List<Item> items) {
        this.items = items;
    }

    static Script parse(String text) {
        String[] lines = text.split("\n", -1);
        List<Item> items = new ArrayList<>();
        int i = 0;
        while (i < lines.length) {
            String line = stripCr(lines[i]);
            if (line.isBlank() || line.startsWith("#")) {
                items.add(new Verbatim(line));
                i++;
                continue;
            }
            if (line.equals(SEPARATOR)) {
                throw new IllegalArgumentException("line " + (i + 1) + ": '----' without a command before it");
            }
            int commandLine = i + 1;
            i++;
            if (i < lines.length && stripCr(lines[i]).equals(SEPARATOR)) {
                i++;
                StringBuilder expected = new StringBuilder();
                while (i < lines.length && !stripCr(lines[i]).isBlank()) {
                    if (expected.length() > 0) {
                        expected.append('\n');
                    }
                    expected.append(stripCr(lines[i]));
                    i++;
                }
                // The blank line that ends the output belongs to the directive.
                if (i < lines.length) {
                    i++;
                }
                items.add(new Directive(commandLine, line.trim(), expected.toString()));
            } else {
                if (i < lines.length && stripCr(lines[i]).isBlank()) {
                    i++;
                }
                items.add(new Directive(commandLine, line.trim(), null));
            }
        }
        return new Script(items);
    }

    /** The script with each directive's output replaced by {@code outputs} (in directive order). */
    String render(List<String> outputs) {
        StringBuilder b = new StringBuilder();
        int d = 0;
        for (Item item : items) {
            if (item instanceof Verbatim v) {
                b.append(v.line()).append('\n');
            } else if (item instanceof Directive dir) {
                b.append(dir.command()).append('\n').append(SEPARATOR).append('\n')
                        .append(outputs.get(d++)).append("\n\n");
            }
        }
        // Exactly one newline at the end of the file.
        int end = b.length();
        while (end > 0 && Character.isWhitespace(b.charAt(end - 1))) {
            end--;
        }
        return b.substring(0, end) + "\n";
    }

    List<Directive> directives() {
        List<Directive> out = new ArrayList<>();
        for (Item item : items) {
            if (item instanceof Directive d) {
                out.add(d);
            }
        }
        return out;
    }

    private static String stripCr(String s) {
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }
}
