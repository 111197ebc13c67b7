// The model file, format version 2 (reads 1 too). docs/format.md describes it byte by byte; keep
// the two in step.
#include "src/io/model_file.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "src/common/check.h"
#include "src/common/layout.h"
#include "src/io/file.h"
#include "src/io/little_endian.h"
#include "src/lut/lut.h"

namespace maddness::io {
namespace {

using detail::Fail;

constexpr char kMagic[8] = {'M', 'A', 'D', 'D', 'N', 'E', 'S', 'S'};

// Offsets of the fixed header (the same in versions 1 and 2).
constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kVariantOffset = 12;
constexpr std::size_t kRidgeLambdaOffset = 16;
constexpr std::size_t kNumTrainRowsOffset = 24;
constexpr std::size_t kInputDimOffset = 32;
constexpr std::size_t kOutputDimOffset = 40;
constexpr std::size_t kNumCodebooksOffset = 48;
constexpr std::size_t kHasTablesOffset = 52;
constexpr std::size_t kAggregationOffset = 56;
constexpr std::size_t kHeaderBytes = 60;

// A section is a 4-byte ASCII tag, a uint64 payload size in bytes, then the payload.
constexpr std::size_t kSectionHeaderBytes = 4 + 8;
constexpr char kCodebookBeginTag[] = "CBEG";
constexpr char kColumnsTag[] = "CCOL";  // version 2 and later
constexpr char kSplitsTag[] = "SPLT";
constexpr char kPrototypesTag[] = "PROT";
constexpr char kLutsTag[] = "LUTS";
constexpr char kOutScaleTag[] = "OSCL";
constexpr char kOutOffsetTag[] = "OOFF";

// One split level: dim u32, scale f32, offset f32, thresholds i8[16].
constexpr std::size_t kSplitLevelBytes = 4 + 4 + 4 + 16;
constexpr std::size_t kChecksumBytes = 4;

// Stable numbering of the enums in the file, independent of their order in maddness.h.
constexpr std::uint32_t kVariantMaddness = 0;
constexpr std::uint32_t kVariantPq = 1;
constexpr std::uint32_t kAggregationAveraging = 0;
constexpr std::uint32_t kAggregationExactSum = 1;

std::uint32_t VariantCode(Variant variant) {
  return variant == Variant::kPq ? kVariantPq : kVariantMaddness;
}

std::uint32_t AggregationCode(Aggregation aggregation) {
  return aggregation == Aggregation::kExactSum ? kAggregationExactSum : kAggregationAveraging;
}

// Payload sizes of the sections, from the header's counts. The counts are within kMaxDim and
// kMaxCodebooks, so no product comes near overflowing 64 bits.
struct SectionSizes {
  std::size_t codebook_begin;
  std::size_t columns;  // 0 in version 1
  std::size_t splits;
  std::size_t prototypes;
  std::size_t luts;  // this and the next two: 0 without tables
  std::size_t out_scale;
  std::size_t out_offset;
  std::size_t file;  // the whole file, checksum included
};

SectionSizes ComputeSectionSizes(std::uint32_t version, std::size_t input_dim, int num_codebooks,
                                 bool has_tables, std::size_t output_dim) {
  const auto codebooks = static_cast<std::size_t>(num_codebooks);
  SectionSizes sizes{};
  sizes.codebook_begin = (codebooks + 1) * sizeof(std::uint32_t);
  sizes.splits = codebooks * kTreeDepth * kSplitLevelBytes;
  sizes.prototypes = codebooks * kNumPrototypes * input_dim * sizeof(float);
  sizes.file = kHeaderBytes + 3 * kSectionHeaderBytes + sizes.codebook_begin + sizes.splits +
               sizes.prototypes + kChecksumBytes;
  if (version >= 2) {
    sizes.columns = input_dim * sizeof(std::uint32_t);
    sizes.file += kSectionHeaderBytes + sizes.columns;
  }
  if (has_tables) {
    sizes.luts = output_dim * detail::TableBytesPerOutput(num_codebooks);
    sizes.out_scale = output_dim * sizeof(float);
    sizes.out_offset = output_dim * sizeof(float);
    sizes.file += 3 * kSectionHeaderBytes + sizes.luts + sizes.out_scale + sizes.out_offset;
  }
  return sizes;
}

std::uint32_t Crc32(const std::uint8_t* bytes, std::size_t size) {
  return static_cast<std::uint32_t>(crc32_z(crc32_z(0, nullptr, 0), bytes, size));
}

// Checks the counts that size every array: 1 <= D <= kMaxDim, 1 <= C <= min(D, kMaxCodebooks),
// and with tables 1 <= M <= kMaxDim. Signed and 64-bit, so that neither a negative ModelData
// field nor a huge file field wraps around before it is checked.
void CheckCounts(std::uint64_t input_dim, std::int64_t num_codebooks, bool has_tables,
                 std::uint64_t output_dim, const char* context) {
  if (input_dim < 1 || input_dim > kMaxDim) {
    Fail(context, ": input dimension D is ", input_dim, "; it must be in [1, ", kMaxDim, "]");
  }
  if (num_codebooks < 1 || num_codebooks > kMaxCodebooks) {
    Fail(context, ": number of codebooks C is ", num_codebooks, "; it must be in [1, ",
         kMaxCodebooks, "]");
  }
  if (static_cast<std::uint64_t>(num_codebooks) > input_dim) {
    Fail(context, ": number of codebooks C = ", num_codebooks,
         " is larger than the input dimension D = ", input_dim);
  }
  if (has_tables && (output_dim < 1 || output_dim > kMaxDim)) {
    Fail(context, ": output dimension M is ", output_dim, "; it must be in [1, ", kMaxDim, "]");
  }
}

// Checks every invariant of ModelData that the stages rely on. `context` starts each message:
// "model file" when reading, "model to save" when writing (so that a model that could not be
// loaded back is never written).
void CheckModel(const detail::ModelData& model, const char* context) {
  const detail::Encoder& encoder = model.encoder;
  const std::size_t input_dim = encoder.input_dim;
  const int num_codebooks = encoder.num_codebooks;
  CheckCounts(input_dim, num_codebooks, model.has_tables, model.tables.output_dim, context);
  if (!std::isfinite(model.ridge_lambda) || model.ridge_lambda < 0) {
    Fail(context, ": ridge lambda is ", model.ridge_lambda, "; it must be finite and >= 0");
  }
  const auto codebooks = static_cast<std::size_t>(num_codebooks);

  if (encoder.codebook_begin.size() != codebooks + 1) {
    Fail(context, ": ", encoder.codebook_begin.size(), " codebook starts for C = ", num_codebooks,
         "; there must be C + 1");
  }
  if (encoder.codebook_begin[0] != 0 || encoder.codebook_begin[codebooks] != input_dim) {
    Fail(context, ": codebook columns run from ", encoder.codebook_begin[0], " to ",
         encoder.codebook_begin[codebooks], "; they must cover exactly [0, D = ", input_dim, ")");
  }
  for (std::size_t c = 0; c < codebooks; ++c) {
    if (encoder.codebook_begin[c] >= encoder.codebook_begin[c + 1]) {
      Fail(context, ": codebook ", c, " has columns [", encoder.codebook_begin[c], ", ",
           encoder.codebook_begin[c + 1], "); every codebook needs at least one column");
    }
  }
  if (!encoder.columns.empty()) {
    if (encoder.columns.size() != input_dim) {
      Fail(context, ": ", encoder.columns.size(),
           " entries in the column order for D = ", input_dim, "; there must be D");
    }
    std::vector<bool> seen(input_dim, false);
    for (std::size_t i = 0; i < input_dim; ++i) {
      const std::uint32_t column = encoder.columns[i];
      if (column >= input_dim || seen[column]) {
        Fail(context, ": entry ", i, " of the column order is ", column,
             "; the order must list every column in [0, D = ", input_dim, ") exactly once");
      }
      seen[column] = true;
    }
  }
  const std::vector<int> owner = detail::ColumnOwners(encoder);

  if (encoder.splits.size() != codebooks * kTreeDepth) {
    Fail(context, ": ", encoder.splits.size(), " split levels for C = ", num_codebooks,
         "; there must be C * ", kTreeDepth);
  }
  for (std::size_t c = 0; c < codebooks; ++c) {
    for (int level = 0; level < kTreeDepth; ++level) {
      const detail::SplitLevel& split = encoder.splits[c * kTreeDepth + level];
      if (split.dim >= input_dim || owner[split.dim] != static_cast<int>(c)) {
        Fail(context, ": codebook ", c, ", level ", level, " splits on column ", split.dim,
             ", which is not one of the codebook's columns");
      }
      if (!std::isfinite(split.scale) || !(split.scale > 0)) {
        Fail(context, ": codebook ", c, ", level ", level, " has scale ", split.scale,
             "; it must be finite and > 0");
      }
      if (!std::isfinite(split.offset)) {
        Fail(context, ": codebook ", c, ", level ", level, " has offset ", split.offset,
             "; it must be finite");
      }
      for (int node = 1 << level; node < kNumPrototypes; ++node) {
        if (split.thresholds[node] != detail::kNoSplitThreshold) {
          Fail(context, ": codebook ", c, ", level ", level, " has threshold ",
               static_cast<int>(split.thresholds[node]), " in unused slot ", node,
               "; unused slots must hold ", static_cast<int>(detail::kNoSplitThreshold));
        }
      }
    }
  }

  if (encoder.prototypes.size() != codebooks * kNumPrototypes * input_dim) {
    Fail(context, ": ", encoder.prototypes.size(),
         " prototype values; C * 16 * D = ", codebooks * kNumPrototypes * input_dim, " are needed");
  }
  for (std::size_t c = 0; c < codebooks; ++c) {
    for (std::size_t k = 0; k < kNumPrototypes; ++k) {
      const float* prototype = &encoder.prototypes[(c * kNumPrototypes + k) * input_dim];
      for (std::size_t j = 0; j < input_dim; ++j) {
        if (!std::isfinite(prototype[j])) {
          Fail(context, ": prototype ", k, " of codebook ", c, " has value ", prototype[j],
               " in column ", j, "; prototypes must be finite");
        }
        const bool own_column = owner[j] == static_cast<int>(c);
        if (model.variant == Variant::kPq && !own_column && prototype[j] != 0) {
          Fail(context, ": prototype ", k, " of codebook ", c, " has value ", prototype[j],
               " in column ", j,
               ", outside the codebook's columns; MADDNESS-PQ prototypes are 0 there");
        }
      }
    }
  }

  if (!model.has_tables) return;
  const detail::Tables& tables = model.tables;
  const std::size_t output_dim = tables.output_dim;
  const std::size_t table_bytes = detail::TableBytesPerOutput(num_codebooks);
  if (tables.luts.size() != output_dim * table_bytes) {
    Fail(context, ": ", tables.luts.size(), " table bytes; M * ", table_bytes, " = ",
         output_dim * table_bytes, " are needed");
  }
  if (tables.out_scale.size() != output_dim || tables.out_offset.size() != output_dim) {
    Fail(context, ": ", tables.out_scale.size(), " output scales and ", tables.out_offset.size(),
         " output offsets; M = ", output_dim, " of each are needed");
  }
  for (std::size_t m = 0; m < output_dim; ++m) {
    if (!std::isfinite(tables.out_scale[m]) || !std::isfinite(tables.out_offset[m])) {
      Fail(context, ": output ", m, " has scale ", tables.out_scale[m], " and offset ",
           tables.out_offset[m], "; both must be finite");
    }
    // The padding codebook after an odd C must add nothing to the sums.
    for (std::size_t i = codebooks * kNumPrototypes; i < table_bytes; ++i) {
      if (tables.luts[m * table_bytes + i] != 0) {
        Fail(context, ": output ", m, " has a nonzero entry in the table of padding codebook ",
             num_codebooks, "; it must be all zeros");
      }
    }
  }
}

void AppendSectionHeader(const char* tag, std::size_t payload_bytes,
                         std::vector<std::uint8_t>* out) {
  out->insert(out->end(), tag, tag + 4);
  AppendLittleEndian(static_cast<std::uint64_t>(payload_bytes), out);
}

// Reads the file front to back; every read is within the file because the reader checks the
// total size (derived from the header's counts) before the sections are read.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* bytes, std::size_t offset) : bytes_(bytes), offset_(offset) {}

