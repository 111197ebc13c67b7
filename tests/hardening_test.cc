// Hostile and degenerate inputs at every public entry point of the C++ API (docs/reliability.md):
// each must give maddness::Error with a message that names the argument, or, for inputs that are
// legitimate but degenerate (constant or duplicate rows and columns, C = D, exactly 16 rows), a
// usable model with finite outputs. Never a crash, an abort or another exception type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "maddness/maddness.h"
#include "src/api/model_access.h"
#include "src/common/model_data.h"
#include "tests/test_util.h"

namespace maddness {
namespace {

using testing::ExpectError;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Problem {
  std::size_t rows = 200;
  std::size_t dim = 8;
  std::size_t outputs = 3;
  std::vector<float> a_train = testing::ClusteredMatrix(rows, dim, 5);
  std::vector<float> b = testing::RandomMatrix(dim, outputs, 6);
  MatrixView Train() const { return MatrixView::RowMajor(a_train.data(), rows, dim); }
  MatrixView B() const { return MatrixView::RowMajor(b.data(), dim, outputs); }
  LearnOptions Options() const {
    LearnOptions options;
    options.num_codebooks = 4;
    options.threads = 1;
    return options;
  }
  Model Learn() const {
    const MatrixView b_view = B();
    return Model::Learn(Train(), &b_view, Options());
  }
};

void ExpectAllFinite(const std::vector<float>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_TRUE(std::isfinite(values[i])) << "output " << i << " is " << values[i];
  }
}

// ------------------------------------------------------------------------------------------------
// Sizes whose products overflow. A view with row stride 0 repeats one row: it is small in memory
// but may claim any number of rows, so only the products of the shapes can catch it.

TEST(Hardening, RowCountsWhoseOutputsOverflowAreRefused) {
  Problem p;
  const Model model = p.Learn();
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  const MatrixView repeated{p.a_train.data(), huge, p.dim, 0, 1};
  ExpectError([&] { model.Apply(repeated); }, {"A has " + std::to_string(huge) + " rows"});
  ExpectError([&] { model.Encode(repeated); }, {"A has " + std::to_string(huge) + " rows"});
  ExpectError([&] { model.EncodePacked(repeated); }, {"A has " + std::to_string(huge) + " rows"});
  std::vector<float> out(16);
  ExpectError([&] { model.Apply(repeated, out.data()); }, {"A has", "rows"});
  LearnOptions options = p.Options();
  ExpectError([&] { Model::Learn(repeated, nullptr, options); },
              {"A_train has " + std::to_string(huge) + " rows"});

  // ScanPacked: rows whose packed size wraps around to the size actually passed.
  const std::vector<std::uint8_t> packed(64 * 2);
  std::vector<std::uint16_t> raw(16);
  for (const std::size_t rows : {huge, std::numeric_limits<std::size_t>::max(),
                                 (std::numeric_limits<std::size_t>::max() >> 6) + 1}) {
    ExpectError([&] { model.ScanPacked(packed.data(), 0, rows, out.data()); }, {"rows"});
    ExpectError([&] { model.ScanPackedRaw(packed.data(), 0, rows, raw.data()); }, {"rows"});
  }
}

TEST(Hardening, StridesThatOverflowAreRefused) {
  Problem p;
  const Model model = p.Learn();
  const std::ptrdiff_t huge = std::numeric_limits<std::ptrdiff_t>::max() / 2;
  ExpectError(
      [&] {
        model.Apply(MatrixView{p.a_train.data(), 3, p.dim, huge, 1});
      },
      {"A", "too large to address"});
  ExpectError(
      [&] {
        model.Apply(MatrixView{p.a_train.data(), 3, p.dim, 1, huge});
      },
      {"A", "too large to address"});
  ExpectError(
      [&] {
        model.Apply(MatrixView{p.a_train.data(), 3, p.dim, -huge, 1});
      },
      {"A", "too large to address"});
}

// ------------------------------------------------------------------------------------------------
// Dimensions beyond the documented maxima (kMaxDim, kMaxCodebooks).

TEST(Hardening, DimensionsBeyondTheMaximaAreRefused) {
  Problem p;
  LearnOptions options = p.Options();
  const MatrixView wide{p.a_train.data(), 20, kMaxDim + 1, 0, 0};
  ExpectError([&] { Model::Learn(wide, nullptr, options); },
              {"A_train has " + std::to_string(kMaxDim + 1) + " columns", "at most"});
  options.num_codebooks = kMaxCodebooks + 1;
  ExpectError([&] { Model::Learn(p.Train(), nullptr, options); },
              {"num_codebooks is " + std::to_string(kMaxCodebooks + 1)});
  Model model = p.Learn();
  const MatrixView wide_b{p.b.data(), p.dim, kMaxDim + 1, 0, 0};
  ExpectError([&] { model.SetB(wide_b); }, {"B has", "columns", "at most"});
  options = p.Options();
  ExpectError([&] { Model::Learn(p.Train(), &wide_b, options); }, {"B has", "at most"});
}

// ------------------------------------------------------------------------------------------------
// Empty inputs.

TEST(Hardening, EmptyInputsAreRefused) {
  Problem p;
  const LearnOptions options = p.Options();
  ExpectError(
      [&] { Model::Learn(MatrixView::RowMajor(p.a_train.data(), 0, p.dim), nullptr, options); },
      {"A_train has 0 rows"});
  ExpectError(
      [&] { Model::Learn(MatrixView::RowMajor(p.a_train.data(), 20, 0), nullptr, options); },
      {"A_train has 0 columns"});
  ExpectError([&] { Model::Learn(MatrixView::RowMajor(nullptr, 20, p.dim), nullptr, options); },
              {"A_train", "null"});
  Model model = p.Learn();
  ExpectError([&] { model.Apply(MatrixView::RowMajor(p.a_train.data(), 0, p.dim)); },
              {"A has 0 rows"});
  ExpectError([&] { model.Encode(MatrixView::RowMajor(p.a_train.data(), 0, p.dim)); },
              {"A has 0 rows"});
  ExpectError([&] { model.EncodePacked(MatrixView::RowMajor(nullptr, 5, p.dim)); }, {"A", "null"});
  ExpectError([&] { model.SetB(MatrixView::RowMajor(p.b.data(), p.dim, 0)); }, {"B has 0 columns"});
  ExpectError([&] { model.Apply(MatrixView::RowMajor(p.a_train.data(), 5, p.dim), nullptr); },
              {"out is a null pointer"});
  ExpectError([&] { Model::Deserialize(nullptr, 0); }, {"model"});
  const std::uint8_t one_byte = 'M';
  ExpectError([&] { Model::Deserialize(&one_byte, 1); }, {"model"});

  // The empty (default-constructed) model.
  const Model empty;
  const MatrixView a = MatrixView::RowMajor(p.a_train.data(), 5, p.dim);
  ExpectError([&] { empty.Apply(a); }, {"empty"});
  ExpectError([&] { empty.Encode(a); }, {"empty"});
  ExpectError([&] { empty.EncodePacked(a); }, {"empty"});
  ExpectError([&] { empty.Serialize(); }, {"empty"});
  ExpectError([&] { empty.Save("unused.maddness"); }, {"empty"});
  ExpectError([&] { Model().SetB(p.B()); }, {"empty"});
  ExpectError([&] { empty.output_scale(); }, {"empty"});
}

// ------------------------------------------------------------------------------------------------
// NaN and infinities: refused wherever they would reach the result (docs/reliability.md).

TEST(Hardening, NanAndInfinityAreRefused) {
  Problem p;
  const LearnOptions options = p.Options();
  for (const float bad : {kNaN, kInf, -kInf}) {
    SCOPED_TRACE(bad);
    std::vector<float> a_train = p.a_train;
    a_train[3 * p.dim + 2] = bad;
    ExpectError(
        [&] {
          Model::Learn(MatrixView::RowMajor(a_train.data(), p.rows, p.dim), nullptr, options);
        },
        {"A_train[3, 2]"});
    std::vector<float> b = p.b;
    b[1 * p.outputs + 2] = bad;
    const MatrixView bad_b = MatrixView::RowMajor(b.data(), p.dim, p.outputs);
    ExpectError([&] { Model::Learn(p.Train(), &bad_b, options); }, {"B[1, 2]"});
    Model model = p.Learn();
    ExpectError([&] { model.SetB(bad_b); }, {"B[1, 2]"});

    // A: every column the encoder reads is checked, by Apply, Encode and EncodePacked.
    const std::uint32_t column = detail::ModelDataOf(model).encoder.splits[0].dim;
    std::vector<float> a = p.a_train;
    a[7 * p.dim + column] = bad;
    const MatrixView bad_a = MatrixView::RowMajor(a.data(), p.rows, p.dim);
    const std::string where = "A[7, " + std::to_string(column) + "]";
    ExpectError([&] { model.Apply(bad_a); }, {where});
    ExpectError([&] { model.Encode(bad_a); }, {where});
    ExpectError([&] { model.EncodePacked(bad_a); }, {where});
  }
  LearnOptions bad_lambda = options;
  bad_lambda.ridge_lambda = std::numeric_limits<double>::quiet_NaN();
  ExpectError([&] { Model::Learn(p.Train(), nullptr, bad_lambda); }, {"ridge_lambda is nan"});
  bad_lambda.ridge_lambda = std::numeric_limits<double>::infinity();
  ExpectError([&] { Model::Learn(p.Train(), nullptr, bad_lambda); }, {"ridge_lambda is inf"});
}

TEST(Hardening, ColumnsTheEncoderNeverReadsAreNotChecked) {
  // Documented policy: a value the encoder never reads cannot change the result, and Apply does
  // not spend time checking it. The outputs are those of the same A without it.
  Problem p;
  p.dim = 40;  // 2 codebooks read at most 8 of the 40 columns
  p.a_train = testing::ClusteredMatrix(p.rows, p.dim, 5);
  p.b = testing::RandomMatrix(p.dim, p.outputs, 6);
  LearnOptions options = p.Options();
  options.num_codebooks = 2;
  const MatrixView b = p.B();
  const Model model = Model::Learn(p.Train(), &b, options);
  std::vector<bool> read(p.dim, false);
  for (const auto& split : detail::ModelDataOf(model).encoder.splits) read[split.dim] = true;
  std::size_t unread = p.dim;
  for (std::size_t c = 0; c < p.dim; ++c) {
    if (!read[c]) unread = c;
  }
  ASSERT_LT(unread, p.dim);
  std::vector<float> a = p.a_train;
  a[unread] = kNaN;
  EXPECT_EQ(model.Apply(MatrixView::RowMajor(a.data(), p.rows, p.dim)), model.Apply(p.Train()));
}

// ------------------------------------------------------------------------------------------------
// Degenerate but legitimate training data: a usable model, finite outputs.

// Learns from `a_train` and checks the model: finite outputs, the same after a round trip through
// the model file. With ridge_lambda = 0 the regression may be singular (empty buckets); then
// Learn must say so instead.
void ExpectUsable(const std::vector<float>& a_train, std::size_t rows, std::size_t dim,
                  const LearnOptions& options) {
  const std::vector<float> b = testing::RandomMatrix(dim, 3, 9);
  const MatrixView b_view = MatrixView::RowMajor(b.data(), dim, 3);
  const MatrixView a = MatrixView::RowMajor(a_train.data(), rows, dim);
  Model model;
  if (options.ridge_lambda == 0.0) {
    try {
      model = Model::Learn(a, &b_view, options);
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("ridge_lambda is 0"), std::string::npos)
          << error.what();
      return;
    }
  } else {
    model = Model::Learn(a, &b_view, options);
  }
  const std::vector<float> y = model.Apply(a);
  ASSERT_EQ(y.size(), rows * 3);
  ExpectAllFinite(y);
  const std::vector<std::uint8_t> bytes = model.Serialize();
  EXPECT_EQ(Model::Deserialize(bytes.data(), bytes.size()).Apply(a), y);
}

