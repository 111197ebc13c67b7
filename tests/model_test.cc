// The public Model: errors, the pipeline against the references, save and load.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/api/model_access.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/encode/encode.h"
#include "src/scan/scan.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

using testing::ExpectError;

struct Problem {
  std::size_t rows = 2000;
  std::size_t dim = 12;
  std::size_t outputs = 5;
  std::vector<float> a_train = testing::ClusteredMatrix(rows, dim, 11);
  std::vector<float> a_test = testing::ClusteredMatrix(300, dim, 11);
  std::vector<float> b = testing::RandomMatrix(dim, outputs, 12);
  MatrixView Train() const { return MatrixView::RowMajor(a_train.data(), rows, dim); }
  MatrixView Test() const { return MatrixView::RowMajor(a_test.data(), 300, dim); }
  MatrixView B() const { return MatrixView::RowMajor(b.data(), dim, outputs); }
  // A model of A_train with the tables of B.
  Model Learn(const LearnOptions& options) const {
    const MatrixView b_view = B();
    return Model::Learn(Train(), &b_view, options);
  }
};

TEST(Model, RejectsInvalidLearningInputs) {
  Problem p;
  const MatrixView b = p.B();
  LearnOptions options;
  options.num_codebooks = 0;
  ExpectError([&] { p.Learn(options); }, {"num_codebooks is 0"});
  options.num_codebooks = 13;
  ExpectError([&] { p.Learn(options); }, {"num_codebooks is 13", "12 columns"});
  options.num_codebooks = 4;
  options.ridge_lambda = -1.0;
  ExpectError([&] { p.Learn(options); }, {"ridge_lambda is -1"});
  options.ridge_lambda = 1.0;
  options.threads = -2;
  ExpectError([&] { p.Learn(options); }, {"threads is -2"});
  options.threads = 0;

  std::vector<float> with_nan = p.a_train;
  with_nan[5 * p.dim + 3] = std::numeric_limits<float>::quiet_NaN();
  ExpectError(
      [&] { Model::Learn(MatrixView::RowMajor(with_nan.data(), p.rows, p.dim), &b, options); },
      {"A_train[5, 3]", "nan"});
  std::vector<float> with_inf = p.a_train;
  with_inf[7] = std::numeric_limits<float>::infinity();
  ExpectError(
      [&] { Model::Learn(MatrixView::RowMajor(with_inf.data(), p.rows, p.dim), &b, options); },
      {"A_train[0, 7]", "inf"});
  ExpectError([&] { Model::Learn(MatrixView::RowMajor(p.a_train.data(), 10, p.dim), &b, options); },
              {"A_train has 10 rows", "at least 16"});
  const MatrixView wrong_b = MatrixView::RowMajor(p.b.data(), p.dim - 1, p.outputs);
  ExpectError([&] { Model::Learn(p.Train(), &wrong_b, options); }, {"B has 11 rows", "12"});
  ExpectError([&] { Model::Learn(MatrixView::RowMajor(nullptr, 20, 3), nullptr, options); },
              {"A_train", "null"});
}

TEST(Model, RejectsInvalidApplyInputs) {
  Problem p;
  LearnOptions options;
  options.num_codebooks = 4;
  const Model encoder_only = Model::Learn(p.Train(), nullptr, options);
  EXPECT_FALSE(encoder_only.has_tables());
  ExpectError([&] { encoder_only.Apply(p.Test()); }, {"no tables"});
  const Model model = p.Learn(options);
  ExpectError([&] { model.Apply(MatrixView::RowMajor(p.a_test.data(), 20, p.dim - 2)); },
              {"A has 10 columns", "trained on 12"});
  std::vector<float> with_nan = p.a_test;
  const std::uint32_t used_column = detail::ModelDataOf(model).encoder.splits[0].dim;
  with_nan[4 * p.dim + used_column] = std::numeric_limits<float>::quiet_NaN();
  ExpectError([&] { model.Apply(MatrixView::RowMajor(with_nan.data(), 300, p.dim)); },
              {"A[4, " + std::to_string(used_column) + "]", "nan"});
  ExpectError([&] { Model().Apply(p.Test()); }, {"empty"});
  std::vector<float> out(300 * 5);
  ExpectError([&] { model.Apply(p.Test(), out.data(), 3); }, {"out_stride is 3", "at least M"});
}

