// The baselines of the experiment suite (bench/experiment/baselines/methods.h).
#include "bench/experiment/baselines/methods.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::baselines {
namespace {

struct Problem {
  std::size_t n_train = 0, n_test = 0, d = 0, m = 0;
  std::vector<float> a_train, a_test, b;
  std::vector<double> exact;  // A_test B in float64
};

// Rows with a decaying spectrum (column j scaled by 1/(1 + j/4)) plus an offset, as real data
// tends to have; B Gaussian.
Problem MakeProblem(std::size_t n_train, std::size_t n_test, std::size_t d, std::size_t m,
                    std::uint64_t seed, bool positive_b = false) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Problem problem;
  problem.n_train = n_train;
  problem.n_test = n_test;
  problem.d = d;
  problem.m = m;
  const auto fill_rows = [&](std::vector<float>* rows, std::size_t count) {
    rows->resize(count * d);
    for (std::size_t r = 0; r < count; ++r) {
      for (std::size_t j = 0; j < d; ++j) {
        (*rows)[r * d + j] = 0.5f + normal(random) / (1.0f + static_cast<float>(j) / 4.0f);
      }
    }
  };
  fill_rows(&problem.a_train, n_train);
  fill_rows(&problem.a_test, n_test);
  problem.b.resize(d * m);
  for (float& value : problem.b) value = positive_b ? std::fabs(normal(random)) : normal(random);
  problem.exact.assign(n_test * m, 0.0);
  for (std::size_t r = 0; r < n_test; ++r) {
    for (std::size_t j = 0; j < d; ++j) {
      for (std::size_t c = 0; c < m; ++c) {
        problem.exact[r * m + c] +=
            static_cast<double>(problem.a_test[r * d + j]) * problem.b[j * m + c];
      }
    }
  }
  return problem;
}

double Nmse(const std::vector<double>& exact, const std::vector<double>& approx) {
  double mean = 0;
  for (const double value : exact) mean += value;
  mean /= static_cast<double>(exact.size());
  double error = 0, variance = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    error += (exact[i] - approx[i]) * (exact[i] - approx[i]);
    variance += (exact[i] - mean) * (exact[i] - mean);
  }
  return error / variance;
}

std::vector<double> FitApply(Method* method, const Problem& problem, int threads = 1) {
  method->Fit(problem.a_train.data(), problem.n_train, problem.b.data(), problem.d, problem.m, 1);
  std::vector<float> out(problem.n_test * problem.m, NAN);
  method->Apply(problem.a_test.data(), problem.n_test, out.data(), threads);
  return std::vector<double>(out.begin(), out.end());
}

TEST(ExperimentMethodsTest, ExactProductsMatchFloat64) {
  const Problem problem = MakeProblem(50, 130, 40, 7, 1);
  for (const std::string library : {"onednn", "openblas"}) {
    const std::unique_ptr<Method> method = MakeExact(library);
    EXPECT_LT(Nmse(problem.exact, FitApply(method.get(), problem)), 1e-10) << library;
  }
  EXPECT_THROW(MakeExact("eigen"), Error);
}

TEST(ExperimentMethodsTest, PcaWithFullRankIsExact) {
  const Problem problem = MakeProblem(300, 100, 12, 5, 2);
  const std::unique_ptr<Method> full = MakePca(12);
  EXPECT_LT(Nmse(problem.exact, FitApply(full.get(), problem)), 1e-9);
  // Fewer directions: worse, but the top directions already carry most of the product.
  const std::unique_ptr<Method> one = MakePca(1);
  const std::unique_ptr<Method> four = MakePca(4);
  const double error_one = Nmse(problem.exact, FitApply(one.get(), problem));
  const double error_four = Nmse(problem.exact, FitApply(four.get(), problem));
  EXPECT_GT(error_one, error_four);
  EXPECT_GT(error_four, 1e-4);
  EXPECT_THROW(MakePca(13)->Fit(problem.a_train.data(), problem.n_train, problem.b.data(),
                                problem.d, problem.m, 1),
               Error);
}

