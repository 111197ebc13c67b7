// The smallest complete use of maddness: learn from a training sample, approximate A * B, and
// compare with the exact product.
//
//   cmake --build build && build/examples/maddness_example_matmul
#include <maddness/maddness.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  const std::size_t n_train = 20000, n = 5000, d = 64, m = 8;
  // Rows that live near a few directions, as real activations do.
  std::mt19937 generator(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> directions(8 * d);
  for (float& value : directions) value = normal(generator);
  auto make_rows = [&](std::size_t rows) {
    std::vector<float> a(rows * d);
    for (std::size_t r = 0; r < rows; ++r) {
      float weights[8];
      for (float& w : weights) w = normal(generator);
      for (std::size_t j = 0; j < d; ++j) {
        float value = 0.1f * normal(generator);
        for (int k = 0; k < 8; ++k) value += weights[k] * directions[k * d + j];
        a[r * d + j] = value;
      }
    }
    return a;
  };
  const std::vector<float> a_train = make_rows(n_train);
  const std::vector<float> a = make_rows(n);
  std::vector<float> b(d * m);
  for (float& value : b) value = normal(generator);

  maddness::LearnOptions options;
  options.num_codebooks = 16;
  const maddness::MatrixView b_view = maddness::MatrixView::RowMajor(b.data(), d, m);
  const maddness::Model model = maddness::Model::Learn(
      maddness::MatrixView::RowMajor(a_train.data(), n_train, d), &b_view, options);
  const std::vector<float> y = model.Apply(maddness::MatrixView::RowMajor(a.data(), n, d));

  double error = 0.0, sum = 0.0, sum_squares = 0.0;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t o = 0; o < m; ++o) {
      double exact = 0.0;
      for (std::size_t j = 0; j < d; ++j) exact += static_cast<double>(a[r * d + j]) * b[j * m + o];
      error += (exact - y[r * m + o]) * (exact - y[r * m + o]);
      sum += exact;
      sum_squares += exact * exact;
    }
  }
  const double count = static_cast<double>(n * m);
  const double variance = sum_squares / count - (sum / count) * (sum / count);
  std::printf("approximated a %zu x %zu by %zu x %zu product with %d codebooks\n", n, d, d, m,
              model.num_codebooks());
  std::printf("normalized mean squared error: %.4f\n", error / count / variance);
  return error / count / variance < 0.2 ? 0 : 1;
}