TEST(Hardening, DegenerateTrainingDataGivesAUsableModel) {
  const std::size_t rows = 64, dim = 6;
  for (const Variant variant : {Variant::kMaddness, Variant::kPq}) {
    for (const double lambda : {1.0, 0.0}) {
      SCOPED_TRACE(::testing::Message()
                   << "variant " << static_cast<int>(variant) << ", lambda " << lambda);
      LearnOptions options;
      options.num_codebooks = 3;
      options.variant = variant;
      options.ridge_lambda = lambda;
      options.threads = 1;
      // Every value the same.
      ExpectUsable(std::vector<float>(rows * dim, 2.5f), rows, dim, options);
      // Every value zero.
      ExpectUsable(std::vector<float>(rows * dim, 0.0f), rows, dim, options);
      // Constant columns next to varying ones.
      std::vector<float> a = testing::RandomMatrix(rows, dim, 3);
      for (std::size_t r = 0; r < rows; ++r) a[r * dim + 1] = a[r * dim + 4] = -7.0f;
      ExpectUsable(a, rows, dim, options);
      // Duplicate columns.
      a = testing::RandomMatrix(rows, dim, 4);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 1; c < dim; ++c) a[r * dim + c] = a[r * dim];
      }
      ExpectUsable(a, rows, dim, options);
      // Duplicate rows: only two distinct rows.
      a = testing::RandomMatrix(rows, dim, 5);
      for (std::size_t r = 2; r < rows; ++r) {
        for (std::size_t c = 0; c < dim; ++c) a[r * dim + c] = a[(r % 2) * dim + c];
      }
      ExpectUsable(a, rows, dim, options);
      // Huge and tiny magnitudes (finite).
      a = testing::RandomMatrix(rows, dim, 6);
      for (std::size_t i = 0; i < a.size(); ++i) a[i] *= i % 2 == 0 ? 1e30f : 1e-30f;
      ExpectUsable(a, rows, dim, options);
    }
  }
}