// B as the int8 method documents it (methods.h), in scalar code: per column, step = max|b| / 127
// and codes round(b / step); with each column's sum of codes.
struct QuantizedB {
  std::vector<float> step;
  std::vector<std::int64_t> codes, code_sums;
};
QuantizedB QuantizeB(const Problem& problem) {
  const std::size_t d = problem.d, m = problem.m;
  QuantizedB out{std::vector<float>(m), std::vector<std::int64_t>(d * m),
                 std::vector<std::int64_t>(m, 0)};
  for (std::size_t c = 0; c < m; ++c) {
    float largest = 0.0f;
    for (std::size_t j = 0; j < d; ++j)
      largest = std::max(largest, std::fabs(problem.b[j * m + c]));
    out.step[c] = largest / 127.0f;
    for (std::size_t j = 0; j < d; ++j) {
      out.codes[j * m + c] =
          static_cast<std::int64_t>(std::nearbyint(problem.b[j * m + c] / out.step[c]));
      out.code_sums[c] += out.codes[j * m + c];
    }
  }
  return out;
}

TEST(ExperimentMethodsTest, ScalarQuantizeErrorIsSmall) {
  // Positive B: many pairs of adjacent u8 x s8 products are large, so a kernel that saturated
  // 16-bit pair sums (AVX2 without VNNI, with codes up to 255) would fail these error bounds.
  Problem problem = MakeProblem(20, 333, 256, 9, 3, /*positive_b=*/true);
  // B holds whole numbers up to 127 in every column, which its int8 codes represent exactly: the
  // error is A's quantization alone.
  for (float& value : problem.b) value = std::min(127.0f, std::round(value * 40.0f));
  for (std::size_t c = 0; c < problem.m; ++c) problem.b[c] = 127.0f;
  for (float& value : problem.a_test) value *= 100.0f;
  problem.exact.assign(problem.n_test * problem.m, 0.0);
  for (std::size_t r = 0; r < problem.n_test; ++r) {
    for (std::size_t j = 0; j < problem.d; ++j) {
      for (std::size_t c = 0; c < problem.m; ++c) {
        problem.exact[r * problem.m + c] +=
            static_cast<double>(problem.a_test[r * problem.d + j]) * problem.b[j * problem.m + c];
      }
    }
  }
  const bool vnni = OneDnnInt8Path().vnni;
  double error_half = 0.0;
  for (const Int8Codes codes : {Int8Codes::kHalf, Int8Codes::kCpu, Int8Codes::kFull}) {
    if (codes == Int8Codes::kFull && !vnni) {
      EXPECT_THROW(MakeScalarQuantize(codes), Error);
      continue;
    }
    const std::unique_ptr<Method> method = MakeScalarQuantize(codes);
    const bool full = codes == Int8Codes::kFull || (codes == Int8Codes::kCpu && vnni);
    EXPECT_NE(method->params().find(full ? "codes 0..255" : "codes 0..127"), std::string::npos)
        << method->params();
    const double error = Nmse(problem.exact, FitApply(method.get(), problem));
    EXPECT_LT(error, 1e-3) << method->params();
    EXPECT_GT(error, 0.0);  // it does quantize
    if (codes == Int8Codes::kHalf) error_half = error;
    // Twice the levels: about a quarter of the squared error (a saturating kernel: far more).
    if (full) {
      EXPECT_LT(error, 0.5 * error_half) << method->params();
    }
    // Same results on two threads, and after a second call with another row count.
    const std::vector<double> two_threads = FitApply(method.get(), problem, 2);
    EXPECT_LT(Nmse(problem.exact, two_threads), 1e-3);
    // No rows: nothing to compute or write.
    method->Apply(problem.a_test.data(), 0, nullptr, 1);
  }
}