// Apply must equal the scalar references run over the whole matrix, for any thread count, row
// stride or layout of A.
TEST(Model, ApplyEqualsTheReferencePipeline) {
  Problem p;
  for (const int c : {1, 3, 4, 12}) {
    for (const Aggregation aggregation : {Aggregation::kAveraging, Aggregation::kExactSum}) {
      LearnOptions options;
      options.num_codebooks = c;
      options.aggregation = aggregation;
      const Model model = p.Learn(options);
      const detail::ModelData& data = detail::ModelDataOf(model);
      const std::size_t n = 300;
      std::vector<std::uint8_t> packed(detail::PackedCodesBytes(n, c));
      detail::EncodeRef(data.encoder, p.Test(), 0, detail::NumBlocks(n), packed.data());
      detail::ScanArgs args;
      args.packed_codes = packed.data();
      args.num_rows = n;
      args.num_codebooks = c;
      args.luts = data.tables.luts.data();
      args.output_dim = p.outputs;
      args.aggregation = aggregation;
      std::vector<float> expected(n * p.outputs);
      detail::ScanDequantizeRef(args, data.tables.out_scale.data(), data.tables.out_offset.data(),
                                0, detail::NumBlocks(n), expected.data(), p.outputs);

      for (const int threads : {1, 2, 3}) {
        EXPECT_EQ(model.Apply(p.Test(), ApplyOptions{threads}), expected)
            << "C " << c << " threads " << threads;
      }
      std::vector<float> column_major(n * p.dim);
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t j = 0; j < p.dim; ++j) column_major[j * n + r] = p.a_test[r * p.dim + j];
      }
      EXPECT_EQ(model.Apply(MatrixView::ColMajor(column_major.data(), n, p.dim)), expected);
      std::vector<float> strided_out(n * (p.outputs + 2), 7.0f);
      model.Apply(p.Test(), strided_out.data(), p.outputs + 2);
      for (std::size_t r = 0; r < n; ++r) {
        for (std::size_t m = 0; m < p.outputs; ++m) {
          ASSERT_EQ(strided_out[r * (p.outputs + 2) + m], expected[r * p.outputs + m]);
        }
        EXPECT_EQ(strided_out[r * (p.outputs + 2) + p.outputs], 7.0f);
      }

      const std::vector<std::uint8_t> codes = model.Encode(p.Test());
      for (std::size_t r = 0; r < n; ++r) {
        for (int k = 0; k < c; ++k) {
          ASSERT_EQ(codes[r * c + k], detail::EncodeRowRef(data.encoder, p.Test(), r, k));
        }
      }
    }
  }
}

// With B known, learning may use it (Objective::kAuto, ColumnGrouping::kSearch judge by the
// product); without those, the encoder does not depend on B.
TEST(Model, EncoderFirstThenBEqualsLearningWithB) {
  Problem p;
  LearnOptions options;
  options.num_codebooks = 6;
  options.objective = Objective::kInput;
  options.column_grouping = ColumnGrouping::kContiguous;
  const MatrixView b = p.B();
  const Model together = p.Learn(options);
  Model later = Model::Learn(p.Train(), nullptr, options);
  const Model encoder_only = later;
  later.SetB(b);
  EXPECT_EQ(later.Apply(p.Test()), together.Apply(p.Test()));
  EXPECT_FALSE(encoder_only.has_tables());  // copies do not share tables
  EXPECT_EQ(later.output_dim(), p.outputs);
  ExpectError([&] { later.SetB(MatrixView::RowMajor(p.b.data(), 3, 4)); },
              {"B has 3 rows", "D = 12"});
}

TEST(Model, SaveAndLoadGiveTheSameOutputs) {
  Problem p;
  LearnOptions options;
  options.num_codebooks = 5;
  options.variant = Variant::kPq;
  options.aggregation = Aggregation::kExactSum;
  const Model model = p.Learn(options);
  const std::vector<std::uint8_t> bytes = model.Serialize();
  const Model loaded = Model::Deserialize(bytes.data(), bytes.size());
  EXPECT_EQ(loaded.Apply(p.Test()), model.Apply(p.Test()));
  EXPECT_EQ(loaded.variant(), Variant::kPq);
  EXPECT_EQ(loaded.aggregation(), Aggregation::kExactSum);
  EXPECT_EQ(loaded.num_train_rows(), p.rows);
  EXPECT_EQ(loaded.Serialize(), bytes);

  const std::string path = ::testing::TempDir() + "/model_test.maddness";
  model.Save(path);
  EXPECT_EQ(Model::Load(path).Apply(p.Test()), model.Apply(p.Test()));
  ExpectError([&] { Model::Load(path + ".missing"); }, {path + ".missing"});
}

