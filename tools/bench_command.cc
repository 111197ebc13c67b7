// `maddness bench`: MADDNESS against the fastest exact float32 products, in one process and one
// run, on random matrices of the requested shape (kernel speed does not depend on the values).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/experiment/baselines/exact_product.h"
#include "maddness/maddness.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace maddness::cli {
namespace {

using baselines::ExactMatmul;
using baselines::LayoutOfA;
using baselines::MakeOneDnnProduct;
using baselines::MakeOpenBlasProduct;
using baselines::ProductLayout;

// Rows for learning: enough for 16 prototypes per codebook; more would only slow the benchmark.
constexpr std::size_t kTrainRows = 8192;

void CheckBenchArgs(const BenchArgs& args) {
  const auto check_size = [](const char* flag, long long value, long long low, long long high) {
    if (value < low || value > high) {
      throw Error(std::string(flag) + " is " + std::to_string(value) + "; it must be between " +
                  std::to_string(low) + " and " + std::to_string(high));
    }
  };
  check_size("--n", args.n, 1, 1LL << 31);
  check_size("--d", args.d, 1, 1LL << 16);
  check_size("--m", args.m, 1, 1LL << 16);
  check_size("--codebooks", args.codebooks, 1, kMaxCodebooks);
  check_size("--repeats", args.repeats, 1, 100000);
  if (args.codebooks > args.d) {
    throw Error("--codebooks is " + std::to_string(args.codebooks) + " but --d is " +
                std::to_string(args.d) + "; the number of codebooks must be at most D");
  }
  if (args.layout != "row" && args.layout != "col") {
    throw Error("--layout is '" + args.layout + "'; it must be 'row' or 'col'");
  }
  if (args.output_layout != "row" && args.output_layout != "col") {
    throw Error("--output-layout is '" + args.output_layout + "'; it must be 'row' or 'col'");
  }
  if (args.output == "raw8" &&
      (args.output_layout != "col" || args.codebooks > 16 || args.aggregation != "average")) {
    throw Error("--output is 'raw8' with --output-layout '" + args.output_layout +
                "', --codebooks " + std::to_string(args.codebooks) + " and --aggregation '" +
                args.aggregation +
                "'; 8-bit raw sums need --output-layout col, at most 16 codebooks and "
                "--aggregation average (they are one averaging group's roots)");
  }
  if (args.output != "f32" && args.output != "raw" && args.output != "raw8") {
    throw Error("--output is '" + args.output + "'; it must be 'f32', 'raw' or 'raw8'");
  }
  if (args.threads < 0) {
    throw Error("--threads is " + std::to_string(args.threads) + "; it must be >= 0");
  }
}

// Median wall-clock and process CPU seconds of each job, each run `repeats` times after one
// untimed warm-up run, the jobs taking turns (as MedianSecondsEach). On one thread the CPU time
// does not count the time the job waited while other programs ran, so on a shared machine its
// ratios are steadier than those of the wall-clock time.
struct JobTimes {
  std::vector<double> wall;
  std::vector<double> cpu;
};

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  return values.size() % 2 != 0 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

JobTimes MedianTimesEach(int repeats, const std::vector<std::function<void()>>& jobs) {
  for (const auto& job : jobs) job();
  std::vector<std::vector<double>> wall(jobs.size());
  std::vector<std::vector<double>> cpu(jobs.size());
  for (int i = 0; i < repeats; ++i) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const double cpu_start = ProcessCpuSeconds();
      const auto start = std::chrono::steady_clock::now();
      jobs[j]();
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      cpu[j].push_back(ProcessCpuSeconds() - cpu_start);
      wall[j].push_back(elapsed.count());
    }
  }
  JobTimes times;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    times.wall.push_back(Median(wall[j]));
    times.cpu.push_back(Median(cpu[j]));
  }
  return times;
}

// A 64-byte aligned array of `count` values.
template <typename T>
class AlignedBuffer {
 public:
  explicit AlignedBuffer(std::size_t count)
      : data_(static_cast<T*>(std::aligned_alloc(64, (count * sizeof(T) + 63) / 64 * 64))) {
    if (data_ == nullptr) throw std::bad_alloc();
    std::fill(data_, data_ + count, T{});
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  T* get() const { return data_; }

 private:
  T* data_;
};

std::vector<float> RandomValues(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = normal(generator);
  return values;
}

}  // namespace

