// End to end on real data (../shared/data): accuracy against the exact product, with bounds
// measured on this project and compared with the paper's reference implementation on the same
// data (../shared/docs/anchors.md: imgfilter B_rgb NMSE 0.085 at C = 16, sklearn digits accuracy
// 0.891 at C = 16, exact 0.920).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/model_data.h"
#include "src/io/npy.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

struct Dataset {
  io::NpyFloatArray a_train;
  io::NpyFloatArray a_test;
  io::NpyFloatArray b;
  std::vector<double> exact;  // A_test B in float64

  Dataset(const std::string& train, const std::string& test, const std::string& weights)
      : a_train(io::ReadNpy(train, "A_train")),
        a_test(io::ReadNpy(test, "A_test")),
        b(io::ReadNpy(weights, "B")) {
    exact = testing::ExactProduct(a_test.values, b.values, a_test.rows(), a_test.cols(), b.cols());
  }
  MatrixView Train() const {
    return MatrixView::RowMajor(a_train.values.data(), a_train.rows(), a_train.cols());
  }
  MatrixView Test() const {
    return MatrixView::RowMajor(a_test.values.data(), a_test.rows(), a_test.cols());
  }
  MatrixView B() const { return MatrixView::RowMajor(b.values.data(), b.rows(), b.cols()); }

  std::vector<float> Estimate(const LearnOptions& options) const {
    const MatrixView weights = B();
    return Model::Learn(Train(), &weights, options).Apply(Test());
  }
  std::vector<float> Estimate(int num_codebooks, Variant variant) const {
    LearnOptions options;
    options.num_codebooks = num_codebooks;
    options.variant = variant;
    return Estimate(options);
  }
  double Nmse(int num_codebooks, Variant variant = Variant::kMaddness) const {
    return testing::Nmse(exact, Estimate(num_codebooks, variant));
  }
  double Nmse(const LearnOptions& options) const { return testing::Nmse(exact, Estimate(options)); }
};

// The paper's MADDNESS: trees for the rows of A on contiguous columns, one table scale.
LearnOptions PaperOptions(int num_codebooks) {
  LearnOptions options;
  options.num_codebooks = num_codebooks;
  options.objective = Objective::kInput;
  options.column_grouping = ColumnGrouping::kContiguous;
  options.table_scale = TableScale::kGlobal;
  return options;
}

TEST(Accuracy, ImageFiltersRgb) {
  MADDNESS_REQUIRE_SHARED_DATA();
  const std::string dir = testing::SharedDataDir() + "/imgfilter/";
  const Dataset data(dir + "A_train_rgb.npy", dir + "A_test_rgb.npy", dir + "B_rgb.npy");
  const double c4 = data.Nmse(4);
  const double c8 = data.Nmse(8);
  const double c16 = data.Nmse(16);
  const double pq16 = data.Nmse(16, Variant::kPq);
  RecordProperty("nmse_c4", std::to_string(c4));
  RecordProperty("nmse_c16", std::to_string(c16));
  // Measured here with the defaults: C=4 0.163, C=8 0.080, C=16 0.025 (the paper's settings:
  // 0.204, 0.124, 0.061; the reference implementation: 0.085 at C = 16). The bound is the
  // accuracy issue's acceptance at C = 16.
  EXPECT_LE(c16, 0.04);
  EXPECT_LT(c8, c4);
  EXPECT_LT(c16, c8);
  EXPECT_LT(c16, pq16);
  EXPECT_LT(c16, data.Nmse(PaperOptions(16)));
}

TEST(Accuracy, LearnedCnnFilters) {
  MADDNESS_REQUIRE_SHARED_DATA();
  const std::string dir = testing::SharedDataDir() + "/imgfilter/";
  const Dataset data(dir + "A_train_rgb.npy", dir + "A_test_rgb.npy",
                     dir + "B_learned_mobilenetv2_conv1.npy");
  LearnOptions options;
  options.num_codebooks = 16;
  const double defaults = data.Nmse(options);
  const double paper = data.Nmse(PaperOptions(16));
  RecordProperty("nmse_c16", std::to_string(defaults));
  // Measured here: 0.0073 with the defaults, 0.0169 with the paper's settings (the reference
  // implementation: 0.020). The bound is the accuracy issue's acceptance.
  EXPECT_LE(defaults, 0.01);
  EXPECT_LT(defaults, paper);
}

