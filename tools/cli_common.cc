#include "tools/cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <sstream>
#include <system_error>

#include "src/io/file.h"
#include "src/io/model_file.h"

namespace maddness::cli {
namespace {

template <typename... Parts>
[[noreturn]] void Fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

std::string ShapeString(const std::vector<std::size_t>& shape) {
  std::ostringstream text;
  text << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text << (i ? ", " : "") << shape[i];
  }
  text << (shape.size() == 1 ? ",)" : ")");
  return text.str();
}

// Throws at the first NaN or infinity, naming its position.
void CheckAllFinite(const std::vector<float>& values, std::size_t cols, const std::string& what) {
  const auto bad =
      std::find_if(values.begin(), values.end(), [](float value) { return !std::isfinite(value); });
  if (bad == values.end()) return;
  const auto index = static_cast<std::size_t>(bad - values.begin());
  Fail(what, ": entry [", index / cols, ", ", index % cols, "] is ", *bad,
       "; every value must be finite (no NaN or infinity)");
}

}  // namespace

MatrixView NamedMatrix::view() const {
  return MatrixView::RowMajor(array.values.data(), rows(), cols());
}

std::string NamedMatrix::Describe() const { return name + " (" + path + ")"; }

NamedMatrix ReadMatrix(const std::string& path, const std::string& name, std::size_t min_rows) {
  NamedMatrix matrix{name, path, io::ReadNpy(path, name)};
  const std::string what = matrix.Describe();
  if (matrix.array.shape.size() != 2) {
    Fail(what, " has shape ", ShapeString(matrix.array.shape),
         "; it must be a 2-D matrix (reshape a vector to (n, 1) or (1, n))");
  }
  if (matrix.rows() < min_rows) {
    Fail(what, " has ", matrix.rows(), " rows; it needs at least ", min_rows);
  }
  if (matrix.cols() == 0) Fail(what, " has 0 columns; it needs at least 1");
  CheckAllFinite(matrix.array.values, matrix.cols(), what);
  return matrix;
}

std::vector<float> ReadVector(const std::string& path, const std::string& name,
                              std::size_t length) {
  io::NpyFloatArray array = io::ReadNpy(path, name);
  const std::string what = name + " (" + path + ")";
  const auto& shape = array.shape;
  const bool is_vector =
      shape.size() == 1 || (shape.size() == 2 && (shape[0] == 1 || shape[1] == 1));
  if (!is_vector || array.values.size() != length) {
    Fail(what, " has shape ", ShapeString(shape), "; it must be a vector of ", length,
         " values (shape (", length, ",))");
  }
  CheckAllFinite(array.values, 1, what);
  return std::move(array.values);
}

Model LoadModel(const std::string& path, const std::string& name) {
  // Read here rather than with Model::Load so that every message starts with the argument.
  const std::vector<std::uint8_t> bytes = io::ReadModelFile(path, name);
  try {
    return Model::Deserialize(bytes.data(), bytes.size());
  } catch (const Error& error) {
    Fail(name, " (", path, "): ", error.what());
  }
}

void CheckOutputPath(const std::string& path, const std::string& name) {
  namespace fs = std::filesystem;
  if (path.empty()) Fail(name, " is empty; it must name an output file");
  // The library's rule for outputs: links are followed; devices and FIFOs are written in place
  // (no temporary file, so the directory need not be writable); other kinds are refused.
  const io::OutputTarget target = io::ResolveOutputTarget(path, name);
  if (target.in_place) return;
  std::error_code error;
  const fs::path output(target.path);
  const fs::path parent = output.has_parent_path() ? output.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, error)) {
    Fail(name, " ", path, ": the directory ", parent.string(),
         " does not exist; outputs are written only into existing directories");
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    Fail(name, " ", path, ": the directory ", parent.string(), " is not writable");
  }
}

std::string UnsignedTextError(const std::string& text, std::uint64_t max) {
  const std::string rule =
      text + ": must be a whole number from 0 to " + std::to_string(max) + " in decimal digits";
  if (text.empty() || text.size() > 20) return rule;
  std::uint64_t value = 0;
  for (const char digit : text) {
    if (digit < '0' || digit > '9') return rule;
    const auto next = static_cast<std::uint64_t>(digit - '0');
    if (value > (max - next) / 10) return rule;
    value = value * 10 + next;
  }
  return "";
}

void CheckLambda(double value, const std::string& name) {
  if (!std::isfinite(value) || value < 0) {
    Fail(name, " ", value, ": the ridge parameter must be finite and >= 0");
  }
}

void CheckCandidateDims(int value, const std::string& name) {
  if (value < 1) {
    Fail(name, " ", value,
         ": must be >= 1 (split columns tried per tree level; the paper uses 4, larger values "
         "learn more slowly and may be more accurate)");
  }
}

