// `maddness bench`: MADDNESS against the fastest exact float32 products, in one process and one
// run, on random matrices of the requested shape (kernel speed does not depend on the values).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "maddness/maddness.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/exact_product.h"

namespace maddness::cli {
namespace {

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
  if (args.output != "f32" && args.output != "raw") {
    throw Error("--output is '" + args.output + "'; it must be 'f32' or 'raw'");
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
  options.aggregation = ParseAggregation(args.aggregation, "--aggregation");
  const auto n = static_cast<std::size_t>(args.n);
  const auto d = static_cast<std::size_t>(args.d);
  const auto m = static_cast<std::size_t>(args.m);
  const bool col_major = args.layout == "col";
  const bool raw = args.output == "raw";
  const int threads = args.threads != 0
                          ? args.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const ApplyOptions apply_options{threads};

  const std::vector<float> a = RandomValues(n * d, 1);
  const std::vector<float> a_train = RandomValues(kTrainRows * d, 2);
  const std::vector<float> b = RandomValues(d * m, 3);
  const MatrixView a_view =
      col_major ? MatrixView::ColMajor(a.data(), n, d) : MatrixView::RowMajor(a.data(), n, d);
  const MatrixView b_view = MatrixView::RowMajor(b.data(), d, m);

  const Model model =
      Model::Learn(MatrixView::RowMajor(a_train.data(), kTrainRows, d), &b_view, options);

  std::unique_ptr<ExactMatmul> exact[] = {
      MakeOneDnnProduct(a.data(), col_major, n, d, b.data(), m),
      MakeOpenBlasProduct(a.data(), col_major, n, d, b.data(), m)};
  std::vector<float> exact_out(n * m);
  std::vector<float> out(n * m);
  std::vector<std::uint16_t> raw_out(n * m);
  std::vector<std::uint8_t> packed = model.EncodePacked(a_view, apply_options);

  // Jobs, timed in turns: the exact products, then MADDNESS encode, scan and the whole product.
  std::vector<std::function<void()>> jobs;
  for (auto& product : exact) {
    jobs.push_back([&exact_out, &product, threads] { product->Run(exact_out.data(), threads); });
  }
  jobs.push_back([&] { packed = model.EncodePacked(a_view, apply_options); });
  const auto scan = [&] {
    if (raw) {
      model.ScanPackedRaw(packed.data(), packed.size(), n, raw_out.data(), 0, apply_options);
    } else {
      model.ScanPacked(packed.data(), packed.size(), n, out.data(), 0, apply_options);
    }
  };
  jobs.push_back(scan);
  jobs.push_back([&] {
    if (raw) {
      packed = model.EncodePacked(a_view, apply_options);
      scan();
    } else {
      model.Apply(a_view, out.data(), 0, apply_options);  // encode and scan fused per row block
    }
  });
  if (!args.json) {
    std::fprintf(stderr, "timing %zu runs of each of %zu jobs\n",
                 static_cast<std::size_t>(args.repeats), jobs.size());
  }
  const JobTimes times = MedianTimesEach(static_cast<int>(args.repeats), jobs);
  const std::vector<double>& seconds = times.wall;
  const std::vector<double>& cpu = times.cpu;
  const std::size_t fastest_cpu = cpu[0] <= cpu[1] ? 0 : 1;
  const std::size_t fastest = seconds[0] <= seconds[1] ? 0 : 1;
  const double exact_ms = seconds[fastest] * 1e3;
  const double encode_ms = seconds[2] * 1e3;
  const double scan_ms = seconds[3] * 1e3;
  const double maddness_ms = seconds[4] * 1e3;
  const double lookups =
      static_cast<double>(n) * static_cast<double>(m) * static_cast<double>(args.codebooks);
  const double lookups_per_s = lookups / seconds[3];
  const std::string target = SimdTarget();

  if (args.json) {
    nlohmann::ordered_json result;
    result["n"] = n;
    result["d"] = d;
    result["m"] = m;
    result["codebooks"] = args.codebooks;
    result["layout"] = args.layout;
    result["output"] = args.output;
    result["aggregation"] = args.aggregation;
    result["threads"] = threads;
    result["repeats"] = args.repeats;
    result["exact_ms"] = exact_ms;
    result["exact_library"] = exact[fastest]->name();
    result["onednn_ms"] = seconds[0] * 1e3;
    result["openblas_ms"] = seconds[1] * 1e3;
    result["maddness_ms"] = maddness_ms;
    result["encode_ms"] = encode_ms;
    result["scan_ms"] = scan_ms;
    result["speedup"] = exact_ms / maddness_ms;
    result["lookups_per_s"] = lookups_per_s;
    result["target"] = target;
    // Process CPU time: on one thread, the time spent computing (see MedianTimesEach).
    result["exact_cpu_ms"] = cpu[fastest_cpu] * 1e3;
    result["exact_cpu_library"] = exact[fastest_cpu]->name();
    result["maddness_cpu_ms"] = cpu[4] * 1e3;
    result["encode_cpu_ms"] = cpu[2] * 1e3;
    result["scan_cpu_ms"] = cpu[3] * 1e3;
    result["speedup_cpu"] = cpu[fastest_cpu] / cpu[4];
    std::printf("%s\n", result.dump().c_str());
    return 0;
  }
  std::printf(
      "A %zu x %zu (%s-major) times B %zu x %zu, %lld codebooks, %s output, %d thread%s, "
      "median of %lld runs\n",
      n, d, col_major ? "column" : "row", d, m, args.codebooks, raw ? "raw 16-bit" : "float32",
      threads, threads == 1 ? "" : "s", args.repeats);
  std::printf("  %-28s %10s    %10s\n", "", "wall", "CPU");
  std::printf("  %-28s %10.4f ms %10.4f ms\n", "oneDNN matmul (float32)", seconds[0] * 1e3,
              cpu[0] * 1e3);
  std::printf("  %-28s %10.4f ms %10.4f ms\n", "OpenBLAS sgemm (float32)", seconds[1] * 1e3,
              cpu[1] * 1e3);
  std::printf("  %-28s %10.4f ms %10.4f ms\n", "MADDNESS encode", encode_ms, cpu[2] * 1e3);
  std::printf("  %-28s %10.4f ms %10.4f ms   (%.1f G lookups/s)\n", "MADDNESS scan", scan_ms,
              cpu[3] * 1e3, lookups_per_s * 1e-9);
  std::printf("  %-28s %10.4f ms %10.4f ms\n", raw ? "MADDNESS encode + scan" : "MADDNESS Apply",
              maddness_ms, cpu[4] * 1e3);
  std::printf("MADDNESS (%s kernels) is %.2fx %s than %s, the fastest exact product here.\n",
              target.c_str(),
              exact_ms >= maddness_ms ? exact_ms / maddness_ms : maddness_ms / exact_ms,
              exact_ms >= maddness_ms ? "faster" : "slower", exact[fastest]->name().c_str());
  if (threads == 1) {
    std::printf("In CPU time (steadier on a shared machine): %.2fx the speed of %s.\n",
                cpu[fastest_cpu] / cpu[4], exact[fastest_cpu]->name().c_str());
  }
  return 0;
}

}  // namespace maddness::cli
