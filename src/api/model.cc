// The public Model: validation of every input, then the stages.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/aligned.h"
#include "src/common/check.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/common/parallel.h"
#include "src/encode/encode.h"
#include "src/io/file.h"
#include "src/io/model_file.h"
#include "src/lut/lut.h"
#include "src/scan/scan.h"
#include "src/train/classifier.h"
#include "src/train/grouping.h"
#include "src/train/train.h"

namespace maddness {

MatrixView MatrixView::RowMajor(const float* data, std::size_t rows, std::size_t cols,
                                std::ptrdiff_t row_stride) {
  return MatrixView{data, rows, cols,
                    row_stride != 0 ? row_stride : static_cast<std::ptrdiff_t>(cols), 1};
}

MatrixView MatrixView::ColMajor(const float* data, std::size_t rows, std::size_t cols,
                                std::ptrdiff_t col_stride) {
  return MatrixView{data, rows, cols, 1,
                    col_stride != 0 ? col_stride : static_cast<std::ptrdiff_t>(rows)};
}

namespace {

using detail::Fail;

// Rows encoded and scanned together by one task: their codes stay in L1/L2 between the two steps.
constexpr std::size_t kBlocksPerTask = 64;
// Fewest training rows: one per prototype of a tree.
constexpr std::size_t kMinTrainRows = kNumPrototypes;

void CheckOptions(const LearnOptions& options, std::size_t input_dim) {
  const int c = options.num_codebooks;
  if (c < 1 || c > kMaxCodebooks) {
    Fail("num_codebooks is ", c, "; it must be between 1 and ", kMaxCodebooks);
  }
  if (static_cast<std::size_t>(c) > input_dim) {
    Fail("num_codebooks is ", c, " but A_train has only ", input_dim,
         " columns; it must be at most the number of columns D");
  }
  if (!(options.ridge_lambda >= 0.0) || !std::isfinite(options.ridge_lambda)) {
    Fail("ridge_lambda is ", options.ridge_lambda, "; it must be finite and >= 0");
  }
  if (options.candidate_dims < 1) {
    Fail("candidate_dims is ", options.candidate_dims, "; it must be at least 1");
  }
  if (options.max_train_rows != 0 && options.max_train_rows < kMinTrainRows) {
    Fail("max_train_rows is ", options.max_train_rows, "; it must be 0 (every row) or at least ",
         kMinTrainRows, " (one training row per prototype)");
  }
  detail::ResolveThreads(options.threads);
}

// The distinct columns of A that the encoder reads, ascending.
std::vector<std::uint32_t> EncodedColumns(const detail::Encoder& encoder) {
  std::vector<std::uint32_t> columns;
  for (const detail::SplitLevel& split : encoder.splits) columns.push_back(split.dim);
  std::sort(columns.begin(), columns.end());
  columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
  return columns;
}

// Throws unless `columns` of rows [row_begin, row_end) of `a` are finite. Called by CheckAndEncode
// only when the encoder has found a non-finite value, to name it.
void CheckRowsFinite(const MatrixView& a, const std::vector<std::uint32_t>& columns,
                     std::size_t row_begin, std::size_t row_end) {
  for (std::size_t r = row_begin; r < row_end; ++r) {
    // x - x is 0 for every finite x, NaN for NaN and infinities.
    float probe = 0.0f;
    for (const std::uint32_t c : columns) {
      const float value = a(r, c);
      probe += value - value;
    }
    if (probe == 0.0f) continue;
    for (const std::uint32_t c : columns) {
      const float value = a(r, c);
      if (!std::isfinite(value)) {
        Fail("A[", r, ", ", c, "] is ", value, "; NaN and infinite values are not accepted");
      }
    }
  }
}

// The most elements (of up to 8 bytes) that one array of the library may hold or address; with
// a margin of a 64-row block, so that rounding rows up to whole blocks cannot overflow either.
constexpr std::size_t kMaxElements = static_cast<std::size_t>(PTRDIFF_MAX) / 8;

// Whether `rows` rows of `per_row` elements each stay within kMaxElements. A view with row stride
// 0 may claim any number of rows without holding them, so shapes are checked, not memory.
bool RowsFit(std::size_t rows, std::size_t per_row) {
  return per_row == 0 || rows <= kMaxElements / per_row - detail::kBlockRows;
}

void CheckRowsFit(const char* name, std::size_t rows, std::size_t per_row, const char* unit) {
  if (!RowsFit(rows, per_row)) {
    Fail(name, " has ", rows, " rows of ", per_row, " ", unit, "; more than ", kMaxElements, " ",
         unit, " in all cannot be addressed");
  }
}

void CheckInputShape(const detail::ModelData& model, const MatrixView& a) {
  detail::CheckMatrixView(a, "A");
  if (a.cols != model.encoder.input_dim) {
    Fail("A has ", a.cols, " columns but the model was trained on ", model.encoder.input_dim);
  }
  CheckRowsFit("A", a.rows, a.cols, "values");
}

// Encodes and checks blocks [first, last) of `a` into `packed` (the codes of block `first`). The
// encoder checks the values it reads as it goes; only when it finds a non-finite one are the rows
// read again, to name it.
void CheckAndEncode(const detail::Encoder& encoder, const std::vector<std::uint32_t>& columns,
                    const MatrixView& a, std::size_t first, std::size_t last,
                    std::uint8_t* packed) {
  if (detail::EncodeBlocks(encoder, a, first, last, packed)) return;
  const std::size_t row_end = std::min(a.rows, last * detail::kBlockRows);
  CheckRowsFinite(a, columns, first * detail::kBlockRows, row_end);
  Fail("A has a NaN or infinite value in rows ", first * detail::kBlockRows, " to ", row_end - 1,
       "; NaN and infinite values are not accepted");
}

void CheckTables(const detail::ModelData* data, const char* what) {
  if (data == nullptr) Fail(what, " needs a learned model; this one is empty");
  if (!data->has_tables) {
    Fail("the model has no tables for B; call SetB (or `maddness set-b`) first");
  }
}

std::size_t CheckOutputStride(std::size_t out_row_stride, std::size_t outputs) {
  if (out_row_stride == 0) return outputs;
  if (out_row_stride < outputs) {
    Fail("out_row_stride is ", out_row_stride, "; it must be at least M = ", outputs);
  }
  return out_row_stride;
}

detail::ScanArgs MakeScanArgs(const detail::ModelData& data, std::size_t rows) {
  detail::ScanArgs args;
  args.num_rows = rows;
  args.num_codebooks = data.encoder.num_codebooks;
  args.luts = data.tables.luts.data();
  args.output_dim = data.tables.output_dim;
  args.aggregation = data.tables.aggregation;
  args.pair_raw = detail::PairRaw(data.tables);
  args.pair_outputs = detail::PairOutputs(data.tables);
  return args;
}

// Runs fn(first_block, last_block) over the 64-row blocks of `rows` rows, kBlocksPerTask blocks a
// task, on `threads` threads.
template <typename Fn>
void ForEachBlockRange(std::size_t rows, int threads, const Fn& fn) {
  const std::size_t num_blocks = detail::NumBlocks(rows);
  const std::size_t num_tasks = (num_blocks + kBlocksPerTask - 1) / kBlocksPerTask;
  detail::ParallelFor(num_tasks, threads, [&](std::size_t task) {
    const std::size_t first = task * kBlocksPerTask;
    fn(first, std::min(num_blocks, first + kBlocksPerTask));
  });
}

// The checks and the threading shared by ScanPacked and ScanPackedRaw; `scan` scans one range
// of blocks.
template <typename ScanFn>
void ScanPackedCommon(const detail::ModelData& data, const std::uint8_t* packed,
                      std::size_t packed_bytes, std::size_t rows, std::size_t out_row_stride,
                      const ApplyOptions& options, bool null_out, const ScanFn& scan) {
  if (packed == nullptr) Fail("packed is a null pointer");
  if (null_out) Fail("out is a null pointer");
  const int num_codebooks = data.encoder.num_codebooks;
  if (!RowsFit(rows, detail::TableBytesPerOutput(num_codebooks))) {
    Fail("rows is ", rows, "; the codes of that many rows cannot be addressed");
  }
  const std::size_t expected_bytes = detail::PackedCodesBytes(rows, num_codebooks);
  if (packed_bytes != expected_bytes) {
    Fail("packed_bytes is ", packed_bytes, " but ", rows, " rows of ", num_codebooks,
         " codebooks take ", expected_bytes, " bytes");
  }
  const std::size_t stride = CheckOutputStride(out_row_stride, data.tables.output_dim);
  if (!RowsFit(rows, stride)) {
    Fail("rows is ", rows, "; the output of that many rows (row stride ", stride,
         ") cannot be addressed");
  }
  const int threads = detail::ResolveThreads(options.threads);
  const std::size_t block_bytes =
      static_cast<std::size_t>(detail::CodePairs(num_codebooks)) * detail::kBlockRows;
  const detail::ScanArgs args = MakeScanArgs(data, rows);
  ForEachBlockRange(rows, threads, [&](std::size_t first, std::size_t last) {
    detail::ScanArgs task_args = args;
    task_args.packed_codes = packed + first * block_bytes;
    scan(task_args, first, last, stride);
  });
}

std::shared_ptr<detail::ModelData> WithTables(const detail::ModelData& base, const MatrixView& b,
                                              Aggregation aggregation, TableScale table_scale) {
  detail::CheckMatrixView(b, "B");
  if (b.rows != base.encoder.input_dim) {
    Fail("B has ", b.rows, " rows but A has ", base.encoder.input_dim,
         " columns; B must be D x M with D = ", base.encoder.input_dim);
  }
  detail::CheckFinite(b, "B");
  auto data = std::make_shared<detail::ModelData>(base);
  data->tables = detail::BuildTables(base.encoder, b, aggregation, table_scale);
  data->has_tables = true;
  return data;
}

}  // namespace

Model::Model() = default;
Model::~Model() = default;
Model::Model(const Model& other) = default;
Model& Model::operator=(const Model& other) = default;
Model::Model(Model&& other) noexcept = default;
Model& Model::operator=(Model&& other) noexcept = default;
Model::Model(std::shared_ptr<const detail::ModelData> data) : data_(std::move(data)) {}

Model Model::Learn(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options) {
  detail::CheckMatrixView(a_train, "A_train");
  CheckRowsFit("A_train", a_train.rows, a_train.cols, "values");
  if (a_train.rows < kMinTrainRows) {
    Fail("A_train has ", a_train.rows, " rows; at least ", kMinTrainRows,
         " are needed (one per prototype)");
  }
  CheckOptions(options, a_train.cols);
  detail::CheckFinite(a_train, "A_train");
  if (b != nullptr) {
    detail::CheckMatrixView(*b, "B");
    if (b->rows != a_train.cols) {
      Fail("B has ", b->rows, " rows but A_train has ", a_train.cols,
           " columns; B must be D x M with D = ", a_train.cols);
    }
    detail::CheckFinite(*b, "B");
    detail::CheckClassifierOptions(options.classifier, b->cols, a_train.rows);
  } else if (options.classifier.enabled) {
    Fail("classifier tables are fitted to B, but no B was given to learn with");
  }
  auto data = std::make_shared<detail::ModelData>();
  detail::PrototypeChoice prototypes;
  data->encoder = detail::LearnEncoder(a_train, b, options, &data->num_train_rows,
                                       detail::LocalReducer(), &prototypes);
  // Bucket-mean prototypes are what a MADDNESS-PQ model has, and the file says so.
  data->variant = prototypes.bucket_means ? Variant::kPq : Variant::kMaddness;
  data->ridge_lambda = prototypes.lambda;
  if (b == nullptr) return Model(std::move(data));
  TableScale table_scale = options.table_scale;
  if (table_scale == TableScale::kAuto) {
    table_scale = detail::TooFewRowsToChoose(data->num_train_rows, a_train.cols)
                      ? TableScale::kGlobal
                      : TableScale::kPerOutput;
  }
  if (!options.classifier.enabled) {
    return Model(WithTables(*data, *b, options.aggregation, table_scale));
  }
  // Classifier-aware tables: start from prototypes x B and fit them to the classifier's decisions
  // on the same training rows the encoder was learned from.
  if (options.progress) options.progress(Progress{"fitting classifier tables", 0, 1});
  const std::vector<std::size_t> rows =
      detail::SampleRows(a_train.rows, options.max_train_rows, options.seed);
  const std::vector<double> float_tables = detail::FitClassifierTables(
      data->encoder, a_train, rows, *b, options.classifier, options.ridge_lambda,
      detail::BuildFloatTables(data->encoder, *b), detail::ResolveThreads(options.threads));
  if (options.progress) options.progress(Progress{"fitting classifier tables", 1, 1});
  data->tables = detail::QuantizeTables(float_tables, data->encoder.num_codebooks, b->cols,
                                        options.aggregation, table_scale);
  data->has_tables = true;
  return Model(std::move(data));
}

void Model::SetB(const MatrixView& b, Aggregation aggregation, TableScale table_scale) {
  if (empty()) Fail("SetB needs a learned model; this one is empty");
  data_ = WithTables(*data_, b, aggregation, table_scale);
}

void Model::Apply(const MatrixView& a, float* out, std::size_t out_row_stride,
                  const ApplyOptions& options) const {
  CheckTables(data_.get(), "Apply");
  if (out == nullptr) Fail("out is a null pointer");
  out_row_stride = CheckOutputStride(out_row_stride, data_->tables.output_dim);
  CheckInputShape(*data_, a);
  CheckRowsFit("A", a.rows, out_row_stride, "outputs");
  const std::vector<std::uint32_t> columns = EncodedColumns(data_->encoder);
  const int threads = detail::ResolveThreads(options.threads);
  const detail::Encoder& encoder = data_->encoder;
  const std::size_t block_bytes =
      static_cast<std::size_t>(detail::CodePairs(encoder.num_codebooks)) * detail::kBlockRows;
  const detail::ScanArgs args = MakeScanArgs(*data_, a.rows);
  // Each task encodes its rows into a private buffer, then scans them while they are in cache.
  ForEachBlockRange(a.rows, threads, [&](std::size_t first, std::size_t last) {
    // Reused across calls on the same thread: at large C a fresh buffer would cost page faults.
    thread_local detail::AlignedVector<std::uint8_t> codes;
    codes.resize((last - first) * block_bytes);
    CheckAndEncode(encoder, columns, a, first, last, codes.data());
    detail::ScanArgs task_args = args;
    task_args.packed_codes = codes.data();
    detail::ScanDequantizeBlocks(task_args, data_->tables.out_scale.data(),
                                 data_->tables.out_offset.data(), first, last, out, out_row_stride);
  });
}

std::size_t Model::PackedCodesBytes(std::size_t rows) const {
  return empty() ? 0 : detail::PackedCodesBytes(rows, data_->encoder.num_codebooks);
}

std::vector<std::uint8_t> Model::EncodePacked(const MatrixView& a,
                                              const ApplyOptions& options) const {
  if (empty()) Fail("EncodePacked needs a learned model; this one is empty");
  CheckInputShape(*data_, a);
  const std::vector<std::uint32_t> columns = EncodedColumns(data_->encoder);
  const int threads = detail::ResolveThreads(options.threads);
  const std::size_t block_bytes =
      static_cast<std::size_t>(detail::CodePairs(data_->encoder.num_codebooks)) *
      detail::kBlockRows;
  std::vector<std::uint8_t> packed(PackedCodesBytes(a.rows));
  ForEachBlockRange(a.rows, threads, [&](std::size_t first, std::size_t last) {
    CheckAndEncode(data_->encoder, columns, a, first, last, packed.data() + first * block_bytes);
  });
  return packed;
}

void Model::ScanPacked(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                       float* out, std::size_t out_row_stride, const ApplyOptions& options) const {
  CheckTables(data_.get(), "ScanPacked");
  ScanPackedCommon(
      *data_, packed, packed_bytes, rows, out_row_stride, options, out == nullptr,
      [&](const detail::ScanArgs& args, std::size_t first, std::size_t last, std::size_t stride) {
        detail::ScanDequantizeBlocks(args, data_->tables.out_scale.data(),
                                     data_->tables.out_offset.data(), first, last, out, stride);
      });
}

void Model::ScanPackedRaw(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                          std::uint16_t* out, std::size_t out_row_stride,
                          const ApplyOptions& options) const {
  CheckTables(data_.get(), "ScanPackedRaw");
  ScanPackedCommon(*data_, packed, packed_bytes, rows, out_row_stride, options, out == nullptr,
                   [&](const detail::ScanArgs& args, std::size_t first, std::size_t last,
                       std::size_t stride) { detail::ScanBlocks(args, first, last, out, stride); });
}

const std::vector<float>& Model::output_scale() const {
  CheckTables(data_.get(), "output_scale");
  return data_->tables.out_scale;
}

const std::vector<float>& Model::output_offset() const {
  CheckTables(data_.get(), "output_offset");
  return data_->tables.out_offset;
}

std::vector<float> Model::Apply(const MatrixView& a, const ApplyOptions& options) const {
  CheckTables(data_.get(), "Apply");
  CheckInputShape(*data_, a);
  CheckRowsFit("A", a.rows, output_dim(), "outputs");  // before the allocation
  std::vector<float> out(a.rows * output_dim());
  Apply(a, out.data(), output_dim(), options);
  return out;
}

std::vector<std::uint8_t> Model::Encode(const MatrixView& a, const ApplyOptions& options) const {
  if (empty()) Fail("Encode needs a learned model; this one is empty");
  CheckInputShape(*data_, a);
  const std::vector<std::uint32_t> columns = EncodedColumns(data_->encoder);
  const int threads = detail::ResolveThreads(options.threads);
  const detail::Encoder& encoder = data_->encoder;
  const std::size_t num_codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  const std::size_t pairs = static_cast<std::size_t>(detail::CodePairs(encoder.num_codebooks));
  const std::size_t num_blocks = detail::NumBlocks(a.rows);
  const std::size_t num_tasks = (num_blocks + kBlocksPerTask - 1) / kBlocksPerTask;
  std::vector<std::uint8_t> codes(a.rows * num_codebooks);
  detail::ParallelFor(num_tasks, threads, [&](std::size_t task) {
    const std::size_t first = task * kBlocksPerTask;
    const std::size_t last = std::min(num_blocks, first + kBlocksPerTask);
    detail::AlignedVector<std::uint8_t> packed((last - first) * pairs * detail::kBlockRows);
    CheckAndEncode(encoder, columns, a, first, last, packed.data());
    const std::size_t row_end = std::min(a.rows, last * detail::kBlockRows);
    for (std::size_t row = first * detail::kBlockRows; row < row_end; ++row) {
      const std::size_t block = row / detail::kBlockRows - first;
      const std::size_t in_block = row % detail::kBlockRows;
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        const std::uint8_t byte = packed[(block * pairs + c / 2) * detail::kBlockRows + in_block];
        codes[row * num_codebooks + c] = static_cast<std::uint8_t>((byte >> (4 * (c % 2))) & 0xF);
      }
    }
  });
  return codes;
}

