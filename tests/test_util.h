// Helpers shared by the tests: random matrices, the real datasets of ../shared/data, expected
// errors.
#ifndef MADDNESS_TESTS_TEST_UTIL_H_
#define MADDNESS_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "maddness/maddness.h"

namespace maddness::testing {

// Row-major N x D float matrix with independent N(0, 1) entries scaled per column.
inline std::vector<float> RandomMatrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      values[r * cols + c] = normal(generator) * (1.0f + 0.25f * static_cast<float>(c % 5));
    }
  }
  return values;
}

// Rows drawn around a few centres, so that trees have structure to find.
inline std::vector<float> ClusteredMatrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::size_t num_centres = 12;
  std::vector<float> centres(num_centres * cols);
  for (float& value : centres) value = 3.0f * normal(generator);
  std::vector<float> values(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t centre = generator() % num_centres;
    for (std::size_t c = 0; c < cols; ++c) {
      values[r * cols + c] = centres[centre * cols + c] + 0.5f * normal(generator);
    }
  }
  return values;
}

// Expects `body` to throw maddness::Error (another exception type fails) whose message contains
// every one of `parts`.
template <typename Body>
void ExpectError(Body body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected maddness::Error";
  } catch (const Error& error) {
    for (const std::string& part : parts) {
      EXPECT_NE(std::string(error.what()).find(part), std::string::npos)
          << "message \"" << error.what() << "\" lacks \"" << part << "\"";
    }
  } catch (const std::exception& other) {
    ADD_FAILURE() << "expected maddness::Error, got another exception: " << other.what();
  }
}

// The folder of real datasets, or "" when it is not beside the project.
inline std::string SharedDataDir() {
  const std::string dir = MADDNESS_SHARED_DATA;
  return std::filesystem::is_directory(dir) ? dir : std::string();
}

#define MADDNESS_REQUIRE_SHARED_DATA()                                         \
  do {                                                                         \
    if (::maddness::testing::SharedDataDir().empty()) {                        \
      GTEST_SKIP() << "the real datasets are not at " << MADDNESS_SHARED_DATA; \
    }                                                                          \
  } while (false)

// mean((y - estimate)^2) / var(y), over all entries.
inline double Nmse(const std::vector<double>& exact, const std::vector<float>& estimate) {
  double mean = 0.0;
  for (double value : exact) mean += value;
  mean /= static_cast<double>(exact.size());
  double variance = 0.0;
  double error = 0.0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    variance += (exact[i] - mean) * (exact[i] - mean);
    error += (exact[i] - estimate[i]) * (exact[i] - estimate[i]);
  }
  return error / variance;
}

// Exact product in float64: A (N x D) * B (D x M), both row-major.
inline std::vector<double> ExactProduct(const std::vector<float>& a, const std::vector<float>& b,
                                        std::size_t rows, std::size_t dim, std::size_t outputs) {
  std::vector<double> y(rows * outputs, 0.0);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < dim; ++j) {
      const double x = a[r * dim + j];
      for (std::size_t m = 0; m < outputs; ++m) y[r * outputs + m] += x * b[j * outputs + m];
    }
  }
  return y;
}

}  // namespace maddness::testing

#endif  // MADDNESS_TESTS_TEST_UTIL_H_
