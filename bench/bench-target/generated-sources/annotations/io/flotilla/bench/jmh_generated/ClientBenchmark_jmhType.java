package io.flotilla.bench.jmh_generated;
public class ClientBenchmark_jmhType extends ClientBenchmark_jmhType_B3 {
}