  template <typename T>
  T Read() {
    const T value = LoadLittleEndian<T>(bytes_ + offset_);
    offset_ += sizeof(T);
    return value;
  }

  void ReadBytes(std::uint8_t* out, std::size_t count) {
    std::memcpy(out, bytes_ + offset_, count);
    offset_ += count;
  }

  // Checks the header of the next section against the tag and size this version expects.
  void ExpectSection(const char* tag, std::size_t payload_bytes) {
    const std::size_t section_offset = offset_;
    if (std::memcmp(bytes_ + offset_, tag, 4) != 0) {
      Fail("model file: expected section '", tag, "' at byte ", section_offset,
           ", found a different tag");
    }
    offset_ += 4;
    const std::uint64_t declared_bytes = Read<std::uint64_t>();
    if (declared_bytes != payload_bytes) {
      Fail("model file: section '", tag, "' at byte ", section_offset, " declares ", declared_bytes,
           " bytes; the header's counts require ", payload_bytes);
    }
  }

 private:
  const std::uint8_t* bytes_;
  std::size_t offset_;
};

}  // namespace

std::vector<std::uint8_t> ReadModelFile(const std::string& path, const std::string& name) {
  std::size_t expected = 0;
  std::vector<std::uint8_t> bytes =
      ReadFileBounded(path, name, kHeaderBytes, [&](const std::uint8_t* prefix, std::size_t size) {
        // A file shorter than the header has been read whole: DeserializeModel says what is
        // wrong with it. Otherwise the header says how long the file must be.
        if (size < kHeaderBytes) return size;
        try {
          expected = ModelFileSize(prefix, size);
        } catch (const Error& error) {
          Fail(name, " (", path, "): ", error.what());
        }
        return expected;
      });
  if (expected != 0 && bytes.size() > expected) {
    Fail(name, " (", path, "): model file: longer than the ", expected,
         " bytes that the counts of its header (D, C, M) give; it has trailing data");
  }
  return bytes;
}