LearnOptions ToLearnOptions(const LearnArgs& learn) {
  CheckNumCodebooks(learn.codebooks, 0, "--codebooks");
  CheckLambda(learn.lambda, "--lambda");
  CheckThreads(learn.threads, "--threads");
  CheckCandidateDims(learn.candidate_dims, "--candidate-dims");
  if (learn.max_train_rows != 0 &&
      learn.max_train_rows < static_cast<std::size_t>(kNumPrototypes)) {
    Fail("--max-train-rows ", learn.max_train_rows, ": must be 0 (every row) or at least ",
         kNumPrototypes, " (one training row per prototype)");
  }
  LearnOptions options;
  options.num_codebooks = static_cast<int>(learn.codebooks);
  options.variant = Parse<Variant>(learn.variant, "--variant");
  options.ridge_lambda = learn.lambda;
  options.choose_ridge_lambda = learn.choose_lambda;
  options.objective = Parse<Objective>(learn.objective, "--objective");
  options.candidate_dims = learn.candidate_dims;
  options.max_train_rows = learn.max_train_rows;
  options.seed = learn.seed;
  options.threads = learn.threads;
  options.aggregation = Parse<Aggregation>(learn.aggregation, "--aggregation");
  options.table_scale = Parse<TableScale>(learn.table_scale, "--table-scale");
  options.column_grouping = Parse<ColumnGrouping>(learn.grouping, "--grouping");
  return options;
}

std::vector<std::int64_t> ReadLabels(const std::string& path, const std::string& name,
                                     std::size_t count, const std::string& rows_owner,
                                     std::size_t num_outputs) {
  std::vector<std::int64_t> labels = io::ReadNpyLabels(path, name);
  CheckLabels(labels.data(), labels.size(), count, rows_owner, num_outputs,
              name + " (" + path + ")");
  return labels;
}

void SetClassifierOptions(const LearnArgs& learn, const std::string& bias_path,
                          std::size_t num_outputs, std::size_t num_train_rows,
                          LearnOptions* options) {
  if (!learn.classifier) return;
  if (num_outputs < 2) {
    throw Error("--classifier: B has " + std::to_string(num_outputs) +
                " column; a classifier needs at least 2 classes (columns of B)");
  }
  if (!(learn.mse_weight >= 0.0) || !std::isfinite(learn.mse_weight)) {
    Fail("--mse-weight ", learn.mse_weight, ": must be finite and >= 0");
  }
  if (learn.classifier_iterations < 1 || learn.classifier_iterations > 100000) {
    throw Error("--classifier-iterations " + std::to_string(learn.classifier_iterations) +
                ": must be between 1 and 100000");
  }
  ClassifierOptions& classifier = options->classifier;
  classifier.enabled = true;
  classifier.mse_weight = learn.mse_weight;
  classifier.max_iterations = learn.classifier_iterations;
  classifier.choose = !learn.classifier_fixed;
  if (!bias_path.empty()) classifier.bias = ReadVector(bias_path, "--bias", num_outputs);
  if (!learn.train_labels_path.empty()) {
    const std::vector<std::int64_t> labels = ReadLabels(learn.train_labels_path, "--train-labels",
                                                        num_train_rows, "A_train", num_outputs);
    classifier.labels.assign(labels.begin(), labels.end());
  }
}

ProgressPrinter::ProgressPrinter(bool enabled)
    : enabled_(enabled), terminal_(::isatty(STDERR_FILENO) == 1) {}

void ProgressPrinter::operator()(const Progress& progress) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool new_stage = progress.stage != stage_;
  const bool finished = progress.done >= progress.total;
  const double since_last = std::chrono::duration<double>(now - last_print_).count();
  if (terminal_) {
    if (new_stage && line_open_) std::fputc('\n', stderr);
    if (!new_stage && !finished && since_last < 0.1) return;
    std::fprintf(stderr, "\r%s: %zu/%zu", progress.stage.c_str(), progress.done, progress.total);
    line_open_ = !finished;
    if (finished) std::fputc('\n', stderr);
  } else {
    if (!new_stage && !finished && since_last < 1.0) return;
    std::fprintf(stderr, "%s: %zu/%zu\n", progress.stage.c_str(), progress.done, progress.total);
  }
  std::fflush(stderr);
  stage_ = progress.stage;
  last_print_ = now;
}

void ProgressPrinter::Finish() {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<double> MedianSecondsEach(int repeats, const std::vector<std::function<void()>>& jobs) {
  for (const auto& job : jobs) job();
  std::vector<std::vector<double>> seconds(jobs.size());
  for (int i = 0; i < repeats; ++i) {
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const auto start = std::chrono::steady_clock::now();
      jobs[j]();
      seconds[j].push_back(SecondsSince(start));
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& times : seconds) {
    std::sort(times.begin(), times.end());
    const std::size_t middle = times.size() / 2;
    medians.push_back(times.size() % 2 ? times[middle] : 0.5 * (times[middle - 1] + times[middle]));
  }
  return medians;
}

int RunMain(const char* program, int (*run)(int argc, char** argv), int argc, char** argv) {
  io::RemoveTemporaryFilesOnSignals();
  try {
    return run(argc, argv);
  } catch (const Error& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory; the inputs are too large\n", program);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: error: %s\n", program, error.what());
  }
  return 1;
}

}  // namespace maddness::cli
