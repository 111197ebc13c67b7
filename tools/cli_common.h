// Helpers shared by the subcommands of the `maddness` program: reading and checking the user's
// arguments, naming them in every error, and printing progress. Enum names (maddness::Name,
// maddness::Parse) and the checks of single options (maddness::CheckNumCodebooks, CheckThreads,
// CheckLabels) are the library's.
//
// Every check here throws maddness::Error with a message of the form
//   "<argument> <value>: <what is wrong>; <the rule>"
// which main() prints on stderr before exiting with status 1.
#ifndef MADDNESS_TOOLS_CLI_COMMON_H_
#define MADDNESS_TOOLS_CLI_COMMON_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/io/npy.h"
#include "tools/commands.h"

namespace maddness::cli {

// A float32 matrix read from a .npy file, with the argument and path it came from.
struct NamedMatrix {
  std::string name;  // the argument, e.g. "--a"
  std::string path;
  io::NpyFloatArray array;

  std::size_t rows() const { return array.rows(); }
  std::size_t cols() const { return array.cols(); }
  // A row-major view of the data. Valid while this object lives.
  MatrixView view() const;
  // "--a (a.npy)", for messages.
  std::string Describe() const;
};

// Runs step() and returns its result. The library names the matrix B in its messages ("B is too
// large: ..."); such an Error is thrown again naming the argument that gave B ("--b (b.npy): B is
// too large: ...").
template <typename Step>
auto NamingB(const NamedMatrix& b, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const Error& error) {
    const std::string message = error.what();
    if (message.rfind("B ", 0) == 0) throw Error(b.Describe() + ": " + message);
    throw;
  }
}

// Reads a 2-D matrix (rows x cols) from `path`, converted to float32, and checks that it has at
// least `min_rows` rows and one column and that every entry is finite.
NamedMatrix ReadMatrix(const std::string& path, const std::string& name, std::size_t min_rows);

// Reads a vector of `length` finite values: shape (length,), (1, length) or (length, 1).
std::vector<float> ReadVector(const std::string& path, const std::string& name, std::size_t length);

// Reads the class labels in `path` (argument `name`): one per row of `rows_owner` (e.g.
// "A_train"), which has `count` rows, each in [0, num_outputs) (maddness::CheckLabels).
std::vector<std::int64_t> ReadLabels(const std::string& path, const std::string& name,
                                     std::size_t count, const std::string& rows_owner,
                                     std::size_t num_outputs);

// Loads a model file, naming the argument in any error.
Model LoadModel(const std::string& path, const std::string& name);

// Checks that `path` can be an output file: not empty, not a directory, in an existing
// directory. Called before long work so that a typo does not waste it.
void CheckOutputPath(const std::string& path, const std::string& name);

// For the validator of an unsigned option (--seed, --max-train-rows): "" when `text` is a whole
// number in [0, max] in decimal digits, else the message. CLI11 alone wraps "-1" around to 2^64 - 1
// and saturates 1e23.
std::string UnsignedTextError(const std::string& text, std::uint64_t max);
// --lambda: finite and >= 0.
void CheckLambda(double value, const std::string& name);

// --candidate-dims: >= 1 (the paper uses 4).
void CheckCandidateDims(int value, const std::string& name);

// Checks the learning arguments shared by train, eval and demo (everything that does not need
// the data: C is checked against D later) and converts them to LearnOptions, without progress.
LearnOptions ToLearnOptions(const LearnArgs& learn);

// Fills options->classifier from --classifier, --bias (`bias_path`, may be empty),
// --train-labels, --mse-weight and --classifier-iterations, checked against M = `num_outputs`
// and the `num_train_rows` rows of A_train. Does nothing without --classifier.
void SetClassifierOptions(const LearnArgs& learn, const std::string& bias_path,
                          std::size_t num_outputs, std::size_t num_train_rows,
                          LearnOptions* options);

// Prints LearnOptions::progress reports on stderr: one self-overwriting line on a terminal, and
// otherwise a line when a step starts, about once a second while it runs, and when it ends.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool enabled);
  void operator()(const Progress& progress);
  // Ends a pending self-overwriting line.
  void Finish();

 private:
  bool enabled_;
  bool terminal_;
  bool line_open_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point last_print_;
};

// Wall-clock seconds since `start`.
double SecondsSince(std::chrono::steady_clock::time_point start);

// Median seconds of each job, each run `repeats` times after one untimed warm-up run. The jobs
// take turns, so that all of them see the same machine load.
std::vector<double> MedianSecondsEach(int repeats, const std::vector<std::function<void()>>& jobs);

// The main() of a program around run(argc, argv): SIGINT or SIGTERM during a long write must not
// leave its temporary file behind, and an exception ends the program with status 1 and
// "<program>: error: <message>" on stderr.
int RunMain(const char* program, int (*run)(int argc, char** argv), int argc, char** argv);

}  // namespace maddness::cli

#endif  // MADDNESS_TOOLS_CLI_COMMON_H_