std::vector<std::uint8_t> SerializeModel(const detail::ModelData& model) {
  CheckModel(model, "model to save");
  const detail::Encoder& encoder = model.encoder;
  const std::size_t output_dim = model.has_tables ? model.tables.output_dim : 0;
  const SectionSizes sizes = ComputeSectionSizes(
      kModelFormatVersion, encoder.input_dim, encoder.num_codebooks, model.has_tables, output_dim);

  std::vector<std::uint8_t> bytes(kMagic, kMagic + sizeof(kMagic));
  bytes.reserve(sizes.file);
  AppendLittleEndian(kModelFormatVersion, &bytes);
  AppendLittleEndian(VariantCode(model.variant), &bytes);
  AppendLittleEndian(model.ridge_lambda, &bytes);
  AppendLittleEndian(static_cast<std::uint64_t>(model.num_train_rows), &bytes);
  AppendLittleEndian(static_cast<std::uint64_t>(encoder.input_dim), &bytes);
  AppendLittleEndian(static_cast<std::uint64_t>(output_dim), &bytes);
  AppendLittleEndian(static_cast<std::uint32_t>(encoder.num_codebooks), &bytes);
  AppendLittleEndian(static_cast<std::uint32_t>(model.has_tables ? 1 : 0), &bytes);
  AppendLittleEndian(AggregationCode(model.tables.aggregation), &bytes);
  MADDNESS_DCHECK(bytes.size() == kHeaderBytes);

  AppendSectionHeader(kCodebookBeginTag, sizes.codebook_begin, &bytes);
  for (std::uint32_t begin : encoder.codebook_begin) AppendLittleEndian(begin, &bytes);
  AppendSectionHeader(kColumnsTag, sizes.columns, &bytes);
  for (std::size_t i = 0; i < encoder.input_dim; ++i) {
    AppendLittleEndian(detail::ColumnAt(encoder, i), &bytes);
  }
  AppendSectionHeader(kSplitsTag, sizes.splits, &bytes);
  for (const detail::SplitLevel& split : encoder.splits) {
    AppendLittleEndian(split.dim, &bytes);
    AppendLittleEndian(split.scale, &bytes);
    AppendLittleEndian(split.offset, &bytes);
    for (std::int8_t threshold : split.thresholds) AppendLittleEndian(threshold, &bytes);
  }
  AppendSectionHeader(kPrototypesTag, sizes.prototypes, &bytes);
  for (float value : encoder.prototypes) AppendLittleEndian(value, &bytes);

  if (model.has_tables) {
    AppendSectionHeader(kLutsTag, sizes.luts, &bytes);
    bytes.insert(bytes.end(), model.tables.luts.begin(), model.tables.luts.end());
    AppendSectionHeader(kOutScaleTag, sizes.out_scale, &bytes);
    for (float value : model.tables.out_scale) AppendLittleEndian(value, &bytes);
    AppendSectionHeader(kOutOffsetTag, sizes.out_offset, &bytes);
    for (float value : model.tables.out_offset) AppendLittleEndian(value, &bytes);
  }
  AppendLittleEndian(Crc32(bytes.data(), bytes.size()), &bytes);
  MADDNESS_DCHECK(bytes.size() == sizes.file);
  return bytes;
}