TEST(Model, RidgePrototypesBeatBucketMeansOnHeldOutRows) {
  Problem p;
  const std::vector<double> exact = testing::ExactProduct(p.a_test, p.b, 300, p.dim, p.outputs);
  LearnOptions options;
  options.num_codebooks = 4;
  options.aggregation = Aggregation::kExactSum;
  const double maddness = testing::Nmse(exact, p.Learn(options).Apply(p.Test()));
  options.variant = Variant::kPq;
  const double pq = testing::Nmse(exact, p.Learn(options).Apply(p.Test()));
  EXPECT_LT(maddness, pq);
}

// Column-major output (OutputLayout::kColMajor) holds the same values as the row-major output,
// transposed, for Apply, ScanPacked and ScanPackedRaw, with the default and a padded column
// stride; the padding and strides shorter than N are checked.
TEST(Model, ColumnMajorOutputIsTheTransposedRowMajorOutput) {
  Problem p;
  const std::size_t n = 300;
  for (const int c : {3, 12}) {
    LearnOptions options;
    options.num_codebooks = c;
    const Model model = p.Learn(options);
    const std::vector<float> expected = model.Apply(p.Test());
    ApplyOptions col;
    col.output_layout = OutputLayout::kColMajor;
    for (const std::size_t stride : {std::size_t{0}, n + 5}) {
      const std::size_t col_stride = stride == 0 ? n : stride;
      std::vector<float> out(p.outputs * col_stride, -7.0f);
      model.Apply(p.Test(), out.data(), stride, col);
      std::vector<std::uint8_t> packed(model.PackedCodesBytes(n));
      model.EncodePacked(p.Test(), packed.data(), packed.size(), col);
      EXPECT_EQ(packed, model.EncodePacked(p.Test()));
      std::vector<float> scanned(p.outputs * col_stride, -7.0f);
      model.ScanPacked(packed.data(), packed.size(), n, scanned.data(), stride, col);
      std::vector<std::uint16_t> raw(p.outputs * col_stride, 0xBEEF);
      model.ScanPackedRaw(packed.data(), packed.size(), n, raw.data(), stride, col);
      std::vector<std::uint16_t> raw_rows(n * p.outputs);
      model.ScanPackedRaw(packed.data(), packed.size(), n, raw_rows.data());
      for (std::size_t m = 0; m < p.outputs; ++m) {
        for (std::size_t r = 0; r < col_stride; ++r) {
          const std::size_t i = m * col_stride + r;
          if (r >= n) {  // the padding is not written
            ASSERT_EQ(out[i], -7.0f);
            ASSERT_EQ(scanned[i], -7.0f);
            ASSERT_EQ(raw[i], 0xBEEF);
            continue;
          }
          ASSERT_EQ(out[i], expected[r * p.outputs + m]) << "C " << c << " row " << r;
          ASSERT_EQ(scanned[i], expected[r * p.outputs + m]);
          ASSERT_EQ(raw[i], raw_rows[r * p.outputs + m]);
        }
      }
    }
    // 8-bit raw sums: the same values as the 16-bit ones (every C here is at most 16).
    std::vector<std::uint8_t> packed8 = model.EncodePacked(p.Test());
    std::vector<std::uint8_t> raw8(p.outputs * n);
    model.ScanPackedRaw8(packed8.data(), packed8.size(), n, raw8.data(), 0, col);
    std::vector<std::uint16_t> raw16(p.outputs * n);
    model.ScanPackedRaw(packed8.data(), packed8.size(), n, raw16.data(), 0, col);
    EXPECT_TRUE(std::equal(raw8.begin(), raw8.end(), raw16.begin()));
    ExpectError(
        [&] { model.ScanPackedRaw8(packed8.data(), packed8.size(), n, raw8.data(), 0, {}); },
        {"column-major output only"});
    std::vector<float> out(p.outputs * n);
    ExpectError([&] { model.Apply(p.Test(), out.data(), n - 1, col); },
                {"out_stride is 299", "column-major", "at least N = 300"});
    std::vector<std::uint8_t> packed(model.PackedCodesBytes(n));
    ExpectError([&] { model.EncodePacked(p.Test(), packed.data(), packed.size() + 1); },
                {"packed_bytes is"});
    ApplyOptions bad_layout;
    bad_layout.output_layout = static_cast<OutputLayout>(7);
    ExpectError([&] { model.Apply(p.Test(), out.data(), 0, bad_layout); }, {"output_layout is 7"});
  }
  LearnOptions exact_options;
  exact_options.num_codebooks = 4;
  exact_options.aggregation = Aggregation::kExactSum;
  const Model exact_model = p.Learn(exact_options);
  const std::vector<std::uint8_t> packed = exact_model.EncodePacked(p.Test());
  std::vector<std::uint8_t> raw8(p.outputs * n);
  ApplyOptions col;
  col.output_layout = OutputLayout::kColMajor;
  ExpectError(
      [&] { exact_model.ScanPackedRaw8(packed.data(), packed.size(), n, raw8.data(), 0, col); },
      {"fit in a byte", "exact-sum"});
}

