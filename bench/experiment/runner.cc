#include "bench/experiment/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/experiment/baselines/libraries.h"
#include "bench/experiment/baselines/methods.h"
#include "bench/experiment/report.h"
#include "bench/experiment/scoring.h"
#include "bench/experiment/tasks.h"
#include "maddness/maddness.h"
#include "tools/cli_common.h"
#include "tools/metrics.h"

namespace maddness::experiment {
namespace {

namespace fs = std::filesystem;
using baselines::Method;
using cli::CompareOutputs;
using cli::ErrorStats;
using cli::ExactProduct;
using cli::MedianSecondsEach;
using cli::SecondsSince;
using maddness::CheckThreads;

const char* const kTaskNames[] = {"imgfilter", "digits", "fashion", "ucr",
                                  "deepfeat",  "user",   "all"};

// Seconds of exact product per timed sample: short products are repeated inside one sample so
// that the clock's resolution and call overheads do not dominate.
constexpr double kMinSampleSeconds = 2e-3;

// ---- Grids (spec 10.3) ----

struct Candidate {
  std::function<std::unique_ptr<Method>()> make;
  std::optional<int> codebooks, sketch_dim;
};

// The classifier-aware MADDNESS's training targets: on classification tasks with the classes of
// A_train's rows and at least 2 classes; null otherwise.
std::shared_ptr<const baselines::ClassifierTraining> ClassifierTrainingOf(const Task& task) {
  if (task.metric != Metric::kArgmax || task.a_train_labels.empty() || task.b.cols < 2) {
    return nullptr;
  }
  auto training = std::make_shared<baselines::ClassifierTraining>();
  training->train_labels.assign(task.a_train_labels.begin(), task.a_train_labels.end());
  training->bias = task.bias;
  return training;
}

std::vector<Candidate> MethodGrid(const Task& task, const Settings& settings, std::uint64_t seed) {
  const std::size_t d = task.a_train->cols, m = task.b.cols;
  const std::shared_ptr<const baselines::ClassifierTraining> classifier =
      ClassifierTrainingOf(task);
  const std::vector<int> codebook_grid =
      settings.quick ? std::vector<int>{4, 16} : std::vector<int>{2, 4, 8, 16, 32, 64};
  const std::vector<int> sketch_grid =
      settings.quick ? std::vector<int>{2, 8} : std::vector<int>{1, 2, 4, 8, 16, 32, 64};
  std::vector<Candidate> grid;
  // Both int8 forms: A quantized per row at run time, and static per-tensor (calibrated on
  // A_train).
  for (const baselines::Int8Scales scales :
       {baselines::Int8Scales::kPerRow, baselines::Int8Scales::kStatic}) {
    grid.push_back(
        {[scales] { return baselines::MakeScalarQuantize(baselines::Int8Codes::kCpu, scales); },
         std::nullopt, std::nullopt});
  }
  for (const int c : codebook_grid) {
    if (static_cast<std::size_t>(c) > d) continue;
    grid.push_back({[c] { return baselines::MakeMaddness(c, false); }, c, std::nullopt});
    if (classifier) {
      grid.push_back({[c, classifier] { return baselines::MakeMaddnessClassifier(c, classifier); },
                      c, std::nullopt});
    }
    grid.push_back({[c] { return baselines::MakeMaddness(c, true); }, c, std::nullopt});
    grid.push_back({[c] { return baselines::MakeBolt(c); }, c, std::nullopt});
  }
  for (const int s : sketch_grid) {
    const auto size = static_cast<std::size_t>(s);
    if (size <= d && size <= m) {
      grid.push_back({[s] { return baselines::MakePca(s); }, std::nullopt, s});
    }
    if (size < d && size < m) {
      grid.push_back(
          {[s, seed] { return baselines::MakeGaussianSketch(s, seed); }, std::nullopt, s});
      grid.push_back({[s, seed] { return baselines::MakeHashJl(s, seed); }, std::nullopt, s});
    }
  }
  return grid;
}

// ---- Running a task ----

// A method fitted to a task, and its point without the times.
struct Fitted {
  std::unique_ptr<Method> method;
  Point point;
};

// Fits `method` (from `candidate`, null for the exact products) on the task, scores its outputs
// on A_test against `exact` and appends it to `fitted`; a method that cannot be fitted here
// (e.g. more codebooks than columns) is skipped with a message. `outputs` is scratch space of
// A_test's rows x M.
void FitAndScore(std::unique_ptr<Method> method, const Candidate* candidate, const Task& task,
                 const Settings& settings, const Point& base, const std::vector<double>& exact,
                 std::vector<float>* outputs_buffer, std::vector<Fitted>* fitted) {
  const Matrix& a_train = *task.a_train;
  const Matrix& a_test = *task.a_test;
  const std::size_t d = a_train.cols, m = task.b.cols;
  std::vector<float>& outputs = *outputs_buffer;
  const std::optional<double>& exact_accuracy = base.exact_accuracy;
  Point point = base;
  point.method = method->name();
  point.params = method->params();
  if (candidate != nullptr) {
    point.codebooks = candidate->codebooks;
    point.sketch_dim = candidate->sketch_dim;
  }
  const auto start = std::chrono::steady_clock::now();
  try {
    method->Fit(a_train.values.data(), a_train.rows, task.b.values.data(), d, m,
                settings.fit_threads);
  } catch (const Error& error) {
    Status(settings, "[" + task.name + "] " + point.method + " " + point.params +
                         ": skipped, it cannot be fitted here: " + error.what());
    return;
  }
  point.fit_seconds = SecondsSince(start);
  method->Apply(a_test.values.data(), a_test.rows, outputs.data(), settings.threads);
  const ErrorStats stats = CompareOutputs(exact, outputs);
  if (std::isfinite(stats.nmse)) point.nmse = stats.nmse;
  point.accuracy = TaskAccuracy(task, outputs);
  if (point.accuracy && exact_accuracy && *exact_accuracy > 0) {
    point.relative_accuracy = *point.accuracy / *exact_accuracy;
  }
  std::string line = "[" + task.name + "] " + point.method + " " + point.params + ": fit " +
                     Fixed(*point.fit_seconds, 2) + " s";
  if (point.nmse) line += ", NMSE " + Fixed(*point.nmse, 4);
  if (point.accuracy) line += ", accuracy " + Fixed(*point.accuracy, 4);
  Status(settings, line);
  fitted->push_back({std::move(method), std::move(point)});
}

// Times every fitted method on `timed` (A_test, or its rows repeated), row-major and (where the
// method has that path) column-major, all jobs taking turns; each method's faster layout counts,
// the exact products' (fitted[0] and fitted[1]) included. Returns the points with their times.
std::vector<Point> TimeMethods(const Task& task, const Settings& settings,
                               const Matrix& timed_matrix, const std::vector<Fitted>& fitted) {
  const Matrix* timed = &timed_matrix;
  const std::size_t d = timed->cols, m = task.b.cols;
  std::vector<float> timed_col(timed->values.size());
  for (std::size_t r = 0; r < timed->rows; ++r) {
    for (std::size_t j = 0; j < d; ++j) timed_col[j * timed->rows + r] = timed->values[r * d + j];
  }
  std::vector<float> timing_outputs(timed->rows * m);
  const auto run = [&](Method& method, bool col_major) {
    if (col_major) {
      method.ApplyColumnMajor(timed_col.data(), timed->rows, timing_outputs.data(),
                              settings.threads);
    } else {
      method.Apply(timed->values.data(), timed->rows, timing_outputs.data(), settings.threads);
    }
  };
  // Short products are repeated `inner` times per sample.
  run(*fitted[0].method, false);
  const auto probe_start = std::chrono::steady_clock::now();
  run(*fitted[0].method, false);
  const double probe = std::max(1e-7, SecondsSince(probe_start));
  const int inner =
      static_cast<int>(std::min(1000.0, std::max(1.0, std::ceil(kMinSampleSeconds / probe))));
  // A model equal byte for byte to an earlier one (MADDNESS that kept the bucket means is
  // MADDNESS-PQ's model) is timed once: timing it twice would only measure noise.
  std::vector<std::size_t> timed_as(fitted.size());
  std::vector<std::vector<std::uint8_t>> model_bytes(fitted.size());
  for (std::size_t i = 0; i < fitted.size(); ++i) {
    timed_as[i] = i;
    model_bytes[i] = fitted[i].method->ModelBytes();
    for (std::size_t j = 0; j < i && !model_bytes[i].empty(); ++j) {
      if (model_bytes[j] == model_bytes[i]) {
        timed_as[i] = j;
        Status(settings, "[" + task.name + "] " + fitted[i].point.method + " " +
                             fitted[i].point.params + ": the same model as " +
                             fitted[j].point.method + " " + fitted[j].point.params +
                             ", timed once");
        break;
      }
    }
  }
  std::vector<std::function<void()>> jobs;
  struct Job {
    std::size_t method;  // fitted index
    bool col_major;
    bool raw;             // ApplyRaw, the paper's timed region
    bool encode = false;  // Encode alone (Bolt's encode time)
  };
  std::vector<Job> job_method;
  for (std::size_t i = 0; i < fitted.size(); ++i) {
    if (timed_as[i] != i) continue;
    Method* method = fitted[i].method.get();
    for (const bool col_major : {false, true}) {
      if (col_major && !method->has_column_major()) continue;
      jobs.push_back([&run, method, inner, col_major] {
        for (int repeat = 0; repeat < inner; ++repeat) run(*method, col_major);
      });
      job_method.push_back(Job{i, col_major, false});
      if (method->has_encode()) {
        jobs.push_back([&, method, col_major] {
          const float* a = col_major ? timed_col.data() : timed->values.data();
          for (int repeat = 0; repeat < inner; ++repeat) {
            method->Encode(a, timed->rows, col_major, settings.threads);
          }
        });
        job_method.push_back(Job{i, col_major, false, true});
      }
      if (!method->has_raw_output()) continue;
      jobs.push_back([&, method, col_major] {
        const float* a = col_major ? timed_col.data() : timed->values.data();
        for (int repeat = 0; repeat < inner; ++repeat) {
          method->ApplyRaw(a, timed->rows, col_major, settings.threads);
        }
      });
      job_method.push_back(Job{i, col_major, true});
    }
  }
  // The last job: writing the output alone.
  const std::size_t write_job = jobs.size();
  jobs.push_back([&timing_outputs, inner] {
    for (int repeat = 0; repeat < inner; ++repeat) {
      std::memset(timing_outputs.data(), 0x3f + (repeat & 1),
                  timing_outputs.size() * sizeof(float));
    }
  });
  Status(settings, "[" + task.name + "] timing " + std::to_string(jobs.size()) + " jobs on " +
                       std::to_string(timed->rows) + " x " + std::to_string(d) + " rows (" +
                       std::to_string(settings.repeats) + " samples of " + std::to_string(inner) +
                       " runs)");
  const std::vector<double> seconds = MedianSecondsEach(settings.repeats, jobs);
  std::vector<double> row_seconds(fitted.size(), INFINITY), col_seconds(fitted.size(), INFINITY);
  std::vector<double> raw_seconds(fitted.size(), INFINITY);
  std::vector<bool> raw_col_major(fitted.size(), false);
  std::vector<double> encode_row_seconds(fitted.size(), INFINITY);
  std::vector<double> encode_col_seconds(fitted.size(), INFINITY);
  const double write_seconds = seconds[write_job] / inner;
  for (std::size_t job = 0; job < write_job; ++job) {
    const Job& done = job_method[job];
    const double each = seconds[job] / inner;
    if (done.encode) {
      (done.col_major ? encode_col_seconds : encode_row_seconds)[done.method] = each;
    } else if (done.raw) {
      if (each < raw_seconds[done.method]) {
        raw_seconds[done.method] = each;
        raw_col_major[done.method] = done.col_major;
      }
    } else {
      (done.col_major ? col_seconds : row_seconds)[done.method] = each;
    }
  }
  for (std::size_t i = 0; i < fitted.size(); ++i) {
    row_seconds[i] = row_seconds[timed_as[i]];
    col_seconds[i] = col_seconds[timed_as[i]];
    raw_seconds[i] = raw_seconds[timed_as[i]];
    raw_col_major[i] = raw_col_major[timed_as[i]];
    encode_row_seconds[i] = encode_row_seconds[timed_as[i]];
    encode_col_seconds[i] = encode_col_seconds[timed_as[i]];
  }
  // fitted[0] and fitted[1] are the exact products; the fastest of their four timings is the
  // exact time.
  const double exact_row = std::min(row_seconds[0], row_seconds[1]);
  std::size_t exact_index = 0;
  bool exact_col_major = false;
  double exact_seconds = INFINITY;
  for (std::size_t i = 0; i < 2; ++i) {
    for (const bool col_major : {false, true}) {
      const double each = col_major ? col_seconds[i] : row_seconds[i];
      if (each < exact_seconds) {
        exact_seconds = each;
        exact_index = i;
        exact_col_major = col_major;
      }
    }
  }
  const std::string exact_library = fitted[exact_index].method->library();
  std::vector<Point> points;
  for (std::size_t i = 0; i < fitted.size(); ++i) {
    Point point = fitted[i].point;
    const bool col_faster = col_seconds[i] < row_seconds[i];
    const double method_seconds = col_faster ? col_seconds[i] : row_seconds[i];
    point.layout = col_faster ? "col" : "row";
    point.time_ms = method_seconds * 1e3;
    point.time_row_ms = row_seconds[i] * 1e3;
    if (std::isfinite(col_seconds[i])) point.time_col_ms = col_seconds[i] * 1e3;
    point.exact_time_ms = exact_seconds * 1e3;
    point.library = fitted[i].method->library();
    point.exact_library = exact_library;
    point.exact_layout = exact_col_major ? "col" : "row";
    point.speedup = exact_seconds / method_seconds;
    point.speedup_row = exact_row / row_seconds[i];
    if (std::isfinite(raw_seconds[i])) {
      point.time_raw_ms = raw_seconds[i] * 1e3;
      point.speedup_raw = exact_seconds / raw_seconds[i];
      point.raw_layout = raw_col_major[i] ? "col" : "row";
    }
    // The encoding alone, on the layout of time_ms.
    const double encode_seconds = col_faster ? encode_col_seconds[i] : encode_row_seconds[i];
    if (std::isfinite(encode_seconds)) point.encode_ms = encode_seconds * 1e3;
    point.output_write_ms = write_seconds * 1e3;
    point.speedup_ceiling = exact_seconds / write_seconds;
    points.push_back(std::move(point));
  }
  return points;
}

std::vector<Point> RunTask(const Task& task, const Settings& settings, std::uint64_t seed) {
  const Matrix& a_train = *task.a_train;
  const Matrix& a_test = *task.a_test;
  const std::size_t d = a_train.cols, m = task.b.cols;
  Status(settings, "[" + task.name + "] A_train " + std::to_string(a_train.rows) + " x " +
                       std::to_string(d) + ", A_test " + std::to_string(a_test.rows) + " x " +
                       std::to_string(d) + ", B " + std::to_string(d) + " x " + std::to_string(m));
  const MatrixView test_view = MatrixView::RowMajor(a_test.values.data(), a_test.rows, d);
  const MatrixView b_view = MatrixView::RowMajor(task.b.values.data(), d, m);
  const std::vector<double> exact = ExactProduct(test_view, b_view);
  const std::optional<double> exact_accuracy = TaskAccuracy(task, exact);

  // The timed matrix: A_test, repeated to min_timing_rows rows when shorter.
  Matrix timing;
  const Matrix* timed = &a_test;
  if (task.min_timing_rows > a_test.rows) {
    timing.rows = task.min_timing_rows;
    timing.cols = d;
    timing.values.resize(timing.rows * d);
    for (std::size_t r = 0; r < timing.rows; ++r) {
      std::copy_n(a_test.values.begin() + static_cast<std::ptrdiff_t>((r % a_test.rows) * d), d,
                  timing.values.begin() + static_cast<std::ptrdiff_t>(r * d));
    }
    timed = &timing;
  }

  Point base;
  base.task = task.name;
  base.group = task.group;
  base.exact_accuracy = exact_accuracy;
  base.timed_rows = timed->rows;
  base.n_train = a_train.rows;
  base.n_test = a_test.rows;
  base.d = d;
  base.m = m;
  base.timing_note = task.timing_note;

  std::vector<Fitted> fitted;
  std::vector<float> outputs(a_test.rows * m);
  const auto evaluate = [&](std::unique_ptr<Method> method, const Candidate* candidate) {
    FitAndScore(std::move(method), candidate, task, settings, base, exact, &outputs, &fitted);
  };
  evaluate(baselines::MakeExact("onednn"), nullptr);
  evaluate(baselines::MakeExact("openblas"), nullptr);
  for (const Candidate& candidate : MethodGrid(task, settings, seed)) {
    evaluate(candidate.make(), &candidate);
  }
  return TimeMethods(task, settings, *timed, fitted);
}

}  // namespace

void Status(const Settings& settings, const std::string& message) {
  if (!settings.quiet) std::fprintf(stderr, "%s\n", message.c_str());
}

std::string Fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

int RunExperiment(const ExperimentArgs& args) {
  const std::vector<std::string> names(std::begin(kTaskNames), std::end(kTaskNames));
  if (std::find(names.begin(), names.end(), args.task) == names.end()) {
    throw Error("--task " + args.task +
                ": unknown task; choose imgfilter, digits, fashion, ucr, deepfeat, user or all");
  }
  CheckThreads(args.threads, "--threads");
  CheckThreads(args.fit_threads, "--fit-threads");
  if (args.repeats < 1 || args.repeats > 1000) {
    throw Error("--repeats " + std::to_string(args.repeats) + ": must be in [1, 1000]");
  }
  if (args.out_dir.empty()) throw Error("--out is empty; give a folder for the results");
  const fs::path out_dir(args.out_dir);
  if (fs::exists(out_dir) && !fs::is_directory(out_dir)) {
    throw Error("--out " + args.out_dir + ": exists and is not a folder");
  }
  const bool with_user = args.task == "user" || (args.task == "all" && !args.a_train_path.empty());
  if (!with_user &&
      (!args.a_train_path.empty() || !args.a_test_path.empty() || !args.b_path.empty() ||
       !args.labels_path.empty() || !args.train_labels_path.empty())) {
    throw Error(
        "--a-train/--a-test/--b/--labels/--train-labels are for --task user (or all); "
        "--task is " +
        args.task);
  }
  Settings settings;
  settings.quick = args.quick;
  settings.threads = args.threads;
  settings.fit_threads = args.fit_threads;
  settings.repeats = args.repeats;
  settings.quiet = args.quiet;
  std::error_code error;
  fs::create_directories(out_dir, error);
  if (error) {
    throw Error("--out " + args.out_dir + ": cannot create the folder: " + error.message());
  }

  const fs::path data_dir(args.data_dir);
  struct Loader {
    std::string name;
    std::function<std::vector<Task>()> load;
  };
  std::vector<Loader> loaders = {
      {"imgfilter", [&] { return LoadImgfilter(data_dir, settings); }},
      {"digits", [&] { return LoadDigits(data_dir, settings); }},
      {"fashion", [&] { return LoadFashion(fs::path(args.fashion_dir), settings); }},
      {"ucr", [&] { return LoadUcr(data_dir, settings); }},
      {"deepfeat", [&] { return LoadDeepfeat(fs::path(args.deepfeat_dir), settings); }},
  };
  if (with_user) loaders.push_back({"user", [&] { return LoadUser(args); }});

  const auto start = std::chrono::steady_clock::now();
  std::vector<Point> points;
  std::vector<std::string> skipped;
  for (const Loader& loader : loaders) {
    if (args.task != "all" && args.task != loader.name) continue;
    std::vector<Task> tasks;
    try {
      tasks = loader.load();
    } catch (const Error& load_error) {
      // A missing dataset skips its task in a full run; asked for alone, it is an error.
      if (args.task != "all" || loader.name == "user") throw;
      Status(settings, std::string("skipping task ") + loader.name + ": " + load_error.what());
      skipped.push_back(loader.name);
      continue;
    }
    std::size_t ucr_sets = 0;
    for (const Task& task : tasks) {
      std::vector<Point> task_points = RunTask(task, settings, args.seed);
      points.insert(points.end(), task_points.begin(), task_points.end());
      ucr_sets += task.group == "ucr";
      // Written after every task, so that an interrupted run keeps what it measured.
      nlohmann::ordered_json partial;
      partial["complete"] = false;
      WriteResults(out_dir, points, partial, args.threads);
    }
    if (loader.name == "ucr") {
      const std::vector<Point> summary = SummarizeUcr(points, ucr_sets);
      points.insert(points.end(), summary.begin(), summary.end());
    }
  }
  nlohmann::ordered_json settings_json;
  settings_json["complete"] = true;
  settings_json["task"] = args.task;
  settings_json["quick"] = args.quick;
  settings_json["threads"] = args.threads;
  settings_json["fit_threads"] = args.fit_threads;
  settings_json["repeats"] = args.repeats;
  settings_json["seed"] = args.seed;
  settings_json["cpu"] = baselines::CpuModel();
  settings_json["target"] = SimdTarget();
  settings_json["skipped_tasks"] = skipped;
  settings_json["seconds"] = SecondsSince(start);
  WriteResults(out_dir, points, settings_json, args.threads);
  Status(settings, "wrote " + std::to_string(points.size()) + " points to " +
                       (out_dir / "results.csv").string() + " and results.json in " +
                       Fixed(SecondsSince(start), 1) + " s");
  return 0;
}

}  // namespace maddness::experiment