namespace {

// The header's fields, checked (docs/format.md, steps 1 to 3), and the sizes they give.
struct Header {
  std::uint32_t version = 0;
  std::uint32_t variant = 0;
  std::uint64_t input_dim = 0;
  std::uint64_t output_dim = 0;
  std::uint32_t num_codebooks = 0;
  std::uint32_t has_tables = 0;
  std::uint32_t aggregation = 0;
  SectionSizes sizes{};
};

// Needs only the first min(size, kHeaderBytes) bytes.
Header CheckHeader(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) Fail("model file: the file is empty");
  if (std::memcmp(bytes, kMagic, std::min(size, sizeof(kMagic))) != 0) {
    Fail("model file: not a maddness model file (it does not start with \"MADDNESS\")");
  }
  if (size < kVersionOffset + 4) {
    Fail("model file: truncated: ", size, " bytes, too short for the magic and version");
  }
  Header header;
  const auto version = LoadLittleEndian<std::uint32_t>(bytes + kVersionOffset);
  if (version > kModelFormatVersion) {
    Fail("model file: format version ", version, " is newer than this build of maddness reads (",
         "versions 1 to ", kModelFormatVersion, "); upgrade maddness to load it");
  }
  if (version < 1) Fail("model file: format version ", version, " is invalid");
  // Version 2 added the column order (section CCOL); a version 1 file has the identity order.