// Column-major A and output with many rows: Apply and EncodePacked then work in tasks of up to
// 256 blocks under long column runs (src/api/model.cc), of 64 otherwise. On one and two threads,
// under both policies, the outputs are the row-major pipeline's (tasks of 64 blocks, A gathered
// row by row), transposed, and the codes are EncodePacked's of the row-major copy.
TEST(Model, LongColumnRunTasksGiveTheSameOutputs) {
  Problem p;
  const std::size_t n = 300 * 64 + 17;  // tasks of 256 blocks and a partial last one
  const std::vector<float> rows = testing::ClusteredMatrix(n, p.dim, 13);
  std::vector<float> columns(n * p.dim);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < p.dim; ++j) columns[j * n + r] = rows[r * p.dim + j];
  }
  const MatrixView a_rows = MatrixView::RowMajor(rows.data(), n, p.dim);
  const MatrixView a_columns = MatrixView::ColMajor(columns.data(), n, p.dim);
  LearnOptions options;
  options.num_codebooks = 6;
  const Model model = p.Learn(options);
  const std::vector<float> expected = model.Apply(a_rows);
  const std::vector<std::uint8_t> expected_codes = model.EncodePacked(a_rows);
  const detail::ColumnRuns saved = detail::MachineColumnRuns();
  for (const detail::ColumnRuns runs :
       {detail::ColumnRuns::kL2Bounded, detail::ColumnRuns::kLong}) {
    detail::SetColumnRuns(runs);
    for (const int threads : {1, 2}) {
      ApplyOptions col;
      col.output_layout = OutputLayout::kColMajor;
      col.threads = threads;
      const std::vector<float> out = model.Apply(a_columns, col);
      ASSERT_EQ(out.size(), expected.size());
      for (std::size_t m = 0; m < p.outputs; ++m) {
        for (std::size_t r = 0; r < n; ++r) {
          ASSERT_EQ(out[m * n + r], expected[r * p.outputs + m])
              << "row " << r << ", output " << m << ", " << threads << " threads";
        }
      }
      EXPECT_EQ(model.EncodePacked(a_columns, col), expected_codes) << threads << " threads";
    }
  }
  detail::SetColumnRuns(saved);
}

}  // namespace
}  // namespace maddness

