package io.flotilla.bench.jmh_generated;
public class RaftCoreBenchmark_jmhType extends RaftCoreBenchmark_jmhType_B3 {
}

