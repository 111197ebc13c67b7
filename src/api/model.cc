// The public Model: validation of every input, then the stages.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "maddness/maddness.h"
#include "src/api/learn_model.h"
#include "src/api/model_access.h"
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
// Rows encoded by one task of EncodePacked, which does not scan: as many as the encoder's longest
// column runs (ColumnRuns::kLong, 256 blocks; on Zen 3 runs and tasks of 64 blocks took
// 1.05-1.2x as long, docs/kernel-measurements.md, seventh round), but no more than an even share
// of the blocks per thread, and no fewer than kBlocksPerTask.
constexpr std::size_t kEncodeBlocksPerTask = 256;
std::size_t EncodeBlocksPerTask(std::size_t rows, int threads) {
  const std::size_t num_blocks = detail::NumBlocks(rows);
  const std::size_t share =
      (num_blocks + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads);
  return std::clamp(share, kBlocksPerTask, kEncodeBlocksPerTask);
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

using detail::CheckRowsFit;
using detail::RowsFit;

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
void CheckAndEncode(const detail::Encoder& encoder, const MatrixView& a, std::size_t first,
                    std::size_t last, std::uint8_t* packed) {
  if (detail::EncodeBlocks(encoder, a, first, last, packed)) return;
  const std::size_t row_end = std::min(a.rows, last * detail::kBlockRows);
  CheckRowsFinite(a, EncodedColumns(encoder), first * detail::kBlockRows, row_end);
  Fail("A has a NaN or infinite value in rows ", first * detail::kBlockRows, " to ", row_end - 1,
       "; NaN and infinite values are not accepted");
}

void CheckTables(const detail::ModelData* data, const char* what) {
  if (data == nullptr) Fail(what, " needs a learned model; this one is empty");
  if (!data->has_tables) {
    Fail("the model has no tables for B; call SetB (or `maddness set-b`) first");
  }
}

// The output stride for `rows` rows of `outputs` outputs in `layout` (0 = the packed one),
// checked: at least M (row-major) or N (column-major), and the output addressable.
std::size_t CheckOutputStride(std::size_t out_stride, std::size_t rows, std::size_t outputs,
                              OutputLayout layout) {
  const bool col_major = layout == OutputLayout::kColMajor;
  if (layout != OutputLayout::kRowMajor && !col_major) {
    Fail("output_layout is ", static_cast<int>(layout), "; it must be kRowMajor or kColMajor");
  }
  const std::size_t minimum = col_major ? rows : outputs;
  if (out_stride == 0) out_stride = std::max<std::size_t>(minimum, 1);
  if (out_stride < minimum) {
    Fail("out_stride is ", out_stride, "; with ", col_major ? "column" : "row",
         "-major output it must be at least ", col_major ? "N = " : "M = ", minimum);
  }
  const std::size_t lines = col_major ? outputs : rows;
  if (!RowsFit(lines, out_stride)) {
    Fail("the output of ", rows, " rows of ", outputs, " outputs with stride ", out_stride,
         " cannot be addressed");
  }
  return out_stride;
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

// Runs fn(first_block, last_block) over the 64-row blocks of `rows` rows, blocks_per_task blocks
// a task, on `threads` threads.
template <typename Fn>
void ForEachBlockRange(std::size_t rows, int threads, const Fn& fn,
                       std::size_t blocks_per_task = kBlocksPerTask) {
  const std::size_t num_blocks = detail::NumBlocks(rows);
  const std::size_t num_tasks = (num_blocks + blocks_per_task - 1) / blocks_per_task;
  detail::ParallelFor(num_tasks, threads, [&](std::size_t task) {
    const std::size_t first = task * blocks_per_task;
    fn(first, std::min(num_blocks, first + blocks_per_task));
  });
}

// The checks and the threading shared by ScanPacked and ScanPackedRaw; `scan` scans one range
// of blocks.
template <typename ScanFn>
void ScanPackedCommon(const detail::ModelData& data, const std::uint8_t* packed,
                      std::size_t packed_bytes, std::size_t rows, std::size_t out_stride,
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
  const std::size_t stride =
      CheckOutputStride(out_stride, rows, data.tables.output_dim, options.output_layout);
  const int threads = detail::ResolveThreads(options.threads);
  const std::size_t block_bytes = detail::PackedBlockBytes(num_codebooks);
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
  return detail::LearnModel(a_train, b, options);
}

void Model::SetB(const MatrixView& b, Aggregation aggregation, TableScale table_scale) {
  if (empty()) Fail("SetB needs a learned model; this one is empty");
  data_ = WithTables(*data_, b, aggregation, table_scale);
}

std::vector<float> Model::FloatTables(const MatrixView& b) const {
  if (empty()) Fail("FloatTables needs a learned model; this one is empty");
  detail::CheckMatrixView(b, "B");
  if (b.rows != data_->encoder.input_dim) {
    Fail("B has ", b.rows, " rows but A has ", data_->encoder.input_dim,
         " columns; B must be D x M with D = ", data_->encoder.input_dim);
  }
  detail::CheckFinite(b, "B");
  const std::vector<double> tables = detail::BuildFloatTables(data_->encoder, b);
  return std::vector<float>(tables.begin(), tables.end());
}

void Model::SetFloatTables(const float* tables, std::size_t num_outputs, Aggregation aggregation,
                           TableScale table_scale) {
  if (empty()) Fail("SetFloatTables needs a learned model; this one is empty");
  if (tables == nullptr) Fail("tables is a null pointer");
  if (num_outputs == 0) Fail("num_outputs is 0; the tables need at least one output (M >= 1)");
  if (table_scale == TableScale::kAuto) table_scale = TableScale::kPerOutput;
  const std::size_t per_output =
      static_cast<std::size_t>(data_->encoder.num_codebooks) * kNumPrototypes;
  CheckRowsFit("tables", num_outputs, per_output, "values");
  const std::size_t count = num_outputs * per_output;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(tables[i])) {
      Fail("tables[", i, "] is ", tables[i], "; the tables must be finite");
    }
  }
  auto data = std::make_shared<detail::ModelData>(*data_);
  data->tables =
      detail::QuantizeTables(std::vector<double>(tables, tables + count),
                             data_->encoder.num_codebooks, num_outputs, aggregation, table_scale);
  data->has_tables = true;
  data_ = std::move(data);
}