TEST(Hardening, TrainingRowsAndCodebookCounts) {
  const std::size_t dim = 5;
  const std::vector<float> a = testing::RandomMatrix(40, dim, 8);
  LearnOptions options;
  options.threads = 1;
  options.num_codebooks = 2;
  for (const std::size_t rows : {std::size_t{1}, std::size_t{15}}) {
    ExpectError([&] { Model::Learn(MatrixView::RowMajor(a.data(), rows, dim), nullptr, options); },
                {"A_train has " + std::to_string(rows) + " rows", "at least 16"});
  }
  ExpectUsable(a, 16, dim, options);              // the smallest accepted training set
  options.num_codebooks = static_cast<int>(dim);  // C = D: one column per codebook
  ExpectUsable(a, 40, dim, options);
  options.num_codebooks = static_cast<int>(dim) + 1;
  ExpectError([&] { Model::Learn(MatrixView::RowMajor(a.data(), 40, dim), nullptr, options); },
              {"num_codebooks is 6", "D = 5 columns"});
  for (const int c : {0, -1}) {
    options.num_codebooks = c;
    ExpectError([&] { Model::Learn(MatrixView::RowMajor(a.data(), 40, dim), nullptr, options); },
                {"num_codebooks is " + std::to_string(c)});
  }
  options.num_codebooks = 2;
  options.candidate_dims = 0;
  ExpectError([&] { Model::Learn(MatrixView::RowMajor(a.data(), 40, dim), nullptr, options); },
              {"candidate_dims is 0"});
}

