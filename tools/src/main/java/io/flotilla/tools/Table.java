package io.flotilla.tools;

import java.util.ArrayList;
import java.util.List;

/** A plain-text table with a header row and columns padded to their widest cell. Used by one thread at a time. */
public final class Table {
    private final String[] header;
    private final List<String[]> rows = new ArrayList<>();

    public Table(String... header) {
        this.header = header;
    }

    public void row(String... cells) {
        if (cells.length != header.length) {
            throw new IllegalArgumentException("row of " + cells.length + " cells in a table of " + header.length + " columns");
        }
        rows.add(cells);
    }

    public String render() {
        int[] width = new int[header.length];
        for (int c = 0; c < header.length; c++) {
            width[c] = header[c].length();
            for (String[] row : rows) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        line(out, header, width);
        String[] rule = new String[header.length];
        for (int c = 0; c < header.length; c++) {
            rule[c] = "-".repeat(width[c]);
        }
        line(out, rule, width);
        for (String[] row : rows) {
            line(out, row, width);
        }
        return out.toString();
    }

    private static void line(StringBuilder out, String[] cells, int[] width) {
        for (int c = 0; c < cells.length; c++) {
            out.append(c == 0 ? "" : "  ").append(cells[c]);
            if (c < cells.length - 1) {
                out.append(" ".repeat(width[c] - cells[c].length()));
            }
        }
        out.append('\n');
    }
}
