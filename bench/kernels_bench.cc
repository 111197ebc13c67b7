// Google Benchmark programs for the kernels alone, single thread: encode, scan (row-major raw
// uint16 and float32 output; column-major raw uint16, uint8 and float32 output),
// de-quantization alone, encode + scan end to end (as Model::Apply does it, one task of 64
// blocks at a time) and, when built with them, the exact float32 products
// of oneDNN and OpenBLAS on the same shapes and the experiment suite's Bolt encoder (SIMD and its
// scalar reference, BM_BoltEncode*).
//
//   build/bench/maddness_kernels_bench --benchmark_filter='Scan.*/10000/512/100/16'
//
// Arguments of every benchmark: N, D, M, C, layout of A (0 row-major, 1 column-major), and for
// the *Threads benchmarks the number of threads (wall-clock time).
// Counters: lookups_per_s = N * M * C / time for the scan, rows_per_s for the encoder.
// Tables and the encoder are random (the kernels' speed does not depend on the values); the
// encoder splits codebook c on columns of its own range [c D / C, (c + 1) D / C), as a learned one.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifdef MADDNESS_WITH_BASELINES
#include "bench/experiment/baselines/bolt_encode.h"
#include "bench/experiment/baselines/exact_product.h"
#include "src/common/targets.h"
#endif
#include "bench/lookup_peak.h"
#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/parallel.h"
#include "src/encode/encode.h"
#include "src/scan/scan.h"

namespace maddness::detail {
namespace {

// Rows encoded and scanned together, as Model::Apply does.
constexpr std::size_t kBlocksPerTask = 64;

// N x D values in [-2, 2), read as row- or column-major A. The last one is kept: the benchmarks
// of one N share it (2 GB at N = 1,000,000).
const AlignedVector<float>& InputMatrix(std::size_t n, std::size_t d) {
  static AlignedVector<float> a;
  static std::size_t cached_n = 0, cached_d = 0;
  if (a.empty() || cached_n != n || cached_d != d) {
    a = AlignedVector<float>();
    a.resize(n * d);
    std::uint64_t state = 0x9E3779B97F4A7C15ull;
    for (float& value : a) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      value = static_cast<float>(static_cast<std::int64_t>(state >> 40) - (1 << 23)) / (1 << 22);
    }
    cached_n = n;
    cached_d = d;
  }
  return a;
}

struct Problem {
  std::size_t rows, dim, outputs;
  int codebooks;
  bool col_major;
  MatrixView view;
  Encoder encoder;
  AlignedVector<std::uint8_t> codes;  // packed codes of all rows
  AlignedVector<std::uint8_t> luts;
  std::vector<float> scale, offset;
  const float* a;

  Problem(std::size_t n, std::size_t d, std::size_t m, int c, bool col)
      : rows(n), dim(d), outputs(m), codebooks(c), col_major(col) {
    std::mt19937_64 generator(42);
    a = InputMatrix(n, d).data();
    view = col_major ? MatrixView::ColMajor(a, n, d) : MatrixView::RowMajor(a, n, d);
    encoder.input_dim = d;
    encoder.num_codebooks = c;
    encoder.splits.resize(static_cast<std::size_t>(c) * kTreeDepth);
    for (int cb = 0; cb < c; ++cb) {
      const std::size_t begin = static_cast<std::size_t>(cb) * d / static_cast<std::size_t>(c);
      const std::size_t end = static_cast<std::size_t>(cb + 1) * d / static_cast<std::size_t>(c);
      for (int t = 0; t < kTreeDepth; ++t) {
        SplitLevel& split = encoder.splits[static_cast<std::size_t>(cb) * kTreeDepth + t];
        split.dim = static_cast<std::uint32_t>(begin + generator() % (end - begin));
        split.scale = 40.0f;
        split.offset = 0.0f;
        for (int node = 0; node < (1 << t); ++node) {
          split.thresholds[node] =
              static_cast<std::int8_t>(static_cast<int>(generator() % 81) - 40);
        }
      }
    }
    codes.resize(PackedCodesBytes(n, c));
    EncodeBlocks(encoder, view, 0, NumBlocks(n), codes.data());
    luts.resize(m * TableBytesPerOutput(c));
    for (std::uint8_t& value : luts) value = static_cast<std::uint8_t>(generator());
    scale.assign(m, 0.01f);
    offset.assign(m, -1.0f);
  }