// ------------------------------------------------------------------------------------------------
// Shapes that do not match the model.

TEST(Hardening, MismatchedShapesAreRefused) {
  Problem p;
  Model model = p.Learn();
  for (const std::size_t width : {p.dim - 1, p.dim + 1, std::size_t{1}}) {
    std::vector<float> a(10 * width, 1.0f);
    const MatrixView view = MatrixView::RowMajor(a.data(), 10, width);
    const std::string message =
        "A has " + std::to_string(width) + " columns but the model was trained on 8";
    ExpectError([&] { model.Apply(view); }, {message});
    ExpectError([&] { model.Encode(view); }, {message});
    ExpectError([&] { model.EncodePacked(view); }, {message});
  }
  const MatrixView short_b = MatrixView::RowMajor(p.b.data(), p.dim - 1, p.outputs);
  ExpectError([&] { model.SetB(short_b); }, {"B has 7 rows", "D = 8"});
  const LearnOptions options = p.Options();
  ExpectError([&] { Model::Learn(p.Train(), &short_b, options); }, {"B has 7 rows"});

  // ScanPacked and ScanPackedRaw: the size of the codes and the output stride must match.
  const MatrixView a = MatrixView::RowMajor(p.a_train.data(), 70, p.dim);
  const std::vector<std::uint8_t> packed = model.EncodePacked(a);
  std::vector<float> out(70 * p.outputs);
  std::vector<std::uint16_t> raw(70 * p.outputs);
  ExpectError([&] { model.ScanPacked(packed.data(), packed.size() - 1, 70, out.data()); },
              {"packed_bytes is " + std::to_string(packed.size() - 1)});
  ExpectError([&] { model.ScanPacked(packed.data(), packed.size(), 200, out.data()); },
              {"packed_bytes"});
  ExpectError([&] { model.ScanPackedRaw(nullptr, packed.size(), 70, raw.data()); },
              {"packed is a null pointer"});
  ExpectError([&] { model.ScanPackedRaw(packed.data(), packed.size(), 70, nullptr); },
              {"out is a null pointer"});
  ExpectError([&] { model.ScanPacked(packed.data(), packed.size(), 70, out.data(), 2); },
              {"out_stride is 2", "at least M"});
  ApplyOptions bad_threads;
  bad_threads.threads = -1;
  ExpectError([&] { model.Apply(a, bad_threads); }, {"threads is -1"});
}

// ------------------------------------------------------------------------------------------------
// Files: a failed Save leaves nothing behind; Load of something that is not a model is refused.

TEST(Hardening, FilesThatAreNotModelsAreRefused) {
  Problem p;
  const Model model = p.Learn();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("maddness_hardening_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ExpectError([&] { model.Save((dir / "missing" / "m.maddness").string()); }, {"missing"});
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
  ExpectError([&] { Model::Load(dir.string()); }, {dir.string()});
  ExpectError([&] { Model::Load((dir / "none.maddness").string()); }, {"none.maddness"});
  model.Save((dir / "m.maddness").string());
  EXPECT_EQ(Model::Load((dir / "m.maddness").string()).Serialize(), model.Serialize());
  // Only the model itself: no temporary file left beside it.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace maddness
