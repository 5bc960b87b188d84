package io.flotilla.bench.jmh_generated;
public class WireCodecBenchmark_jmhType extends WireCodecBenchmark_jmhType_B3 {
}