int RunBench(const BenchArgs& args) {
  CheckBenchArgs(args);
  LearnOptions options;
  options.num_codebooks = static_cast<int>(args.codebooks);
  options.aggregation = Parse<Aggregation>(args.aggregation, "--aggregation");
  const auto n = static_cast<std::size_t>(args.n);
  const auto d = static_cast<std::size_t>(args.d);
  const auto m = static_cast<std::size_t>(args.m);
  const bool col_major = args.layout == "col";
  const bool raw8 = args.output == "raw8";
  const bool raw = args.output == "raw" || raw8;
  const bool col_output = args.output_layout == "col";
  const int threads = args.threads != 0
                          ? args.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ApplyOptions apply_options;
  apply_options.threads = threads;
  apply_options.output_layout = col_output ? OutputLayout::kColMajor : OutputLayout::kRowMajor;

  const std::vector<float> a = RandomValues(n * d, 1);
  const std::vector<float> a_train = RandomValues(kTrainRows * d, 2);
  const std::vector<float> b = RandomValues(d * m, 3);
  const MatrixView a_view =
      col_major ? MatrixView::ColMajor(a.data(), n, d) : MatrixView::RowMajor(a.data(), n, d);
  const MatrixView b_view = MatrixView::RowMajor(b.data(), d, m);

  const Model model =
      Model::Learn(MatrixView::RowMajor(a_train.data(), kTrainRows, d), &b_view, options);

  // The exact products. With column-major A: the libraries given column-major A, the same
  // product computed transposed (B^T A^T, which reads A's memory as row-major), and, to compare
  // with the fastest exact product of any layout, the libraries given a row-major copy of A.
  std::vector<float> a_row_major;
  if (col_major) {
    a_row_major.resize(n * d);
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t i = 0; i < n; ++i) a_row_major[i * d + j] = a[j * n + i];
    }
  }
  struct Exact {
    std::unique_ptr<ExactMatmul> product;
    bool same_layout;  // reads A in the layout MADDNESS is given
  };
  std::vector<Exact> exact;
  const ProductLayout layout = LayoutOfA(col_major);
  exact.push_back({MakeOneDnnProduct(layout, a.data(), n, d, b.data(), m), true});
  exact.push_back({MakeOpenBlasProduct(layout, a.data(), n, d, b.data(), m), true});
  if (col_major) {
    const ProductLayout transposed = ProductLayout::kTransposed;
    const ProductLayout row_major = ProductLayout::kRowMajor;
    exact.push_back({MakeOneDnnProduct(transposed, a.data(), n, d, b.data(), m), true});
    exact.push_back({MakeOpenBlasProduct(transposed, a.data(), n, d, b.data(), m), true});
    exact.push_back({MakeOneDnnProduct(row_major, a_row_major.data(), n, d, b.data(), m), false});
    exact.push_back({MakeOpenBlasProduct(row_major, a_row_major.data(), n, d, b.data(), m), false});
  }
  std::vector<float> exact_out(n * m);
  // MADDNESS's output: 64-byte aligned, and column-major output with a column stride of N
  // rounded up to 64 rows (the paper pads N to 32), so that every column starts a cache line and
  // large outputs can be written with streaming stores.
  const std::size_t out_stride = col_output ? (n + 63) / 64 * 64 : m;
  const std::size_t out_values = col_output ? m * out_stride : n * m;
  const AlignedBuffer<float> out(out_values);
  const AlignedBuffer<std::uint16_t> raw_out(out_values);
  const AlignedBuffer<std::uint8_t> raw8_out(out_values);
  std::vector<std::uint8_t> packed(model.PackedCodesBytes(n));
  model.EncodePacked(a_view, packed.data(), packed.size(), apply_options);

  // Jobs, timed in turns: the exact products, then MADDNESS encode, scan and the whole product.
  std::vector<std::function<void()>> jobs;
  for (auto& product : exact) {
    jobs.push_back(
        [&exact_out, &product, threads] { product.product->Run(exact_out.data(), threads); });
  }
  const std::size_t first_maddness = jobs.size();
  const auto encode = [&] {
    model.EncodePacked(a_view, packed.data(), packed.size(), apply_options);
  };
  const auto scan = [&] {
    if (raw8) {
      model.ScanPackedRaw8(packed.data(), packed.size(), n, raw8_out.get(), out_stride,
                           apply_options);
    } else if (raw) {
      model.ScanPackedRaw(packed.data(), packed.size(), n, raw_out.get(), out_stride,
                          apply_options);
    } else {
      model.ScanPacked(packed.data(), packed.size(), n, out.get(), out_stride, apply_options);
    }
  };
  jobs.push_back(encode);
  jobs.push_back(scan);
  jobs.push_back([&] {
    if (raw) {
      encode();
      scan();
    } else {
      model.Apply(a_view, out.get(), out_stride, apply_options);  // encode and scan fused
    }
  });
  if (!args.json) {
    std::fprintf(stderr, "timing %zu runs of each of %zu jobs\n",
                 static_cast<std::size_t>(args.repeats), jobs.size());
  }
  const JobTimes times = MedianTimesEach(static_cast<int>(args.repeats), jobs);
  const std::vector<double>& seconds = times.wall;
  const std::vector<double>& cpu = times.cpu;
  // The fastest exact product with A in MADDNESS's layout, and of any layout.
  std::size_t fastest = 0;
  std::size_t fastest_any = 0;
  std::size_t fastest_cpu = 0;
  for (std::size_t j = 0; j < exact.size(); ++j) {
    if (seconds[j] < seconds[fastest_any]) fastest_any = j;
    if (!exact[j].same_layout) continue;
    if (seconds[j] < seconds[fastest]) fastest = j;
    if (cpu[j] < cpu[fastest_cpu]) fastest_cpu = j;
  }
  const double exact_ms = seconds[fastest] * 1e3;
  const double exact_any_ms = seconds[fastest_any] * 1e3;
  const double encode_ms = seconds[first_maddness] * 1e3;
  const double scan_ms = seconds[first_maddness + 1] * 1e3;
  const double maddness_ms = seconds[first_maddness + 2] * 1e3;
  const double lookups =
      static_cast<double>(n) * static_cast<double>(m) * static_cast<double>(args.codebooks);
  const double lookups_per_s = lookups / seconds[first_maddness + 1];
  const std::string target = SimdTarget();
  const auto exact_name = [&](std::size_t j) {
    return exact[j].product->name() + (exact[j].same_layout ? "" : " (row-major copy of A)");
  };

  if (args.json) {
    nlohmann::ordered_json result;
    result["n"] = n;
    result["d"] = d;
    result["m"] = m;
    result["codebooks"] = args.codebooks;
    result["layout"] = args.layout;
    result["output"] = args.output;
    result["output_layout"] = args.output_layout;
    result["out_stride"] = out_stride;
    result["aggregation"] = args.aggregation;
    result["threads"] = threads;
    result["repeats"] = args.repeats;
    result["exact_ms"] = exact_ms;
    result["exact_library"] = exact_name(fastest);
    result["exact_any_layout_ms"] = exact_any_ms;
    result["exact_any_layout_library"] = exact_name(fastest_any);
    nlohmann::ordered_json products = nlohmann::ordered_json::object();
    for (std::size_t j = 0; j < exact.size(); ++j) products[exact_name(j)] = seconds[j] * 1e3;
    result["exact_products_ms"] = products;
    result["onednn_ms"] = seconds[0] * 1e3;
    result["openblas_ms"] = seconds[1] * 1e3;
    result["maddness_ms"] = maddness_ms;
    result["encode_ms"] = encode_ms;
    result["scan_ms"] = scan_ms;
    result["speedup"] = exact_ms / maddness_ms;
    result["speedup_any_layout"] = exact_any_ms / maddness_ms;
    result["lookups_per_s"] = lookups_per_s;
    result["target"] = target;
    // Process CPU time: on one thread, the time spent computing (see MedianTimesEach).
    result["exact_cpu_ms"] = cpu[fastest_cpu] * 1e3;
    result["exact_cpu_library"] = exact_name(fastest_cpu);
    result["maddness_cpu_ms"] = cpu[first_maddness + 2] * 1e3;
    result["encode_cpu_ms"] = cpu[first_maddness] * 1e3;
    result["scan_cpu_ms"] = cpu[first_maddness + 1] * 1e3;
    result["speedup_cpu"] = cpu[fastest_cpu] / cpu[first_maddness + 2];
    std::printf("%s\n", result.dump().c_str());
    return 0;
  }
  std::printf(
      "A %zu x %zu (%s-major) times B %zu x %zu, %lld codebooks, %s output (%s-major), %d "
      "thread%s, median of %lld runs\n",
      n, d, col_major ? "column" : "row", d, m, args.codebooks,
      raw8  ? "raw 8-bit"
      : raw ? "raw 16-bit"
            : "float32",
      col_output ? "column" : "row", threads, threads == 1 ? "" : "s", args.repeats);
  std::printf("  %-44s %10s    %10s\n", "", "wall", "CPU");
  for (std::size_t j = 0; j < exact.size(); ++j) {
    std::printf("  %-44s %10.4f ms %10.4f ms\n", exact_name(j).c_str(), seconds[j] * 1e3,
                cpu[j] * 1e3);
  }
  std::printf("  %-44s %10.4f ms %10.4f ms\n", "MADDNESS encode", encode_ms,
              cpu[first_maddness] * 1e3);
  std::printf("  %-44s %10.4f ms %10.4f ms   (%.1f G lookups/s)\n", "MADDNESS scan", scan_ms,
              cpu[first_maddness + 1] * 1e3, lookups_per_s * 1e-9);
  std::printf("  %-44s %10.4f ms %10.4f ms\n", raw ? "MADDNESS encode + scan" : "MADDNESS Apply",
              maddness_ms, cpu[first_maddness + 2] * 1e3);
  std::printf("MADDNESS (%s kernels) is %.2fx %s than %s, the fastest exact product here.\n",
              target.c_str(),
              exact_ms >= maddness_ms ? exact_ms / maddness_ms : maddness_ms / exact_ms,
              exact_ms >= maddness_ms ? "faster" : "slower", exact_name(fastest).c_str());
  if (fastest_any != fastest) {
    std::printf("With A in any layout the fastest exact product is %s: %.2fx.\n",
                exact_name(fastest_any).c_str(), exact_any_ms / maddness_ms);
  }
  if (threads == 1) {
    std::printf("In CPU time (steadier on a shared machine): %.2fx the speed of %s.\n",
                cpu[fastest_cpu] / cpu[first_maddness + 2], exact_name(fastest_cpu).c_str());
  }
  return 0;
}

}  // namespace maddness::cli