std::vector<std::uint8_t> Model::Serialize() const {
  if (empty()) Fail("Serialize needs a learned model; this one is empty");
  return io::SerializeModel(*data_);
}

Model Model::Deserialize(const std::uint8_t* bytes, std::size_t size) {
  return Model(std::make_shared<detail::ModelData>(io::DeserializeModel(bytes, size)));
}

void Model::Save(const std::string& path) const { io::WriteFileAtomic(path, Serialize(), "model"); }

Model Model::Load(const std::string& path) {
  const std::vector<std::uint8_t> bytes = io::ReadModelFile(path, "model");
  try {
    return Deserialize(bytes.data(), bytes.size());
  } catch (const Error& error) {
    Fail(path, ": ", error.what());
  }
}

bool Model::empty() const { return data_ == nullptr; }
std::size_t Model::input_dim() const { return empty() ? 0 : data_->encoder.input_dim; }
int Model::num_codebooks() const { return empty() ? 0 : data_->encoder.num_codebooks; }
bool Model::has_tables() const { return !empty() && data_->has_tables; }
std::size_t Model::output_dim() const { return has_tables() ? data_->tables.output_dim : 0; }
Variant Model::variant() const { return empty() ? Variant::kMaddness : data_->variant; }
Aggregation Model::aggregation() const {
  return has_tables() ? data_->tables.aggregation : Aggregation::kAveraging;
}
std::size_t Model::num_train_rows() const { return empty() ? 0 : data_->num_train_rows; }

const detail::ModelData& Model::data() const {
  if (empty()) Fail("the model is empty");
  return *data_;
}

}  // namespace maddness