TEST(Accuracy, DigitsClassifier) {
  MADDNESS_REQUIRE_SHARED_DATA();
  const std::string dir = testing::SharedDataDir() + "/sklearn_digits/";
  const Dataset data(dir + "A_train.npy", dir + "A_test.npy", dir + "W.npy");
  const io::NpyFloatArray bias = io::ReadNpy(dir + "b.npy", "b");
  const std::vector<std::int64_t> labels = io::ReadNpyLabels(dir + "y_test.npy", "y_test");
  const std::size_t outputs = data.b.cols();
  auto accuracy = [&](const std::vector<float>& y) {
    std::size_t correct = 0;
    for (std::size_t r = 0; r < labels.size(); ++r) {
      std::size_t best = 0;
      for (std::size_t m = 1; m < outputs; ++m) {
        if (y[r * outputs + m] + bias.values[m] > y[r * outputs + best] + bias.values[best]) {
          best = m;
        }
      }
      correct += static_cast<std::int64_t>(best) == labels[r] ? 1 : 0;
    }
    return static_cast<double>(correct) / static_cast<double>(labels.size());
  };
  const std::vector<float> exact(data.exact.begin(), data.exact.end());
  EXPECT_NEAR(accuracy(exact), 0.920, 0.002);  // the manifest's exact accuracy

  double previous = 1.0;
  for (const int c : {4, 8, 16, 32}) {
    const double nmse = data.Nmse(c);
    EXPECT_LT(nmse, previous) << "C " << c;
    previous = nmse;
  }
  // Measured here at C = 16: accuracy 0.900, NMSE 0.025 (the paper's settings: 0.893, 0.028; the
  // reference: 0.891, 0.058). The bound is the reference's accuracy, rounded down.
  const double c16 = accuracy(data.Estimate(16, Variant::kMaddness));
  RecordProperty("accuracy_c16", std::to_string(c16));
  EXPECT_GE(c16, 0.89);

  // Classifier-aware tables fitted to the training labels (the accuracy issue's acceptance:
  // >= 0.91; measured here 0.924), and to the classifier's own decisions without labels.
  LearnOptions options;
  options.classifier.enabled = true;
  options.classifier.bias = bias.values;
  for (const std::int64_t label : io::ReadNpyLabels(dir + "y_train.npy", "y_train")) {
    options.classifier.labels.push_back(static_cast<std::int32_t>(label));
  }
  const double with_labels = accuracy(data.Estimate(options));
  RecordProperty("accuracy_c16_classifier_labels", std::to_string(with_labels));
  EXPECT_GE(with_labels, 0.91);
  options.classifier.labels.clear();
  const double distilled = accuracy(data.Estimate(options));
  RecordProperty("accuracy_c16_classifier_distilled", std::to_string(distilled));
  EXPECT_GE(distilled, c16 - 0.005);
}