void Model::Apply(const MatrixView& a, float* out, std::size_t out_stride,
                  const ApplyOptions& options) const {
  CheckTables(data_.get(), "Apply");
  if (out == nullptr) Fail("out is a null pointer");
  CheckInputShape(*data_, a);
  out_stride =
      CheckOutputStride(out_stride, a.rows, data_->tables.output_dim, options.output_layout);
  const bool col_major = options.output_layout == OutputLayout::kColMajor;
  const int threads = detail::ResolveThreads(options.threads);
  const detail::Encoder& encoder = data_->encoder;
  const std::size_t block_bytes = detail::PackedBlockBytes(encoder.num_codebooks);
  const detail::ScanArgs args = MakeScanArgs(*data_, a.rows);
  const float* scale = data_->tables.out_scale.data();
  const float* offset = data_->tables.out_offset.data();
  // Each task encodes its rows into a private buffer, then scans them while they are in cache.
  // Column-major A and output under long column runs: tasks as EncodePacked's, so that the runs
  // are long too (on Zen 3 at M = 10 1.0-1.35x faster, about 1.1x typically; level at M = 100;
  // docs/kernel-measurements.md, seventh round).
  const bool long_tasks =
      col_major && a.row_stride == 1 && detail::MachineColumnRuns() == detail::ColumnRuns::kLong;
  const std::size_t blocks_per_task =
      long_tasks ? EncodeBlocksPerTask(a.rows, threads) : kBlocksPerTask;
  ForEachBlockRange(
      a.rows, threads,
      [&](std::size_t first, std::size_t last) {
        // Reused across calls on the same thread: at large C a fresh buffer would cost page faults.
        thread_local detail::AlignedVector<std::uint8_t> codes;
        codes.resize((last - first) * block_bytes);
        CheckAndEncode(encoder, a, first, last, codes.data());
        detail::ScanArgs task_args = args;
        task_args.packed_codes = codes.data();
        if (col_major) {
          detail::ScanDequantizeColumns(task_args, scale, offset, first, last, out, out_stride);
        } else {
          detail::ScanDequantizeBlocks(task_args, scale, offset, first, last, out, out_stride);
        }
      },
      blocks_per_task);
}

std::size_t Model::PackedCodesBytes(std::size_t rows) const {
  return empty() ? 0 : detail::PackedCodesBytes(rows, data_->encoder.num_codebooks);
}

std::vector<std::uint8_t> Model::EncodePacked(const MatrixView& a,
                                              const ApplyOptions& options) const {
  if (empty()) Fail("EncodePacked needs a learned model; this one is empty");
  CheckInputShape(*data_, a);
  std::vector<std::uint8_t> packed(PackedCodesBytes(a.rows));
  EncodePacked(a, packed.data(), packed.size(), options);
  return packed;
}

