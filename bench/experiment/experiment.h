// The experiment suite (`maddness-experiment`, maddness-spec section 10): the paper's
// speed-accuracy comparison on real data. Every method of bench/experiment/baselines/methods.h is
// fitted on A_train and B, evaluated on A_test against the exact product, and timed on one matrix
// together with the exact float32 products. The pieces:
//   tasks.h    the datasets, loaded as Tasks (A_train, A_test, B and how outputs are scored)
//   scoring.h  accuracy of a task's outputs, and the summary over the UCR datasets
//   runner.h   the grid of methods, fitting, scoring and timing one task, the whole run
//   report.h   results.csv and results.json
//   main.cc    the command line
// This header holds the types they share.
#ifndef MADDNESS_BENCH_EXPERIMENT_EXPERIMENT_H_
#define MADDNESS_BENCH_EXPERIMENT_EXPERIMENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace maddness::experiment {

// The command line of maddness-experiment (main.cc), checked by RunExperiment.
struct ExperimentArgs {
  std::string task = "all";
  std::string data_dir = "../shared/data";
  std::string fashion_dir = "/usr/share/datasets/fashion-mnist";
  // The deep-feature benchmark (scripts/make_deepfeat.py); main.cc sets the default from
  // $MADDNESS_DEEPFEAT or ~/.cache/maddness/deepfeat.
  std::string deepfeat_dir;
  std::string out_dir = "experiment-results";
  bool quick = false;
  int threads = 1;
  int fit_threads = 0;
  int repeats = 9;
  std::uint64_t seed = 0;
  // --task user
  std::string a_train_path, a_test_path, b_path, bias_path, labels_path, train_labels_path;
  std::string name = "user";
  std::size_t time_rows = 0;
  bool quiet = false;
};

// The settings every stage of a run reads.
struct Settings {
  bool quick = false;
  int threads = 1;
  int fit_threads = 0;
  int repeats = 9;
  bool quiet = false;
};

// A row-major float32 matrix.
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;
};

enum class Metric { kNmse, kArgmax, kRbf };

// One A_train, A_test, B problem and how its outputs are scored.
struct Task {
  std::string name;   // e.g. "imgfilter/B_rgb"
  std::string group;  // e.g. "imgfilter"
  std::shared_ptr<const Matrix> a_train;
  std::shared_ptr<const Matrix> a_test;
  Matrix b;
  Metric metric = Metric::kNmse;
  // kArgmax: predicted class argmax(Y + bias); kRbf: the RBF kernel classifier (scoring.h).
  std::vector<float> bias;
  std::vector<std::int64_t> labels;        // test labels
  std::vector<std::int64_t> train_labels;  // kRbf: class of each column of B
  // kArgmax: the class of each row of A_train, where the task has them (empty otherwise); the
  // classifier-aware MADDNESS learns from them, with `bias`.
  std::vector<std::int64_t> a_train_labels;
  double gamma = 1.0;               // kRbf: scores softmax(-gamma d^2)
  std::size_t min_timing_rows = 0;  // time on A_test repeated to at least this many rows
  std::string timing_note;
};

// One point of the results.
struct Point {
  std::string task, group, method, params;
  std::optional<int> codebooks, sketch_dim;
  std::optional<double> nmse, accuracy, exact_accuracy, relative_accuracy;
  // time_ms: the faster `layout` of A ("row" or "col"); speedup against the faster exact
  // product on either layout; speedup_row: both row-major.
  std::string layout;
  std::optional<double> time_ms, time_row_ms, time_col_ms, exact_time_ms, speedup, speedup_row;
  // What computed the times (Method::library(): library, version, kernels); the exact product
  // behind exact_time_ms (its library() and the layout of A it was timed on).
  std::string library, exact_library, exact_layout;
  // The paper's timing of MADDNESS (maddness-spec 1.3): up to the raw 16-bit sums, without
  // de-quantizing them to float, on the faster layout (raw_layout); speedup_raw against the same
  // exact time.
  std::optional<double> time_raw_ms, speedup_raw;
  std::string raw_layout;
  // The encoding step of time_ms alone (A to codes, same layout), for the methods that have one
  // (Bolt).
  std::optional<double> encode_ms;
  // The time to store timed_rows x m float32 values (memset into the same output buffer), timed
  // with the methods: no method that writes the float32 output can be faster, so exact time /
  // output_write_ms is the largest speedup any of them can reach on this machine.
  std::optional<double> output_write_ms, speedup_ceiling;
  std::optional<double> fit_seconds;
  std::optional<double> frac_above_050, frac_above_075, frac_above_095;
  std::size_t timed_rows = 0, n_train = 0, n_test = 0, d = 0, m = 0;
  std::string timing_note;
};

// A progress line on stderr, unless settings.quiet.
void Status(const Settings& settings, const std::string& message);

// `value` with `digits` decimals.
std::string Fixed(double value, int digits);

}  // namespace maddness::experiment

#endif  // MADDNESS_BENCH_EXPERIMENT_EXPERIMENT_H_