namespace maddness {
namespace {

// When B reads only some input columns, trees that minimize the product's error spend their
// splits on those columns and beat trees that reconstruct all of A.
TEST(Model, ProductObjectiveHelpsWhenBIgnoresColumns) {
  const std::size_t rows = 3000;
  const std::size_t dim = 16;
  const std::vector<float> a_train = testing::RandomMatrix(rows, dim, 21);
  const std::vector<float> a_test = testing::RandomMatrix(500, dim, 22);
  std::vector<float> b(dim * 3, 0.0f);
  for (std::size_t j = 0; j < dim; j += 4) {  // columns 0, 4, 8, 12 matter; one per codebook
    b[j * 3] = 1.0f;
    b[j * 3 + 1] = -0.5f;
    b[j * 3 + 2] = 0.25f * static_cast<float>(j);
  }
  const MatrixView b_view = MatrixView::RowMajor(b.data(), dim, 3);
  const std::vector<double> exact = testing::ExactProduct(a_test, b, 500, dim, 3);
  LearnOptions options;
  options.num_codebooks = 4;
  options.aggregation = Aggregation::kExactSum;
  auto nmse = [&](Objective objective) {
    options.objective = objective;
    const Model model =
        Model::Learn(MatrixView::RowMajor(a_train.data(), rows, dim), &b_view, options);
    return testing::Nmse(exact, model.Apply(MatrixView::RowMajor(a_test.data(), 500, dim)));
  };
  const double input = nmse(Objective::kInput);
  const double product = nmse(Objective::kProduct);
  EXPECT_LT(product, 0.5 * input);
}

TEST(Model, PerOutputScalesUseTheWholeByteForEveryOutput) {
  const std::size_t rows = 1000;
  const std::size_t dim = 8;
  const std::vector<float> a_train = testing::ClusteredMatrix(rows, dim, 31);
  std::vector<float> b = testing::RandomMatrix(dim, 2, 32);
  for (std::size_t j = 0; j < dim; ++j) b[j * 2 + 1] *= 1000.0f;  // outputs of very unlike range
  const MatrixView b_view = MatrixView::RowMajor(b.data(), dim, 2);
  LearnOptions options;
  options.num_codebooks = 4;
  for (const TableScale scale : {TableScale::kGlobal, TableScale::kPerOutput}) {
    options.table_scale = scale;
    const Model model =
        Model::Learn(MatrixView::RowMajor(a_train.data(), rows, dim), &b_view, options);
    const auto& luts = detail::ModelDataOf(model).tables.luts;
    // The widest span of one codebook's 16 entries, for each output.
    auto widest_span = [&](std::size_t output) {
      int widest = 0;
      for (std::size_t c = 0; c < 4; ++c) {
        const auto first = luts.begin() + static_cast<std::ptrdiff_t>(output * 64 + c * 16);
        widest = std::max(
            widest, *std::max_element(first, first + 16) - *std::min_element(first, first + 16));
      }
      return widest;
    };
    EXPECT_EQ(widest_span(1), 255);
    if (scale == TableScale::kPerOutput) {
      EXPECT_EQ(widest_span(0), 255);
    } else {
      EXPECT_LT(widest_span(0), 8);  // the small output gets a few levels of the shared scale
    }
  }
}

}  // namespace
}  // namespace maddness

namespace maddness {
namespace {

TEST(Model, EncodeOnceScanLaterEqualsApply) {
  Problem p;
  for (const int c : {3, 12}) {
    LearnOptions options;
    options.num_codebooks = c;
    const Model model = p.Learn(options);
    const std::vector<float> expected = model.Apply(p.Test());
    const std::vector<std::uint8_t> packed = model.EncodePacked(p.Test(), ApplyOptions{2});
    ASSERT_EQ(packed.size(), model.PackedCodesBytes(300));
    std::vector<float> out(300 * p.outputs);
    model.ScanPacked(packed.data(), packed.size(), 300, out.data(), 0, ApplyOptions{2});
    EXPECT_EQ(out, expected);
    std::vector<std::uint16_t> raw(300 * p.outputs);
    model.ScanPackedRaw(packed.data(), packed.size(), 300, raw.data());
    for (std::size_t r = 0; r < 300; ++r) {
      for (std::size_t m = 0; m < p.outputs; ++m) {
        float value = static_cast<float>(raw[r * p.outputs + m]) * model.output_scale()[m];
        value = value + model.output_offset()[m];
        ASSERT_EQ(value, expected[r * p.outputs + m]);
      }
    }
    ExpectError([&] { model.ScanPacked(packed.data(), packed.size() - 1, 300, out.data()); },
                {"packed_bytes is"});
    ExpectError([&] { model.ScanPackedRaw(packed.data(), packed.size(), 300, nullptr); },
                {"out is a null pointer"});
  }
}

}  // namespace
}  // namespace maddness