TEST(ExperimentMethodsTest, ScalarQuantizeFollowsItsDefinition) {
  // 2500 rows of D = 251: more than one block of rows (the blocks hold about 1800 rows here), the
  // last one shorter; then rows shorter than a vector (D = 3). Columns and outputs not a multiple
  // of the vector length. Every output is the documented quantization, computed here in scalar
  // code.
  for (const Problem& problem :
       {MakeProblem(10, 2500, 251, 9, 4), MakeProblem(10, 300, 3, 17, 5)}) {
    const bool vnni = OneDnnInt8Path().vnni;
    for (const Int8Codes codes : {Int8Codes::kHalf, Int8Codes::kCpu}) {
      const float levels = codes == Int8Codes::kCpu && vnni ? 255.0f : 127.0f;
      const std::unique_ptr<Method> method = MakeScalarQuantize(codes);
      const std::vector<double> out = FitApply(method.get(), problem);
      const std::size_t d = problem.d, m = problem.m;
      const QuantizedB quantized_b = QuantizeB(problem);
      const std::vector<float>& b_step = quantized_b.step;
      const std::vector<std::int64_t>& b_codes = quantized_b.codes;
      const std::vector<std::int64_t>& b_sum = quantized_b.code_sums;
      std::size_t mismatches = 0;
      for (std::size_t r = 0; r < problem.n_test; ++r) {
        const float* row = problem.a_test.data() + r * d;
        const float low = *std::min_element(row, row + d), high = *std::max_element(row, row + d);
        const float step = (high - low) / levels, inverse = 1.0f / step;
        for (std::size_t c = 0; c < m; ++c) {
          std::int64_t sum = 0;
          for (std::size_t j = 0; j < d; ++j) {
            const float code = std::min(levels, std::trunc((row[j] - low) * inverse + 0.5f));
            sum += static_cast<std::int64_t>(code) * b_codes[j * m + c];
          }
          const float expected =
              b_step[c] * (step * static_cast<float>(sum) + low * static_cast<float>(b_sum[c]));
          if (std::fabs(out[r * m + c] - expected) > 1e-5 * (1.0 + std::fabs(expected)))
            ++mismatches;
        }
      }
      EXPECT_EQ(mismatches, 0u) << method->params();
    }
  }
}

TEST(ExperimentMethodsTest, StaticScalarQuantizeFollowsItsDefinition) {
  // Static per-tensor quantization of A, calibrated on A_train. A_train has 10 rows and A_test
  // thousands, so many test values fall outside the calibrated range and must clamp. As above:
  // several blocks of rows with a shorter last one, then D = 3; odd D and M.
  for (const Problem& problem :
       {MakeProblem(10, 2500, 251, 9, 4), MakeProblem(10, 300, 3, 17, 5)}) {
    const bool vnni = OneDnnInt8Path().vnni;
    for (const Int8Codes codes : {Int8Codes::kHalf, Int8Codes::kCpu}) {
      const float levels = codes == Int8Codes::kCpu && vnni ? 255.0f : 127.0f;
      const std::unique_ptr<Method> method = MakeScalarQuantize(codes, Int8Scales::kStatic);
      EXPECT_NE(method->params().find("int8 static per-tensor"), std::string::npos)
          << method->params();
      const std::vector<double> out = FitApply(method.get(), problem);
      const std::size_t d = problem.d, m = problem.m;
      // A's scale and zero point from A_train's range, widened to include 0.
      float low = 0.0f, high = 0.0f;
      for (const float value : problem.a_train) {
        low = std::min(low, value);
        high = std::max(high, value);
      }
      const float step = (high - low) / levels, scale = 1.0f / step;
      const float zero = std::min(levels, std::max(0.0f, std::nearbyint(-low * scale)));
      const QuantizedB quantized_b = QuantizeB(problem);
      const std::vector<float>& b_step = quantized_b.step;
      const std::vector<std::int64_t>& b_codes = quantized_b.codes;
      const std::vector<std::int64_t>& b_sum = quantized_b.code_sums;
      std::size_t mismatches = 0, clamped = 0;
      for (std::size_t r = 0; r < problem.n_test; ++r) {
        const float* row = problem.a_test.data() + r * d;
        std::vector<std::int64_t> row_codes(d);
        for (std::size_t j = 0; j < d; ++j) {
          const float code = std::nearbyint(row[j] * scale) + zero;
          if (code < 0.0f || code > levels) ++clamped;
          row_codes[j] = static_cast<std::int64_t>(std::min(levels, std::max(0.0f, code)));
        }
        for (std::size_t c = 0; c < m; ++c) {
          std::int64_t sum = 0;
          for (std::size_t j = 0; j < d; ++j) sum += row_codes[j] * b_codes[j * m + c];
          const float expected = b_step[c] * (step * static_cast<float>(sum) +
                                              -step * zero * static_cast<float>(b_sum[c]));
          if (std::fabs(out[r * m + c] - expected) > 1e-5 * (1.0 + std::fabs(expected)))
            ++mismatches;
        }
      }
      EXPECT_GT(clamped, 0u);  // the test does reach values outside the calibrated range
      EXPECT_EQ(mismatches, 0u) << method->params();
    }
  }
}