void Model::EncodePacked(const MatrixView& a, std::uint8_t* packed, std::size_t packed_bytes,
                         const ApplyOptions& options) const {
  if (empty()) Fail("EncodePacked needs a learned model; this one is empty");
  CheckInputShape(*data_, a);
  if (packed == nullptr) Fail("packed is a null pointer");
  if (packed_bytes != PackedCodesBytes(a.rows)) {
    Fail("packed_bytes is ", packed_bytes, " but ", a.rows, " rows of ",
         data_->encoder.num_codebooks, " codebooks take ", PackedCodesBytes(a.rows), " bytes");
  }
  const int threads = detail::ResolveThreads(options.threads);
  const std::size_t block_bytes = detail::PackedBlockBytes(data_->encoder.num_codebooks);
  ForEachBlockRange(
      a.rows, threads,
      [&](std::size_t first, std::size_t last) {
        CheckAndEncode(data_->encoder, a, first, last, packed + first * block_bytes);
      },
      EncodeBlocksPerTask(a.rows, threads));
}

void Model::ScanPacked(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                       float* out, std::size_t out_stride, const ApplyOptions& options) const {
  CheckTables(data_.get(), "ScanPacked");
  const float* scale = data_->tables.out_scale.data();
  const float* offset = data_->tables.out_offset.data();
  const bool col_major = options.output_layout == OutputLayout::kColMajor;
  ScanPackedCommon(
      *data_, packed, packed_bytes, rows, out_stride, options, out == nullptr,
      [&](const detail::ScanArgs& args, std::size_t first, std::size_t last, std::size_t stride) {
        if (col_major) {
          detail::ScanDequantizeColumns(args, scale, offset, first, last, out, stride);
        } else {
          detail::ScanDequantizeBlocks(args, scale, offset, first, last, out, stride);
        }
      });
}

void Model::ScanPackedRaw(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                          std::uint16_t* out, std::size_t out_stride,
                          const ApplyOptions& options) const {
  CheckTables(data_.get(), "ScanPackedRaw");
  const bool col_major = options.output_layout == OutputLayout::kColMajor;
  ScanPackedCommon(
      *data_, packed, packed_bytes, rows, out_stride, options, out == nullptr,
      [&](const detail::ScanArgs& args, std::size_t first, std::size_t last, std::size_t stride) {
        if (col_major) {
          detail::ScanColumns(args, first, last, out, stride);
        } else {
          detail::ScanBlocks(args, first, last, out, stride);
        }
      });
}

void Model::ScanPackedRaw8(const std::uint8_t* packed, std::size_t packed_bytes, std::size_t rows,
                           std::uint8_t* out, std::size_t out_stride,
                           const ApplyOptions& options) const {
  CheckTables(data_.get(), "ScanPackedRaw8");
  if (options.output_layout != OutputLayout::kColMajor) {
    Fail(
        "ScanPackedRaw8 writes column-major output only; options.output_layout must be "
        "kColMajor");
  }
  const int num_codebooks = data_->encoder.num_codebooks;
  if (data_->tables.aggregation != Aggregation::kAveraging ||
      num_codebooks > detail::kMaxGroupSize) {
    Fail("ScanPackedRaw8 needs raw sums that fit in a byte: averaging aggregation and at most ",
         detail::kMaxGroupSize, " codebooks; this model has ", num_codebooks, " codebooks and ",
         data_->tables.aggregation == Aggregation::kAveraging ? "averaging" : "exact-sum",
         " aggregation (use ScanPackedRaw)");
  }
  ScanPackedCommon(
      *data_, packed, packed_bytes, rows, out_stride, options, out == nullptr,
      [&](const detail::ScanArgs& args, std::size_t first, std::size_t last, std::size_t stride) {
        detail::ScanColumns8(args, first, last, out, stride);
      });
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
  Apply(a, out.data(), 0, options);
  return out;
}

std::vector<std::uint8_t> Model::Encode(const MatrixView& a, const ApplyOptions& options) const {
  if (empty()) Fail("Encode needs a learned model; this one is empty");
  CheckInputShape(*data_, a);
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
    detail::AlignedVector<std::uint8_t> packed((last - first) *
                                               detail::PackedBlockBytes(encoder.num_codebooks));
    CheckAndEncode(encoder, a, first, last, packed.data());
    const std::size_t row_end = std::min(a.rows, last * detail::kBlockRows);
    for (std::size_t row = first * detail::kBlockRows; row < row_end; ++row) {
      for (std::size_t c = 0; c < num_codebooks; ++c) {
        const std::uint8_t byte =
            packed[detail::PackedByteOffset(row - first * detail::kBlockRows, c / 2, pairs)];
        codes[row * num_codebooks + c] =
            static_cast<std::uint8_t>(detail::CodeInByte(byte, static_cast<int>(c)));
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

double Model::ridge_lambda() const { return empty() ? 0.0 : data_->ridge_lambda; }

const detail::ModelData& detail::ModelAccess::Data(const Model& model) {
  if (model.empty()) Fail("the model is empty");
  return *model.data_;
}

}  // namespace maddness