  ScanArgs Args() const {
    ScanArgs args;
    args.packed_codes = codes.data();
    args.num_rows = rows;
    args.num_codebooks = codebooks;
    args.luts = luts.data();
    args.output_dim = outputs;
    args.aggregation = Aggregation::kAveraging;
    return args;
  }
};

// The last problem is kept: consecutive benchmarks of one shape share it.
Problem& GetProblem(const benchmark::State& state) {
  static std::unique_ptr<Problem> problem;
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::size_t d = static_cast<std::size_t>(state.range(1));
  const std::size_t m = static_cast<std::size_t>(state.range(2));
  const int c = static_cast<int>(state.range(3));
  const bool col = state.range(4) != 0;
  if (!problem || problem->rows != n || problem->dim != d || problem->outputs != m ||
      problem->codebooks != c || problem->col_major != col) {
    problem.reset();
    problem = std::make_unique<Problem>(n, d, m, c, col);
  }
  return *problem;
}

void SetLabel(benchmark::State& state) {
  state.SetLabel(SimdTarget() + (state.range(4) != 0 ? " col-major" : " row-major"));
}

void SetLookups(benchmark::State& state, const Problem& p) {
  state.counters["lookups_per_s"] =
      benchmark::Counter(static_cast<double>(p.rows) * static_cast<double>(p.outputs) * p.codebooks,
                         benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Encode(benchmark::State& state) {
  Problem& p = GetProblem(state);
  AlignedVector<std::uint8_t> codes(p.codes.size());
  const std::size_t num_blocks = NumBlocks(p.rows);
  const std::size_t task_bytes = kBlocksPerTask * CodePairs(p.codebooks) * kBlockRows;
  for (auto _ : state) {
    for (std::size_t first = 0; first < num_blocks; first += kBlocksPerTask) {
      const std::size_t last = std::min(num_blocks, first + kBlocksPerTask);
      EncodeBlocks(p.encoder, p.view, first, last,
                   codes.data() + first / kBlocksPerTask * task_bytes);
    }
    benchmark::DoNotOptimize(codes.data());
    benchmark::ClobberMemory();
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(p.rows),
                                                    benchmark::Counter::kIsIterationInvariantRate);
  SetLabel(state);
}

// Scans all rows, one task of 64 blocks at a time, on `threads` threads (detail::ParallelFor,
// as Model::Apply does): the codes of all rows encoded beforehand (kEncode false), or encode +
// scan per task, the codes of a task in a buffer that stays in cache (kEncode true: Model::Apply's
// loop).
template <bool kFloat, bool kEncode>
void RunTasks(benchmark::State& state, int threads) {
  Problem& p = GetProblem(state);
  const ScanArgs args = p.Args();
  const std::size_t num_blocks = NumBlocks(p.rows);
  const std::size_t num_tasks = (num_blocks + kBlocksPerTask - 1) / kBlocksPerTask;
  const std::size_t task_bytes = kBlocksPerTask * CodePairs(p.codebooks) * kBlockRows;
  std::vector<float> out(kFloat ? p.rows * p.outputs : 0);
  std::vector<std::uint16_t> raw(kFloat ? 0 : p.rows * p.outputs);
  for (auto _ : state) {
    ParallelFor(num_tasks, threads, [&](std::size_t t) {
      const std::size_t first = t * kBlocksPerTask;
      const std::size_t last = std::min(num_blocks, first + kBlocksPerTask);
      ScanArgs task = args;
      if constexpr (kEncode) {
        // One buffer per thread, reused (a fresh 128 KiB allocation per task can cost more than
        // the task's scan: glibc serves it with mmap and page faults).
        thread_local AlignedVector<std::uint8_t> codes;
        if (codes.size() < task_bytes) codes.resize(task_bytes);
        EncodeBlocks(p.encoder, p.view, first, last, codes.data());
        task.packed_codes = codes.data();
      } else {
        task.packed_codes = p.codes.data() + t * task_bytes;
      }
      if constexpr (kFloat) {
        ScanDequantizeBlocks(task, p.scale.data(), p.offset.data(), first, last, out.data(),
                             p.outputs);
      } else {
        ScanBlocks(task, first, last, raw.data(), p.outputs);
      }
    });
    benchmark::DoNotOptimize(kFloat ? static_cast<void*>(out.data()) : raw.data());
    benchmark::ClobberMemory();
  }
  SetLookups(state, p);
  SetLabel(state);
}

// The column-major scans (output m of row n at m * N + n): uint16 raw sums, uint8 raw sums (one
// averaging group only: C <= 16) or float32, per task of 64 blocks as Model::ScanPacked does.
enum class ColumnOutput { kRaw16, kRaw8, kFloat };
template <ColumnOutput kOutput>
void RunScanColumns(benchmark::State& state) {
  Problem& p = GetProblem(state);
  if (kOutput == ColumnOutput::kRaw8 && p.codebooks > kMaxGroupSize) {
    state.SkipWithError("8-bit raw sums need C <= 16");
    return;
  }
  const ScanArgs args = p.Args();
  const std::size_t num_blocks = NumBlocks(p.rows);
  const std::size_t task_bytes = kBlocksPerTask * CodePairs(p.codebooks) * kBlockRows;
  AlignedVector<float> out(kOutput == ColumnOutput::kFloat ? p.rows * p.outputs : 0);
  AlignedVector<std::uint16_t> raw(kOutput == ColumnOutput::kRaw16 ? p.rows * p.outputs : 0);
  AlignedVector<std::uint8_t> raw8(kOutput == ColumnOutput::kRaw8 ? p.rows * p.outputs : 0);
  for (auto _ : state) {
    for (std::size_t first = 0; first < num_blocks; first += kBlocksPerTask) {
      const std::size_t last = std::min(num_blocks, first + kBlocksPerTask);
      ScanArgs task = args;
      task.packed_codes = p.codes.data() + first / kBlocksPerTask * task_bytes;
      if constexpr (kOutput == ColumnOutput::kFloat) {
        ScanDequantizeColumns(task, p.scale.data(), p.offset.data(), first, last, out.data(),
                              p.rows);
      } else if constexpr (kOutput == ColumnOutput::kRaw16) {
        ScanColumns(task, first, last, raw.data(), p.rows);
      } else {
        ScanColumns8(task, first, last, raw8.data(), p.rows);
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(raw.data());
    benchmark::DoNotOptimize(raw8.data());
    benchmark::ClobberMemory();
  }
  SetLookups(state, p);
  state.SetLabel(SimdTarget() + " col-major output");
}

void BM_ScanRaw(benchmark::State& state) { RunTasks<false, false>(state, 1); }
void BM_ScanColumnsRaw(benchmark::State& state) { RunScanColumns<ColumnOutput::kRaw16>(state); }
void BM_ScanColumnsRaw8(benchmark::State& state) { RunScanColumns<ColumnOutput::kRaw8>(state); }
void BM_ScanColumnsF32(benchmark::State& state) { RunScanColumns<ColumnOutput::kFloat>(state); }
void BM_ScanF32(benchmark::State& state) { RunTasks<true, false>(state, 1); }
void BM_ScanRawThreads(benchmark::State& state) {
  RunTasks<false, false>(state, static_cast<int>(state.range(5)));
}

// De-quantization as a separate pass over raw sums (what fusing it into the scan saves).
void BM_DequantizeAlone(benchmark::State& state) {
  Problem& p = GetProblem(state);
  std::vector<std::uint16_t> raw(p.rows * p.outputs);
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint16_t>(i * 7919);
  std::vector<float> out(raw.size());
  for (auto _ : state) {
    for (std::size_t r = 0; r < p.rows; ++r) {
      const std::uint16_t* in = raw.data() + r * p.outputs;
      float* dst = out.data() + r * p.outputs;
      for (std::size_t m = 0; m < p.outputs; ++m)
        dst[m] = Dequantize(in[m], p.scale[m], p.offset[m]);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetLabel(state);
}

void BM_EndToEndRaw(benchmark::State& state) { RunTasks<false, true>(state, 1); }
void BM_EndToEndF32(benchmark::State& state) { RunTasks<true, true>(state, 1); }
void BM_EndToEndF32Threads(benchmark::State& state) {
  RunTasks<true, true>(state, static_cast<int>(state.range(5)));
}

// The ceiling of the scan: register-only 16-entry byte lookups (bench/lookup_peak.cc).
// The issue rate of 16-entry byte lookups (bench/lookup_peak.cc), with the clock measured by a
// chain of dependent additions in the same iterations: lookups_per_cycle is to be compared with
// the CPU's published shuffle throughput (docs/kernels.md): two 256-bit PSHUFB a cycle on Zen 3,
// Zen 5 and Intel cores since Ice Lake (64 lookups); 512-bit: two on Zen 5 (128), one on Intel
// (64, port 5 only).
void BM_LookupPeak(benchmark::State& state) {
  const std::string target = SimdTarget();  // applies MADDNESS_TARGET before the dispatch
  constexpr std::uint64_t kIterations = 1 << 20;
  std::uint64_t lookups = 0;
  std::uint64_t checksum = 0;
  double lookup_seconds = 0.0;
  double add_seconds = 0.0;
  std::uint64_t adds = 0;
  // Thread CPU time: on a shared machine, time spent waiting for the core is not counted.
  const auto now = [] {
    timespec time{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time);
    return static_cast<double>(time.tv_sec) + 1e-9 * static_cast<double>(time.tv_nsec);
  };
  for (auto _ : state) {
    const double start = now();
    lookups = bench::LookupLoop(kIterations, &checksum);
    const double middle = now();
    adds = bench::AddChain(kIterations);
    const double end = now();
    benchmark::DoNotOptimize(checksum);
    lookup_seconds += middle - start;
    add_seconds += end - middle;
  }
  const double iterations = static_cast<double>(state.iterations());
  const double lookups_per_s = static_cast<double>(lookups) * iterations / lookup_seconds;
  state.counters["lookups_per_s"] = lookups_per_s;
  if (adds > 0) {
    const double cycles_per_s = static_cast<double>(adds) * iterations / add_seconds;
    state.counters["cycles_per_s"] = cycles_per_s;
    state.counters["lookups_per_cycle"] = lookups_per_s / cycles_per_s;
    state.counters["vector_lookups_per_cycle"] =
        lookups_per_s / cycles_per_s / static_cast<double>(bench::LookupVectorBytes());
  }
  state.SetLabel(target);
}

#ifdef MADDNESS_WITH_BASELINES
// The exact float32 products of bench/experiment/baselines/exact_product.h (the ones `maddness
// bench` and the demo time), on one thread, with B (D x M, row-major) prepared once outside the
// timed loop.
template <std::unique_ptr<baselines::ExactMatmul> (*Make)(
    baselines::ProductLayout, const float*, std::size_t, std::size_t, const float*, std::size_t)>
void BM_Exact(benchmark::State& state) {
  Problem& p = GetProblem(state);
  std::vector<float> b(p.dim * p.outputs);
  std::mt19937 generator(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& value : b) value = normal(generator);
  std::vector<float> c(p.rows * p.outputs);
  const std::unique_ptr<baselines::ExactMatmul> product =
      Make(baselines::LayoutOfA(p.col_major), p.a, p.rows, p.dim, b.data(), p.outputs);
  for (auto _ : state) {
    product->Run(c.data(), 1);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetLabel(product->name() + (p.col_major ? ", col-major" : ", row-major"));
}
void BM_OneDnnMatmul(benchmark::State& state) { BM_Exact<baselines::MakeOneDnnProduct>(state); }
void BM_OpenBlasSgemm(benchmark::State& state) { BM_Exact<baselines::MakeOpenBlasProduct>(state); }

// The experiment suite's Bolt encoder (bench/experiment/baselines/bolt_encode.h), SIMD or its
// scalar reference, one task of 64 blocks at a time as the suite's Bolt does, on the same A as
// BM_Encode; random Gaussian centroids (the encoder's speed does not depend on the values).
template <bool kReference>
void BM_BoltEncode(benchmark::State& state) {
  Problem& p = GetProblem(state);
  baselines::BoltCodebooks codebooks;
  const auto num_codebooks = static_cast<std::size_t>(p.codebooks);
  for (std::size_t c = 0; c <= num_codebooks; ++c) {
    codebooks.begin.push_back(c * p.dim / num_codebooks);
  }
  std::mt19937 generator(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  codebooks.centroids.resize(p.dim * baselines::kBoltCentroids);
  for (float& value : codebooks.centroids) value = normal(generator);
  codebooks.norms.resize(num_codebooks * baselines::kBoltCentroids);
  for (float& value : codebooks.norms) value = normal(generator);
  AlignedVector<std::uint8_t> codes(PackedCodesBytes(p.rows, p.codebooks));
  const std::size_t num_blocks = NumBlocks(p.rows);
  const std::size_t task_bytes = kBlocksPerTask * CodePairs(p.codebooks) * kBlockRows;
  for (auto _ : state) {
    for (std::size_t first = 0; first < num_blocks; first += kBlocksPerTask) {
      const std::size_t last = std::min(num_blocks, first + kBlocksPerTask);
      std::uint8_t* out = codes.data() + first / kBlocksPerTask * task_bytes;
      if (kReference) {
        baselines::BoltEncodeRef(codebooks, p.view, first, last, out);
      } else {
        baselines::BoltEncode(codebooks, p.view, first, last, out);
      }
    }
    benchmark::DoNotOptimize(codes.data());
    benchmark::ClobberMemory();
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(p.rows),
                                                    benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(
      (kReference ? std::string("reference") : SimdTargetName(baselines::BoltEncodeTarget())) +
      (p.col_major ? " col-major" : " row-major"));
}
#endif  // MADDNESS_WITH_BASELINES

// N, D, M, C, layout. N = 1,000,000 shapes allocate 2 GB for A.
void Shapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : {10000, 1000000}) {
    for (const std::int64_t m : {10, 100}) {
      for (const std::int64_t c : {8, 16, 32, 64}) {
        for (const std::int64_t layout : {0, 1}) b->Args({n, 512, m, c, layout});
      }
    }
  }
  b->Unit(benchmark::kMillisecond);
}

// The column-major scans do not depend on A's layout: N, D, M, C with A row-major. The 8-bit one
// needs one averaging group (C <= 16).
void ColumnShapes(benchmark::internal::Benchmark* b, std::int64_t max_codebooks) {
  for (const std::int64_t n : {10000, 1000000}) {
    for (const std::int64_t m : {10, 100}) {
      for (const std::int64_t c : {8, 16, 32, 64}) {
        if (c <= max_codebooks) b->Args({n, 512, m, c, 0});
      }
    }
  }
  b->Unit(benchmark::kMillisecond);
}
void ColumnScanShapes(benchmark::internal::Benchmark* b) { ColumnShapes(b, 64); }
void ColumnScan8Shapes(benchmark::internal::Benchmark* b) {
  ColumnShapes(b, static_cast<std::int64_t>(kMaxGroupSize));
}

// Encoding does not depend on M.
void EncodeShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : {10000, 1000000}) {
    for (const std::int64_t c : {8, 16, 32, 64}) {
      for (const std::int64_t layout : {0, 1}) b->Args({n, 512, 100, c, layout});
    }
  }
  b->Unit(benchmark::kMillisecond);
}

// The experiment suite's small inputs (docs/results.md), both layouts: digits (10000 x 64) and
// the image filters (100000 x 27).
void EncodeSuiteShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t c : {2, 8, 16}) {
    for (const std::int64_t layout : {0, 1}) {
      b->Args({10000, 64, 10, c, layout});
      b->Args({100000, 27, 5, c, layout});
    }
  }
  b->Unit(benchmark::kMillisecond);
}

// The shapes of the comparison with the paper's encoder (docs/kernels.md): D = 512, C = 16 from
// A in L2 (N = 2048) to A in memory, and Fashion-MNIST (D = 784, C = 64); both layouts. N is a
// multiple of 32, as the paper's harness pads it.
void EncodePaperShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t layout : {1, 0}) {
    for (const std::int64_t n : {2048, 10016, 100000, 1000000}) b->Args({n, 512, 10, 16, layout});
    b->Args({10016, 784, 10, 64, layout});
  }
  b->Unit(benchmark::kMillisecond);
}

#ifdef MADDNESS_WITH_BASELINES
// Bolt's encoder on the suite's shapes: Fashion-MNIST (10000 x 784, C = 2, 16, 32, 64), digits
// (10000 x 64) and the image filters (100000 x 27) at C = 16; both layouts.
void BoltEncodeShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t layout : {1, 0}) {
    for (const std::int64_t c : {2, 16, 32, 64}) b->Args({10000, 784, 10, c, layout});
    b->Args({10000, 64, 10, 16, layout});
    b->Args({100000, 27, 5, 16, layout});
  }
  b->Unit(benchmark::kMillisecond);
}
#endif