TEST(ExperimentMethodsTest, StaticScalarQuantizeIsCloseOnCalibratedData) {
  // A_test drawn like A_train and within its range (A_train holds A_test's rows): the error is
  // A's and B's rounding alone, small.
  Problem problem = MakeProblem(2000, 500, 77, 11, 6);
  problem.a_train.insert(problem.a_train.end(), problem.a_test.begin(), problem.a_test.end());
  problem.n_train += problem.n_test;
  for (const Int8Codes codes : {Int8Codes::kHalf, Int8Codes::kCpu}) {
    const std::unique_ptr<Method> fixed = MakeScalarQuantize(codes, Int8Scales::kStatic);
    const double error = Nmse(problem.exact, FitApply(fixed.get(), problem));
    EXPECT_LT(error, 1e-3) << fixed->params();
    EXPECT_GT(error, 0.0);  // it does quantize
    EXPECT_LT(Nmse(problem.exact, FitApply(fixed.get(), problem, 2)), 1e-3);
  }
}

// Expects the sketch that make(trial) returns to be unbiased over 300 independent trials on a
// problem made with `seed`: the mean's error falls like 1/trials (bias would not fall).
template <typename Make>
void ExpectUnbiased(std::uint64_t seed, Make make) {
  const Problem problem = MakeProblem(10, 40, 64, 6, seed);
  constexpr int kTrials = 300;
  std::vector<double> mean(problem.exact.size(), 0.0);
  double single_error = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::unique_ptr<Method> method = make(trial);
    const std::vector<double> approx = FitApply(method.get(), problem);
    single_error += Nmse(problem.exact, approx) / kTrials;
    for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += approx[i] / kTrials;
  }
  EXPECT_GT(single_error, 0.05);
  EXPECT_LT(Nmse(problem.exact, mean), 5.0 * single_error / kTrials);
}

TEST(ExperimentMethodsTest, CountSketchIsUnbiased) {
  ExpectUnbiased(4, [](int trial) { return MakeHashJl(8, 100 + trial); });
}

TEST(ExperimentMethodsTest, GaussianSketchIsUnbiased) {
  ExpectUnbiased(5, [](int trial) { return MakeGaussianSketch(8, 500 + trial); });
}

TEST(ExperimentMethodsTest, BoltRecoversClusteredRows) {
  // Every subspace of every row is one of 16 well separated points (plus tiny noise), so 16
  // centroids per subspace can represent the rows almost exactly; the remaining error is the
  // tables' 8-bit quantization. k-means may merge two clusters, so the bound is loose.
  constexpr std::size_t kD = 8, kM = 5;
  std::mt19937_64 random(6);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> centers(16 * kD);
  for (float& value : centers) value = 10.0f * normal(random);
  Problem problem;
  problem.d = kD;
  problem.m = kM;
  problem.n_train = 2000;
  problem.n_test = 300;
  const auto fill = [&](std::vector<float>* rows, std::size_t count) {
    rows->resize(count * kD);
    for (std::size_t r = 0; r < count; ++r) {
      const std::size_t center = random() % 16;
      for (std::size_t j = 0; j < kD; ++j) {
        (*rows)[r * kD + j] = centers[center * kD + j] + 0.01f * normal(random);
      }
    }
  };
  fill(&problem.a_train, problem.n_train);
  fill(&problem.a_test, problem.n_test);
  problem.b.resize(kD * kM);
  for (float& value : problem.b) value = normal(random);
  problem.exact.assign(problem.n_test * kM, 0.0);
  for (std::size_t r = 0; r < problem.n_test; ++r) {
    for (std::size_t j = 0; j < kD; ++j) {
      for (std::size_t c = 0; c < kM; ++c) {
        problem.exact[r * kM + c] +=
            static_cast<double>(problem.a_test[r * kD + j]) * problem.b[j * kM + c];
      }
    }
  }
  const std::unique_ptr<Method> bolt = MakeBolt(2);
  EXPECT_LT(Nmse(problem.exact, FitApply(bolt.get(), problem)), 0.05);
  EXPECT_THROW(
      MakeBolt(9)->Fit(problem.a_train.data(), problem.n_train, problem.b.data(), kD, kM, 1),
      Error);
}