// A UCR kernel task as the experiment suite builds it: B = A_train^T.
struct KernelTask {
  io::NpyFloatArray a_train, a_test;
  std::vector<float> b;  // D x N_train, row-major
  std::vector<double> exact;
  explicit KernelTask(const std::string& dir)
      : a_train(io::ReadNpy(dir + "A_train.npy", "A_train")),
        a_test(io::ReadNpy(dir + "A_test.npy", "A_test")),
        b(a_train.values.size()) {
    for (std::size_t r = 0; r < a_train.rows(); ++r) {
      for (std::size_t j = 0; j < a_train.cols(); ++j) {
        b[j * a_train.rows() + r] = a_train.values[r * a_train.cols() + j];
      }
    }
    exact = testing::ExactProduct(a_test.values, b, a_test.rows(), a_test.cols(), a_train.rows());
  }
  // The chosen model and MADDNESS-PQ's at C codebooks, and their test NMSE.
  void Compare(int num_codebooks, Model* chosen, double* chosen_nmse,
               std::vector<float>* chosen_out, std::vector<float>* pq_out, double* pq_nmse) const {
    const MatrixView train =
        MatrixView::RowMajor(a_train.values.data(), a_train.rows(), a_train.cols());
    const MatrixView test =
        MatrixView::RowMajor(a_test.values.data(), a_test.rows(), a_test.cols());
    const MatrixView weights = MatrixView::RowMajor(b.data(), a_train.cols(), a_train.rows());
    LearnOptions options;
    options.num_codebooks = num_codebooks;
    options.choose_ridge_lambda = true;
    *chosen = Model::Learn(train, &weights, options);
    options.choose_ridge_lambda = false;
    options.variant = Variant::kPq;
    *chosen_out = chosen->Apply(test);
    *pq_out = Model::Learn(train, &weights, options).Apply(test);
    *chosen_nmse = testing::Nmse(exact, *chosen_out);
    *pq_nmse = testing::Nmse(exact, *pq_out);
  }
};

// On tiny training sets (UCR kernel tasks) the prototype choice keeps the bucket means where the
// ridge step does not pay (GunPoint, 50 series, C = 8: the model is then exactly MADDNESS-PQ's)
// and the ridge prototypes where it does (ACSF1, 100 series, C = 32: test NMSE 0.037 against
// 0.076 for MADDNESS-PQ).
TEST(Accuracy, ChosenPrototypesOnTinyTrainingSets) {
  MADDNESS_REQUIRE_SHARED_DATA();
  const std::string ucr = testing::SharedDataDir() + "/ucr/";
  Model chosen;
  double chosen_nmse = 0.0, pq_nmse = 0.0;
  std::vector<float> chosen_out, pq_out;
  KernelTask(ucr + "GunPoint/").Compare(8, &chosen, &chosen_nmse, &chosen_out, &pq_out, &pq_nmse);
  EXPECT_EQ(chosen.variant(), Variant::kPq);
  EXPECT_EQ(chosen_out, pq_out);
  KernelTask(ucr + "ACSF1/").Compare(32, &chosen, &chosen_nmse, &chosen_out, &pq_out, &pq_nmse);
  RecordProperty("acsf1_nmse_chosen", std::to_string(chosen_nmse));
  RecordProperty("acsf1_nmse_pq", std::to_string(pq_nmse));
  EXPECT_EQ(chosen.variant(), Variant::kMaddness);
  EXPECT_LT(chosen_nmse, 0.8 * pq_nmse);
}

}  // namespace
}  // namespace maddness

namespace maddness {
namespace {

// LearnOptions::choose_ridge_lambda on small training sets, where the fixed lambda = 1 overfits:
// measured here at C = 16, digits 0.0250 -> 0.0235 (lambda 300), UCR OSULeaf 0.0788 -> 0.0496
// (the bucket means).
TEST(Accuracy, ChosenRidgeLambdaHelpsSmallTrainingSets) {
  MADDNESS_REQUIRE_SHARED_DATA();
  const std::string digits = testing::SharedDataDir() + "/sklearn_digits/";
  const Dataset data(digits + "A_train.npy", digits + "A_test.npy", digits + "W.npy");
  LearnOptions options;
  const double fixed = data.Nmse(options);
  options.choose_ridge_lambda = true;
  const MatrixView b = data.B();
  const Model model = Model::Learn(data.Train(), &b, options);
  const double chosen = testing::Nmse(data.exact, model.Apply(data.Test()));
  RecordProperty("nmse_fixed", std::to_string(fixed));
  RecordProperty("nmse_chosen", std::to_string(chosen));
  RecordProperty("lambda", std::to_string(model.ridge_lambda()));
  EXPECT_LT(chosen, fixed);
  EXPECT_GT(model.ridge_lambda(), 1.0);
  // The lambda used is the one the model file records.
  EXPECT_EQ(Model::Deserialize(model.Serialize().data(), model.Serialize().size()).ridge_lambda(),
            model.ridge_lambda());
}

}  // namespace
}  // namespace maddness