// The exact products do not depend on C.
void ExactShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : {10000, 1000000}) {
    for (const std::int64_t m : {10, 100}) {
      for (const std::int64_t layout : {0, 1}) b->Args({n, 512, m, 16, layout});
    }
  }
  b->Unit(benchmark::kMillisecond);
}

// Thread scaling: N, D, M, C, layout, threads.
void ThreadShapes(benchmark::internal::Benchmark* b) {
  for (const std::int64_t n : {10000, 1000000}) {
    for (const std::int64_t layout : {0, 1}) {
      for (const std::int64_t threads : {1, 2}) b->Args({n, 512, 100, 16, layout, threads});
    }
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_LookupPeak)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Encode)->Apply(EncodeShapes);
BENCHMARK(BM_Encode)->Apply(EncodeSuiteShapes);
BENCHMARK(BM_Encode)->Name("BM_EncodePaper")->Apply(EncodePaperShapes);
BENCHMARK(BM_ScanRaw)->Apply(Shapes);
BENCHMARK(BM_ScanF32)->Apply(Shapes);
BENCHMARK(BM_ScanColumnsRaw)->Apply(ColumnScanShapes);
BENCHMARK(BM_ScanColumnsRaw8)->Apply(ColumnScan8Shapes);
BENCHMARK(BM_ScanColumnsF32)->Apply(ColumnScanShapes);
BENCHMARK(BM_DequantizeAlone)->Apply(ExactShapes);
BENCHMARK(BM_EndToEndRaw)->Apply(Shapes);
BENCHMARK(BM_EndToEndF32)->Apply(Shapes);
BENCHMARK(BM_ScanRawThreads)->Apply(ThreadShapes);
BENCHMARK(BM_EndToEndF32Threads)->Apply(ThreadShapes);
#ifdef MADDNESS_WITH_BASELINES
BENCHMARK(BM_OneDnnMatmul)->Apply(ExactShapes);
BENCHMARK(BM_OpenBlasSgemm)->Apply(ExactShapes);
BENCHMARK(BM_BoltEncode<false>)->Name("BM_BoltEncode")->Apply(BoltEncodeShapes);
BENCHMARK(BM_BoltEncode<true>)->Name("BM_BoltEncodeRef")->Apply(BoltEncodeShapes);
#endif

}  // namespace
}  // namespace maddness::detail

BENCHMARK_MAIN();