  if (size < kHeaderBytes) {
    Fail("model file: truncated: ", size, " bytes, shorter than the ", kHeaderBytes,
         "-byte header");
  }
  const auto variant = LoadLittleEndian<std::uint32_t>(bytes + kVariantOffset);
  const auto input_dim = LoadLittleEndian<std::uint64_t>(bytes + kInputDimOffset);
  const auto output_dim = LoadLittleEndian<std::uint64_t>(bytes + kOutputDimOffset);
  const auto num_codebooks = LoadLittleEndian<std::uint32_t>(bytes + kNumCodebooksOffset);
  const auto has_tables = LoadLittleEndian<std::uint32_t>(bytes + kHasTablesOffset);
  const auto aggregation = LoadLittleEndian<std::uint32_t>(bytes + kAggregationOffset);
  // The counts bound every allocation below, so they are checked first.
  if (variant != kVariantMaddness && variant != kVariantPq) {
    Fail("model file: variant code ", variant, " is unknown; 0 (MADDNESS) and 1 (PQ) are valid");
  }
  if (has_tables > 1) Fail("model file: has_tables is ", has_tables, "; it must be 0 or 1");
  CheckCounts(input_dim, num_codebooks, has_tables == 1, output_dim, "model file");
  if (aggregation != kAggregationAveraging && aggregation != kAggregationExactSum) {
    Fail("model file: aggregation code ", aggregation,
         " is unknown; 0 (averaging) and 1 (exact sum) are valid");
  }
  if (has_tables == 0 && output_dim != 0) {
    Fail("model file: output dimension M is ", output_dim,
         " in a model without tables; it must be 0");
  }

  header.version = version;
  header.variant = variant;
  header.input_dim = input_dim;
  header.output_dim = output_dim;
  header.num_codebooks = num_codebooks;
  header.has_tables = has_tables;
  header.aggregation = aggregation;
  header.sizes = ComputeSectionSizes(version, static_cast<std::size_t>(input_dim),
                                     static_cast<int>(num_codebooks), has_tables == 1,
                                     static_cast<std::size_t>(output_dim));
  return header;
}

}  // namespace

std::size_t ModelFileSize(const std::uint8_t* bytes, std::size_t size) {
  return CheckHeader(bytes, size).sizes.file;
}

