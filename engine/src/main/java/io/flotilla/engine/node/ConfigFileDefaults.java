package io.flotilla.engine.node;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A node's optional config file: a properties file whose keys are the long flag names without the
 * dashes ({@code node-id=1}, {@code initial-cluster=1=127.0.0.1:7001:7002:7101,...}). Its values are
 * defaults that flags on the command line override. An unknown key is refused (a typo would
 * otherwise be ignored silently). Immutable; used by picocli on the thread parsing the command line.
 */
final class ConfigFileDefaults implements CommandLine.IDefaultValueProvider {
    private final Properties values;

    private ConfigFileDefaults(Properties values) {
        this.values = values;
    }

    /**
     * Reads {@code file} and checks its keys against the options of {@code spec}.
     *
     * @throws IllegalArgumentException naming the unknown keys and the valid ones
     */
    static ConfigFileDefaults load(Path file, CommandSpec spec) throws IOException {
        Properties values = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            values.load(in);
        }
        Set<String> known = new TreeSet<>();
        for (OptionSpec o : spec.options()) {
            known.add(key(o));
        }
        known.remove("config");
        known.remove("help");
        Set<String> unknown = new TreeSet<>(values.stringPropertyNames());
        unknown.removeAll(known);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("config file " + file + " has unknown keys " + unknown + "; the keys are "
                    + known);
        }
        return new ConfigFileDefaults(values);
    }

    private static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^-+", "");
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (arg instanceof OptionSpec option) {
            String v = values.getProperty(key(option));
            return v == null ? null : v.trim();
        }
        return null;
    }
}
