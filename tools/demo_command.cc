// demo: the project's main job. A linear classifier for Fashion-MNIST (softmax regression,
// tools/linear_classifier.h) is fitted, then its 784 x 10 product is computed once exactly
// (OpenBLAS) and once with MADDNESS; the report compares their accuracy and their speed on one
// thread.
#include <cblas.h>

#include <memory>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "bench/experiment/baselines/exact_product.h"
#include "bench/experiment/baselines/idx.h"
#include "bench/experiment/baselines/linear_classifier.h"
#include "maddness/maddness.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/metrics.h"

namespace maddness::cli {
namespace {

using baselines::ExactMatmul;
using baselines::FitSoftmaxRegression;
using baselines::IdxArray;
using baselines::LinearClassifier;
using baselines::MakeOneDnnProduct;
using baselines::MakeOpenBlasProduct;
using baselines::ProductLayout;
using baselines::ReadIdxGz;
using baselines::SoftmaxRegressionOptions;
using baselines::SoftmaxRegressionResult;

constexpr std::size_t kNumClasses = 10;
// The classifier: softmax regression on pixels scaled to [0, 1], L2 penalty 1e-4 per training row
// (sklearn's C = 1 / (60000 * 1e-4) = 0.17), 30 L-BFGS iterations: test accuracy about 0.84, the
// paper's reference classifier reaching 0.842. More iterations change the accuracy by about
// +-0.002 and cost about 0.1 s each.
constexpr double kClassifierL2 = 1e-4;
constexpr int kClassifierIterations = 30;
// Largest IDX file accepted: far above Fashion-MNIST's 47 million pixels.
constexpr std::size_t kMaxIdxValues = std::size_t{1} << 30;

// Images as rows of float32 pixels in [0, 1], and their labels.
struct LabelledImages {
  std::size_t rows = 0;
  std::size_t pixels = 0;
  std::vector<float> values;  // rows x pixels
  std::vector<std::int64_t> labels;
};

LabelledImages ReadSplit(const std::filesystem::path& dir, const std::string& prefix) {
  const std::string images_path = (dir / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels_path = (dir / (prefix + "-labels-idx1-ubyte.gz")).string();
  for (const std::string& path : {images_path, labels_path}) {
    if (!std::filesystem::exists(path)) {
      throw Error("--data " + dir.string() + ": " + path +
                  " not found; install the Debian package dataset-fashion-mnist "
                  "(bash scripts/install-deps.sh) or pass --data DIR with the IDX .gz files");
    }
  }
  const IdxArray images = ReadIdxGz(images_path, 3, kMaxIdxValues);
  const IdxArray labels = ReadIdxGz(labels_path, 1, kMaxIdxValues);
  if (images.shape[0] == 0 || images.shape[0] != labels.shape[0]) {
    throw Error(images_path + " holds " + std::to_string(images.shape[0]) + " images but " +
                labels_path + " holds " + std::to_string(labels.shape[0]) +
                " labels; they must match and not be empty");
  }
  LabelledImages split;
  split.rows = images.shape[0];
  split.pixels = images.shape[1] * images.shape[2];
  split.values.resize(images.values.size());
  std::transform(images.values.begin(), images.values.end(), split.values.begin(),
                 [](std::uint8_t pixel) { return static_cast<float>(pixel) / 255.0f; });
  split.labels.resize(split.rows);
  for (std::size_t n = 0; n < split.rows; ++n) {
    if (labels.values[n] >= kNumClasses) {
      throw Error(labels_path + ": label [" + std::to_string(n) + "] is " +
                  std::to_string(labels.values[n]) + "; Fashion-MNIST labels are in [0, 10)");
    }
    split.labels[n] = labels.values[n];
  }
  return split;
}

}  // namespace

int RunDemo(const DemoArgs& args) {
  const LearnArgs& learn = args.learn;
  LearnOptions options = ToLearnOptions(learn);
  if (args.repeats < 1 || args.repeats > 100000) {
    throw Error("--repeats " + std::to_string(args.repeats) + ": must be in [1, 100000]");
  }

  const std::filesystem::path dir(args.data_dir);
  const auto status = [&learn](const std::string& message) {
    if (!learn.quiet) std::fprintf(stderr, "%s\n", message.c_str());
  };
  status("reading Fashion-MNIST from " + dir.string());
  const auto read_split = [&dir](const std::string& prefix) {
    try {
      return ReadSplit(dir, prefix);
    } catch (const Error& error) {
      const std::string message = error.what();
      if (message.rfind("--data", 0) == 0) throw;
      throw Error("--data " + dir.string() + ": " + message);
    }
  };
  const LabelledImages train = read_split("train");
  const LabelledImages test = read_split("t10k");
  if (test.pixels != train.pixels) {
    throw Error("--data " + dir.string() + ": the training images have " +
                std::to_string(train.pixels) + " pixels but the test images " +
                std::to_string(test.pixels) + "; they must match");
  }
  const std::size_t pixels = train.pixels;
  CheckNumCodebooks(learn.codebooks, pixels, "--codebooks");

  status("fitting the linear classifier (softmax regression, one thread)");
  openblas_set_num_threads(1);
  SoftmaxRegressionOptions fit_options;
  fit_options.l2 = kClassifierL2;
  fit_options.max_iterations = kClassifierIterations;
  auto start = std::chrono::steady_clock::now();
  const SoftmaxRegressionResult fit = FitSoftmaxRegression(train.values.data(), train.rows, pixels,
                                                           train.labels, kNumClasses, fit_options);
  const double fit_seconds = SecondsSince(start);
  const LinearClassifier& classifier = fit.classifier;

  const MatrixView a_train = MatrixView::RowMajor(train.values.data(), train.rows, pixels);
  const MatrixView a_test = MatrixView::RowMajor(test.values.data(), test.rows, pixels);
  const MatrixView b = MatrixView::RowMajor(classifier.weights.data(), pixels, kNumClasses);

  ProgressPrinter printer(!learn.quiet);
  options.progress = [&printer](const Progress& progress) { printer(progress); };
  start = std::chrono::steady_clock::now();
  const Model model = Model::Learn(a_train, &b, options);
  const double learn_seconds = SecondsSince(start);
  printer.Finish();

  // Accuracy: MADDNESS against the exact product in float64.
  ApplyOptions one_thread;
  one_thread.threads = 1;
  std::vector<float> approx(test.rows * kNumClasses);
  model.Apply(a_test, approx.data(), 0, one_thread);
  const std::vector<double> exact = ExactProduct(a_test, b);
  const ErrorStats stats = CompareOutputs(exact, approx);
  const double exact_accuracy = ArgmaxAccuracy(exact, kNumClasses, classifier.bias, test.labels);
  const double approx_accuracy = ArgmaxAccuracy(approx, kNumClasses, classifier.bias, test.labels);

  // The same encoder with tables fitted to the classifier's training labels (--classifier): as
  // fast, more accurate.
  status("learning classifier-aware tables (the same encoder, tables fitted to the labels)");
  LearnOptions classifier_options = options;
  classifier_options.classifier.enabled = true;
  classifier_options.classifier.bias = classifier.bias;
  classifier_options.classifier.labels.assign(train.labels.begin(), train.labels.end());
  start = std::chrono::steady_clock::now();
  const Model fitted_model = Model::Learn(a_train, &b, classifier_options);
  const double fitted_learn_seconds = SecondsSince(start);
  printer.Finish();
  std::vector<float> fitted_approx(test.rows * kNumClasses);
  fitted_model.Apply(a_test, fitted_approx.data(), 0, one_thread);
  const ErrorStats fitted_stats = CompareOutputs(exact, fitted_approx);
  const double fitted_accuracy =
      ArgmaxAccuracy(fitted_approx, kNumClasses, classifier.bias, test.labels);

  // Speed on one thread: the exact float32 products of oneDNN and OpenBLAS against MADDNESS,
  // same shapes, same output layout.
  status("timing the products (" + std::to_string(args.repeats) + " runs each, one thread)");
  std::vector<float> blas_out(test.rows * kNumClasses);
  std::vector<float> onednn_out(test.rows * kNumClasses);
  const std::unique_ptr<ExactMatmul> onednn =
      MakeOneDnnProduct(ProductLayout::kRowMajor, test.values.data(), test.rows, pixels,
                        classifier.weights.data(), kNumClasses);
  const std::unique_ptr<ExactMatmul> openblas =
      MakeOpenBlasProduct(ProductLayout::kRowMajor, test.values.data(), test.rows, pixels,
                          classifier.weights.data(), kNumClasses);
  // The same product with the test images column-major (each pixel's N values together) and a
  // column-major output: the classifier-aware model, and the exact product computed transposed
  // (B^T A^T, which reads that memory as row-major).
  std::vector<float> test_columns(test.rows * pixels);
  for (std::size_t r = 0; r < test.rows; ++r) {
    for (std::size_t j = 0; j < pixels; ++j) {
      test_columns[j * test.rows + r] = test.values[r * pixels + j];
    }
  }
  const MatrixView a_test_columns = MatrixView::ColMajor(test_columns.data(), test.rows, pixels);
  const std::unique_ptr<ExactMatmul> onednn_transposed =
      MakeOneDnnProduct(ProductLayout::kTransposed, test_columns.data(), test.rows, pixels,
                        classifier.weights.data(), kNumClasses);
  ApplyOptions columns_one_thread = one_thread;
  columns_one_thread.output_layout = OutputLayout::kColMajor;
  std::vector<float> fitted_columns(test.rows * kNumClasses);
  std::vector<float> transposed_out(test.rows * kNumClasses);
  const std::vector<double> seconds = MedianSecondsEach(
      args.repeats,
      {[&] { onednn->Run(onednn_out.data(), 1); }, [&] { openblas->Run(blas_out.data(), 1); },
       [&] { model.Apply(a_test, approx.data(), 0, one_thread); },
       [&] { onednn_transposed->Run(transposed_out.data(), 1); },
       [&] { fitted_model.Apply(a_test_columns, fitted_columns.data(), 0, columns_one_thread); }});
  const double onednn_seconds = seconds[0];
  const double blas_seconds = seconds[1];
  const double maddness_seconds = seconds[2];
  const double exact_seconds = std::min(onednn_seconds, blas_seconds);
  const std::string exact_name = onednn_seconds <= blas_seconds ? onednn->name() : openblas->name();
  const double transposed_seconds = seconds[3];
  const double fitted_columns_seconds = seconds[4];
  // The fastest exact product for column-major A, of the row-major ones and the transposed one.
  const double exact_any_seconds = std::min(exact_seconds, transposed_seconds);
  const std::string exact_any_name =
      transposed_seconds < exact_seconds ? onednn_transposed->name() : exact_name;
  // Column-major output holds the same values as the row-major one, transposed.
  bool columns_match = true;
  for (std::size_t r = 0; r < test.rows && columns_match; ++r) {
    for (std::size_t m = 0; m < kNumClasses; ++m) {
      if (fitted_columns[m * test.rows + r] != fitted_approx[r * kNumClasses + m]) {
        columns_match = false;
        break;
      }
    }
  }
  if (!columns_match) {
    throw Error("internal error: the column-major output differs from the row-major one");
  }
  const double blas_accuracy = ArgmaxAccuracy(blas_out, kNumClasses, classifier.bias, test.labels);

  const auto threads_text = [](int threads) {
    return threads == 0 ? std::string("all cores")
                        : std::to_string(threads) + (threads == 1 ? " thread" : " threads");
  };
  std::printf("Fashion-MNIST (%s): %zu training and %zu test images of %zu pixels\n",
              dir.string().c_str(), train.rows, test.rows, pixels);
  std::printf(
      "Linear classifier: softmax regression with bias (L2 %g), %d L-BFGS iterations in %.2f s "
      "(1 thread); training cross-entropy %.4f\n",
      kClassifierL2, fit.iterations, fit_seconds, fit.mean_cross_entropy);
  std::printf(
      "MADDNESS (variant %s, %d codebooks, %s aggregation, %s objective, %s table scale, %d "
      "candidate columns): learned on %zu rows in %.2f s (%s)\n",
      Name(model.variant()), model.num_codebooks(), Name(model.aggregation()),
      Name(options.objective), Name(options.table_scale), options.candidate_dims, train.rows,
      learn_seconds, threads_text(learn.threads).c_str());
  std::printf("\nAccuracy on the %zu test images\n", test.rows);
  std::printf("  %-34s %8.4f\n", "exact product (float64)", exact_accuracy);
  std::printf("  %-34s %8.4f\n", "exact product (OpenBLAS, float32)", blas_accuracy);
  std::printf("  %-34s %8.4f   (NMSE %.4f)\n", "MADDNESS", approx_accuracy, stats.nmse);
  std::printf("  %-34s %8.4f   (NMSE %.4f; learned in %.2f s)\n",
              "MADDNESS, classifier-aware tables", fitted_accuracy, fitted_stats.nmse,
              fitted_learn_seconds);
  std::printf("\nTime of the %zu x %zu times %zu x %zu product, one thread, median of %d runs\n",
              test.rows, pixels, pixels, kNumClasses, args.repeats);
  const std::string target = SimdTarget();
  const std::string maddness_label = "MADDNESS Model::Apply (" + target + ")";
  std::string compiled;
  for (const std::string& name : CompiledTargets())
    compiled += (compiled.empty() ? "" : ", ") + name;
  std::printf("  SIMD target: %s (compiled in: %s; MADDNESS_TARGET=<name> forces one)\n",
              target.c_str(), compiled.c_str());
  std::printf("  %-34s %8.3f ms\n", "oneDNN matmul (float32)", onednn_seconds * 1e3);
  std::printf("  %-34s %8.3f ms\n", "OpenBLAS cblas_sgemm (float32)", blas_seconds * 1e3);
  std::printf("  %-34s %8.3f ms\n", maddness_label.c_str(), maddness_seconds * 1e3);
  if (maddness_seconds < exact_seconds) {
    std::printf("  MADDNESS is %.2fx faster than %s, the fastest exact product here.\n",
                exact_seconds / maddness_seconds, exact_name.c_str());
  } else {
    std::printf("  MADDNESS is %.2fx slower than %s, the fastest exact product here.\n",
                maddness_seconds / exact_seconds, exact_name.c_str());
  }
  std::printf(
      "\nColumn-major test images (each pixel's values together) and column-major output\n");
  std::printf("  %-50s %8.3f ms\n", "oneDNN matmul, computed transposed (B^T A^T)",
              transposed_seconds * 1e3);
  std::printf("  %-50s %8.3f ms   (accuracy %.4f)\n",
              "MADDNESS, classifier-aware tables, Model::Apply", fitted_columns_seconds * 1e3,
              fitted_accuracy);
  std::printf("  That is %.2fx the speed of %s, the fastest exact product of either layout.\n",
              exact_any_seconds / fitted_columns_seconds, exact_any_name.c_str());
  return 0;
}

}  // namespace maddness::cli