detail::ModelData DeserializeModel(const std::uint8_t* bytes, std::size_t size) {
  const Header header = CheckHeader(bytes, size);
  const std::uint32_t version = header.version;
  const std::uint32_t variant = header.variant;
  const std::uint64_t input_dim = header.input_dim;
  const std::uint64_t output_dim = header.output_dim;
  const std::uint32_t num_codebooks = header.num_codebooks;
  const std::uint32_t has_tables = header.has_tables;
  const std::uint32_t aggregation = header.aggregation;
  const SectionSizes& sizes = header.sizes;
  if (size < sizes.file) {
    Fail("model file: truncated: ", size, " bytes, but D = ", input_dim, ", C = ", num_codebooks,
         " and M = ", output_dim, " need ", sizes.file);
  }
  if (size > sizes.file) {
    Fail("model file: ", size, " bytes, but D = ", input_dim, ", C = ", num_codebooks,
         " and M = ", output_dim, " need exactly ", sizes.file, "; it has trailing data");
  }
  const std::size_t checksum_offset = size - kChecksumBytes;
  const auto stored_checksum = LoadLittleEndian<std::uint32_t>(bytes + checksum_offset);
  const std::uint32_t actual_checksum = Crc32(bytes, checksum_offset);
  if (stored_checksum != actual_checksum) {
    Fail("model file: checksum mismatch (stored CRC-32 ", stored_checksum, ", computed ",
         actual_checksum, "); the file is corrupt");
  }

  detail::ModelData model;
  model.variant = variant == kVariantPq ? Variant::kPq : Variant::kMaddness;
  model.ridge_lambda = LoadLittleEndian<double>(bytes + kRidgeLambdaOffset);
  model.num_train_rows = LoadLittleEndian<std::uint64_t>(bytes + kNumTrainRowsOffset);
  model.has_tables = has_tables == 1;
  model.tables.aggregation =
      aggregation == kAggregationExactSum ? Aggregation::kExactSum : Aggregation::kAveraging;
  detail::Encoder& encoder = model.encoder;
  encoder.input_dim = static_cast<std::size_t>(input_dim);
  encoder.num_codebooks = static_cast<int>(num_codebooks);

  ByteReader reader(bytes, kHeaderBytes);
  reader.ExpectSection(kCodebookBeginTag, sizes.codebook_begin);
  encoder.codebook_begin.resize(num_codebooks + 1);
  for (std::uint32_t& begin : encoder.codebook_begin) begin = reader.Read<std::uint32_t>();
  if (version >= 2) {
    reader.ExpectSection(kColumnsTag, sizes.columns);
    encoder.columns.resize(encoder.input_dim);
    bool identity = true;
    for (std::size_t i = 0; i < encoder.input_dim; ++i) {
      encoder.columns[i] = reader.Read<std::uint32_t>();
      identity = identity && encoder.columns[i] == i;
    }
    if (identity) encoder.columns.clear();  // the in-memory form of the identity order
  }
  reader.ExpectSection(kSplitsTag, sizes.splits);
  encoder.splits.resize(static_cast<std::size_t>(num_codebooks) * kTreeDepth);
  for (detail::SplitLevel& split : encoder.splits) {
    split.dim = reader.Read<std::uint32_t>();
    split.scale = reader.Read<float>();
    split.offset = reader.Read<float>();
    for (std::int8_t& threshold : split.thresholds) threshold = reader.Read<std::int8_t>();
  }
  reader.ExpectSection(kPrototypesTag, sizes.prototypes);
  encoder.prototypes.resize(sizes.prototypes / sizeof(float));
  for (float& value : encoder.prototypes) value = reader.Read<float>();

  if (model.has_tables) {
    detail::Tables& tables = model.tables;
    tables.output_dim = static_cast<std::size_t>(output_dim);
    reader.ExpectSection(kLutsTag, sizes.luts);
    tables.luts.resize(sizes.luts);
    reader.ReadBytes(tables.luts.data(), tables.luts.size());
    reader.ExpectSection(kOutScaleTag, sizes.out_scale);
    tables.out_scale.resize(tables.output_dim);
    for (float& value : tables.out_scale) value = reader.Read<float>();
    reader.ExpectSection(kOutOffsetTag, sizes.out_offset);
    tables.out_offset.resize(tables.output_dim);
    for (float& value : tables.out_offset) value = reader.Read<float>();
  }

  CheckModel(model, "model file");
  if (model.has_tables) detail::BuildPairTables(model.encoder.num_codebooks, &model.tables);
  return model;
}

}  // namespace maddness::io