TEST(ExperimentMethodsTest, BoltAndMaddnessImproveWithCodebooks) {
  // 1000 test rows: more than one 64-row block and a partial last block.
  const Problem problem = MakeProblem(3000, 1000, 32, 6, 7);
  for (const std::string name : {"Bolt", "MADDNESS", "MADDNESS-PQ"}) {
    const auto make = [&name](int codebooks) {
      if (name == "Bolt") return MakeBolt(codebooks);
      return MakeMaddness(codebooks, name == "MADDNESS-PQ");
    };
    const std::unique_ptr<Method> few = make(2);
    const std::unique_ptr<Method> many = make(16);
    EXPECT_EQ(few->name(), name);
    EXPECT_EQ(many->params(), "C=16");
    const double error_few = Nmse(problem.exact, FitApply(few.get(), problem));
    const double error_many = Nmse(problem.exact, FitApply(many.get(), problem));
    EXPECT_LT(error_many, error_few) << name;
    EXPECT_LT(error_many, 0.5) << name;
    // Threads do not change the results.
    EXPECT_EQ(FitApply(many.get(), problem, 1), FitApply(many.get(), problem, 2)) << name;
  }
}

// The fraction of rows whose largest output (plus `bias`) is their label.
double Accuracy(const std::vector<double>& outputs, std::size_t m, const std::vector<float>& bias,
                const std::vector<std::int32_t>& labels) {
  std::size_t correct = 0;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < m; ++c) {
      if (outputs[r * m + c] + bias[c] > outputs[r * m + best] + bias[best]) best = c;
    }
    correct += static_cast<std::int32_t>(best) == labels[r];
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

TEST(ExperimentMethodsTest, MaddnessClassifierLearnsFromTrainingLabels) {
  // Labels from a classifier the methods do not see (B_true); B is B_true blurred by noise, so
  // tables fitted to the labels can classify better than P*B.
  constexpr std::size_t kD = 24, kM = 4;
  Problem problem = MakeProblem(4000, 1500, kD, kM, 11);
  std::mt19937_64 random(12);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::vector<float> b_true = problem.b;
  for (float& value : problem.b) value += 1.5f * normal(random);
  const std::vector<float> bias(kM, 0.0f);
  const auto classes = [&](const std::vector<float>& a, std::size_t n) {
    std::vector<std::int32_t> labels(n);
    for (std::size_t r = 0; r < n; ++r) {
      std::vector<double> scores(kM, 0.0);
      for (std::size_t j = 0; j < kD; ++j) {
        for (std::size_t c = 0; c < kM; ++c) scores[c] += a[r * kD + j] * b_true[j * kM + c];
      }
      labels[r] = static_cast<std::int32_t>(std::max_element(scores.begin(), scores.end()) -
                                            scores.begin());
    }
    return labels;
  };
  auto training = std::make_shared<ClassifierTraining>();
  training->train_labels = classes(problem.a_train, problem.n_train);
  training->bias = bias;
  const std::vector<std::int32_t> test_labels = classes(problem.a_test, problem.n_test);

  const std::unique_ptr<Method> plain = MakeMaddness(8);
  const std::unique_ptr<Method> aware = MakeMaddnessClassifier(8, training);
  EXPECT_EQ(aware->name(), "MADDNESS-classifier");
  EXPECT_EQ(aware->params(), "C=8");
  const double plain_accuracy = Accuracy(FitApply(plain.get(), problem), kM, bias, test_labels);
  const double aware_accuracy = Accuracy(FitApply(aware.get(), problem), kM, bias, test_labels);
  EXPECT_NE(aware->library().find("maddness"), std::string::npos) << aware->library();
  EXPECT_GT(aware_accuracy, plain_accuracy + 0.02)
      << "plain " << plain_accuracy << ", classifier-aware " << aware_accuracy;
  EXPECT_NE(aware->ModelBytes(), plain->ModelBytes());

  // Labels that do not fit A_train: one too few, or a class outside [0, M).
  auto short_labels = std::make_shared<ClassifierTraining>(*training);
  short_labels->train_labels.pop_back();
  EXPECT_THROW(MakeMaddnessClassifier(8, short_labels)
                   ->Fit(problem.a_train.data(), problem.n_train, problem.b.data(), kD, kM, 1),
               Error);
  auto bad_class = std::make_shared<ClassifierTraining>(*training);
  bad_class->train_labels[3] = static_cast<std::int32_t>(kM);
  EXPECT_THROW(MakeMaddnessClassifier(8, bad_class)
                   ->Fit(problem.a_train.data(), problem.n_train, problem.b.data(), kD, kM, 1),
               Error);
  EXPECT_THROW(MakeMaddnessClassifier(8, nullptr), Error);
}

