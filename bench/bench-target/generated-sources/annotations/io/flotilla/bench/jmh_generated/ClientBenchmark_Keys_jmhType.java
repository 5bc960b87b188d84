package io.flotilla.bench.jmh_generated;
public class ClientBenchmark_Keys_jmhType extends ClientBenchmark_Keys_jmhType_B3 {
}

