package io.flotilla.bench;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The command line of a bench main: {@code --name value} options and bare {@code --flag}s, read by
 * the main thread only. Every option a main does not ask for is an error ({@link #rejectUnused}), so
 * a misspelt option never silently runs the default workload.
 */
final class BenchArgs {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> read = new HashSet<>();

    /**
     * @param flags the options that take no value
     * @throws IllegalArgumentException on a word that is not an option, or an option without its value
     */
    BenchArgs(String[] args, Set<String> flags) {
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "': options look like --name value");
            }
            String name = arg.substring(2);
            int eq = name.indexOf('=');
            if (eq >= 0) {
                values.put(name.substring(0, eq), name.substring(eq + 1));
            } else if (flags.contains(name)) {
                values.put(name, "true");
            } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                values.put(name, args[++i]);
            } else {
                throw new IllegalArgumentException("option --" + name + " needs a value");
            }
        }
    }

    boolean has(String name) {
        read.add(name);
        return values.containsKey(name);
    }

    boolean flag(String name) {
        read.add(name);
        return Boolean.parseBoolean(values.getOrDefault(name, "false"));
    }

    String string(String name, String defaultValue) {
        read.add(name);
        return values.getOrDefault(name, defaultValue);
    }

    int integer(String name, int defaultValue, int min, int max) {
        long v = has(name) ? parseLong(name, values.get(name)) : defaultValue;
        return (int) bounded(name, v, min, max);
    }

    double seconds(String name, double defaultValue, double min, double max) {
        read.add(name);
        double v = defaultValue;
        if (values.containsKey(name)) {
            try {
                v = Double.parseDouble(values.get(name));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " takes seconds, e.g. 2.5; got '" + values.get(name) + "'");
            }
        }
        if (!(v >= min && v <= max)) {
            throw new IllegalArgumentException("--" + name + " must be in [" + min + ", " + max + "] seconds, was " + v);
        }
        return v;
    }

    /** A decimal number in [min, max], e.g. a percentage. */
    double decimal(String name, double defaultValue, double min, double max) {
        read.add(name);
        double v = defaultValue;
        if (values.containsKey(name)) {
            try {
                v = Double.parseDouble(values.get(name));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " takes a number, e.g. 2.5; got '" + values.get(name) + "'");
            }
        }
        if (!(v >= min && v <= max)) {
            throw new IllegalArgumentException("--" + name + " must be in [" + min + ", " + max + "], was " + v);
        }
        return v;
    }

    /** A byte count with an optional binary suffix: {@code 4096}, {@code 64K}, {@code 64M}, {@code 1G}. */
    long bytes(String name, long defaultValue, long min, long max) {
        read.add(name);
        long v = defaultValue;
        if (values.containsKey(name)) {
            String s = values.get(name).trim().toUpperCase();
            int shift = 0;
            if (s.endsWith("IB")) {
                s = s.substring(0, s.length() - 2) + "B";
            }
            if (s.endsWith("B")) {
                s = s.substring(0, s.length() - 1);
            }
            if (s.endsWith("K")) {
                shift = 10;
            } else if (s.endsWith("M")) {
                shift = 20;
            } else if (s.endsWith("G")) {
                shift = 30;
            }
            if (shift > 0) {
                s = s.substring(0, s.length() - 1);
            }
            v = parseLong(name, s) << shift;
        }
        return bounded(name, v, min, max);
    }

    /** A comma-separated list of integers, each in [min, max]. */
    List<Integer> integers(String name, List<Integer> defaultValue, int min, int max) {
        if (!has(name)) {
            return defaultValue;
        }
        List<Integer> out = new ArrayList<>();
        for (String part : values.get(name).split(",")) {
            out.add((int) bounded(name, parseLong(name, part.trim()), min, max));
        }
        return List.copyOf(out);
    }

    /** Throws if the command line holds an option no one asked for. */
    void rejectUnused() {
        for (String name : values.keySet()) {
            if (!read.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name + "; --help lists the options");
            }
        }
    }

    private static long parseLong(String name, String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " takes a whole number; got '" + s + "'");
        }
    }

    private static long bounded(String name, long v, long min, long max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException("--" + name + " must be in [" + min + ", " + max + "], was " + v);
        }
        return v;
    }
}