TEST(ExperimentMethodsTest, ColumnMajorPathsMatchRowMajor) {
  const Problem problem = MakeProblem(2000, 300, 24, 9, 8);
  std::vector<float> a_col(problem.a_test.size());
  for (std::size_t r = 0; r < problem.n_test; ++r) {
    for (std::size_t j = 0; j < problem.d; ++j) {
      a_col[j * problem.n_test + r] = problem.a_test[r * problem.d + j];
    }
  }
  std::vector<std::unique_ptr<Method>> methods;
  methods.push_back(MakeExact("onednn"));
  methods.push_back(MakeExact("openblas"));
  methods.push_back(MakeMaddness(8));
  methods.push_back(MakePca(4));
  methods.push_back(MakeGaussianSketch(4, 1));
  methods.push_back(MakeHashJl(4, 1));
  for (const std::unique_ptr<Method>& method : methods) {
    ASSERT_TRUE(method->has_column_major()) << method->name();
    EXPECT_FALSE(method->library().empty()) << method->name();
    const std::vector<double> row = FitApply(method.get(), problem);
    std::vector<float> col(row.size(), NAN);
    method->ApplyColumnMajor(a_col.data(), problem.n_test, col.data(), 2);
    // Same product up to float rounding (a different summation order in the GEMMs).
    EXPECT_LT(Nmse(row, std::vector<double>(col.begin(), col.end())), 1e-10) << method->name();
  }
  // Bolt: the same codes from either layout, so the same outputs exactly; Encode alone works on
  // both layouts.
  const std::unique_ptr<Method> bolt = MakeBolt(4);
  ASSERT_TRUE(bolt->has_column_major());
  ASSERT_TRUE(bolt->has_encode());
  const std::vector<double> row = FitApply(bolt.get(), problem);
  std::vector<float> col(row.size(), NAN);
  bolt->ApplyColumnMajor(a_col.data(), problem.n_test, col.data(), 2);
  EXPECT_EQ(row, std::vector<double>(col.begin(), col.end()));
  EXPECT_NO_THROW(bolt->Encode(a_col.data(), problem.n_test, true, 2));
  EXPECT_NO_THROW(bolt->Encode(problem.a_test.data(), problem.n_test, false, 1));
}

// A method without the optional paths refuses them with an error that names it.
TEST(ExperimentMethodsTest, OptionalPathsThrowWhereAbsent) {
  class Plain : public Method {
   public:
    std::string name() const override { return "Plain"; }
    std::string params() const override { return ""; }
    std::string library() const override { return ""; }
    void Fit(const float*, std::size_t, const float*, std::size_t, std::size_t, int) override {}
    void Apply(const float*, std::size_t, float*, int) override {}
  };
  Plain plain;
  EXPECT_FALSE(plain.has_column_major());
  EXPECT_FALSE(plain.has_raw_output());
  EXPECT_FALSE(plain.has_encode());
  const float a[4] = {};
  float out[4];
  EXPECT_THROW(plain.ApplyColumnMajor(a, 2, out, 1), Error);
  EXPECT_THROW(plain.ApplyRaw(a, 2, false, 1), Error);
  try {
    plain.Encode(a, 2, false, 1);
    FAIL() << "Encode did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("Plain"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace maddness::baselines
