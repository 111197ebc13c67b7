// Tests of the model file format (docs/format.md, src/io/model_file.h): every field round trips,
// the documented offsets, the version 1 file, every truncation and every single-byte corruption.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/io/model_file.h"
#include "tests/testers/io_helpers.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "these tests build little-endian payloads with memcpy");

namespace maddness::io {
namespace {

// ---------------------------------------------------------------------------------------------
// Model file

// A small, consistent model: D = 5 columns in C = 3 codebooks owning columns {3, 0}, {4, 1} and
// {2} (column order 3, 0, 4, 1, 2), with tables for M = 4 outputs when `with_tables`.
detail::ModelData MakeModel(bool with_tables, Variant variant = Variant::kMaddness) {
  detail::ModelData model;
  model.variant = variant;
  model.ridge_lambda = 0.75;
  model.num_train_rows = 1234;
  detail::Encoder& encoder = model.encoder;
  encoder.input_dim = 5;
  encoder.num_codebooks = 3;
  encoder.codebook_begin = {0, 2, 4, 5};
  encoder.columns = {3, 0, 4, 1, 2};
  for (int c = 0; c < 3; ++c) {
    const std::uint32_t width = encoder.codebook_begin[c + 1] - encoder.codebook_begin[c];
    for (int level = 0; level < kTreeDepth; ++level) {
      detail::SplitLevel split;
      split.dim =
          encoder.columns[encoder.codebook_begin[c] + static_cast<std::uint32_t>(level) % width];
      split.scale = 0.5f + static_cast<float>(c + level);
      split.offset = -1.25f * static_cast<float>(level) + 0.5f * static_cast<float>(c);
      for (int node = 0; node < 16; ++node) {
        split.thresholds[node] =
            node < (1 << level)
                ? static_cast<std::int8_t>((node * 37 + c * 11 + level * 5) % 256 - 128)
                : detail::kNoSplitThreshold;
      }
      encoder.splits.push_back(split);
    }
  }
  const std::vector<int> owner = detail::ColumnOwners(encoder);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t k = 0; k < 16; ++k) {
      for (std::size_t j = 0; j < 5; ++j) {
        const bool own_column = owner[j] == static_cast<int>(c);
        const float value = 0.01f * static_cast<float>((c * 16 + k) * 5 + j) - 1.0f;
        encoder.prototypes.push_back(variant == Variant::kPq && !own_column ? 0.0f : value);
      }
    }
  }
  model.tables.aggregation = Aggregation::kExactSum;
  model.has_tables = with_tables;
  if (with_tables) {
    detail::Tables& tables = model.tables;
    tables.output_dim = 4;
    const std::size_t table_bytes = detail::TableBytesPerOutput(3);
    tables.luts.resize(4 * table_bytes);
    for (std::size_t m = 0; m < 4; ++m) {
      // Entries of the padding codebook (index 3, bytes 48..63) stay zero.
      for (std::size_t i = 0; i < 3 * 16; ++i) {
        tables.luts[m * table_bytes + i] = static_cast<std::uint8_t>((m * 64 + i) * 7 + 3);
      }
      tables.out_scale.push_back(0.1f * static_cast<float>(m + 1));
      tables.out_offset.push_back(-2.5f + static_cast<float>(m));
    }
  }
  return model;
}

void ExpectModelsEqual(const detail::ModelData& expected, const detail::ModelData& actual) {
  EXPECT_EQ(expected.variant, actual.variant);
  EXPECT_EQ(expected.ridge_lambda, actual.ridge_lambda);
  EXPECT_EQ(expected.num_train_rows, actual.num_train_rows);
  EXPECT_EQ(expected.encoder.input_dim, actual.encoder.input_dim);
  EXPECT_EQ(expected.encoder.num_codebooks, actual.encoder.num_codebooks);
  EXPECT_EQ(expected.encoder.codebook_begin, actual.encoder.codebook_begin);
  EXPECT_EQ(expected.encoder.columns, actual.encoder.columns);
  ASSERT_EQ(expected.encoder.splits.size(), actual.encoder.splits.size());
  for (std::size_t i = 0; i < expected.encoder.splits.size(); ++i) {
    const detail::SplitLevel& want = expected.encoder.splits[i];
    const detail::SplitLevel& got = actual.encoder.splits[i];
    EXPECT_EQ(want.dim, got.dim) << "split " << i;
    EXPECT_EQ(want.scale, got.scale) << "split " << i;
    EXPECT_EQ(want.offset, got.offset) << "split " << i;
    EXPECT_EQ(0, std::memcmp(want.thresholds, got.thresholds, sizeof(want.thresholds)))
        << "split " << i;
  }
  EXPECT_EQ(expected.encoder.prototypes, actual.encoder.prototypes);
  EXPECT_EQ(expected.has_tables, actual.has_tables);
  EXPECT_EQ(expected.tables.aggregation, actual.tables.aggregation);
  if (expected.has_tables) {
    EXPECT_EQ(expected.tables.output_dim, actual.tables.output_dim);
    EXPECT_EQ(expected.tables.luts, actual.tables.luts);
    EXPECT_EQ(expected.tables.out_scale, actual.tables.out_scale);
    EXPECT_EQ(expected.tables.out_offset, actual.tables.out_offset);
  }
}

// Byte offsets in the file of MakeModel(true), from the layout in docs/format.md.
constexpr std::size_t kHeaderBytes = 60;
constexpr std::size_t kSectionHeaderBytes = 12;
constexpr std::size_t kCodebookBeginAt = kHeaderBytes + kSectionHeaderBytes;      // 4 x u32
constexpr std::size_t kColumnsAt = kCodebookBeginAt + 16 + kSectionHeaderBytes;   // 5 x u32
constexpr std::size_t kSplitsAt = kColumnsAt + 20 + kSectionHeaderBytes;          // 12 x 28
constexpr std::size_t kPrototypesAt = kSplitsAt + 12 * 28 + kSectionHeaderBytes;  // 240 x f32
constexpr std::size_t kLutsAt = kPrototypesAt + 240 * 4 + kSectionHeaderBytes;    // 4 x 64
constexpr std::size_t kOutScaleAt = kLutsAt + 4 * 64 + kSectionHeaderBytes;       // 4 x f32
constexpr std::size_t kOutOffsetAt = kOutScaleAt + 16 + kSectionHeaderBytes;      // 4 x f32
constexpr std::size_t kFileBytes = kOutOffsetAt + 16 + 4;

std::size_t SplitAt(std::size_t codebook, std::size_t level) {
  return kSplitsAt + (codebook * kTreeDepth + level) * 28;
}

template <typename T>
void Poke(std::vector<std::uint8_t>* bytes, std::size_t offset, T value) {
  std::memcpy(bytes->data() + offset, &value, sizeof(T));
}

// Recomputes the trailing CRC-32, so that a crafted file passes the checksum.
void FixChecksum(std::vector<std::uint8_t>* bytes) {
  const std::size_t body = bytes->size() - 4;
  Poke(bytes, body, static_cast<std::uint32_t>(crc32(0L, bytes->data(), static_cast<uInt>(body))));
}

std::string DeserializeError(const std::vector<std::uint8_t>& bytes) {
  const std::string message = ErrorMessageOf([&] { DeserializeModel(bytes.data(), bytes.size()); });
  ExpectContainsAll(message, {"model file: "});
  return message;
}

// The model file with a change at `offset` and a valid checksum.
template <typename T>
std::string ErrorForField(std::size_t offset, T value) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  Poke(&bytes, offset, value);
  FixChecksum(&bytes);
  return DeserializeError(bytes);
}

TEST(ModelFileTest, RoundTripsEveryField) {
  for (bool with_tables : {false, true}) {
    for (Variant variant : {Variant::kMaddness, Variant::kPq}) {
      SCOPED_TRACE(::testing::Message()
                   << "tables " << with_tables << ", variant " << static_cast<int>(variant));
      const detail::ModelData model = MakeModel(with_tables, variant);
      const std::vector<std::uint8_t> bytes = SerializeModel(model);
      ExpectModelsEqual(model, DeserializeModel(bytes.data(), bytes.size()));
    }
  }
  EXPECT_EQ(SerializeModel(MakeModel(true)).size(), kFileBytes);
}

TEST(ModelFileTest, LayoutMatchesTheDocumentedOffsets) {
  const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "MADDNESS");
  auto u32_at = [&](std::size_t offset) {
    std::uint32_t value;
    std::memcpy(&value, &bytes[offset], 4);
    return value;
  };
  auto u64_at = [&](std::size_t offset) {
    std::uint64_t value;
    std::memcpy(&value, &bytes[offset], 8);
    return value;
  };
  EXPECT_EQ(u32_at(8), 2u);      // format version
  EXPECT_EQ(u32_at(12), 0u);     // variant MADDNESS
  EXPECT_EQ(u64_at(24), 1234u);  // num_train_rows
  EXPECT_EQ(u64_at(32), 5u);     // D
  EXPECT_EQ(u64_at(40), 4u);     // M
  EXPECT_EQ(u32_at(48), 3u);     // C
  EXPECT_EQ(u32_at(52), 1u);     // has_tables
  EXPECT_EQ(u32_at(56), 1u);     // aggregation: exact sum
  EXPECT_EQ(std::string(bytes.begin() + 60, bytes.begin() + 64), "CBEG");
  EXPECT_EQ(u64_at(64), 16u);
  EXPECT_EQ(u32_at(kCodebookBeginAt + 12), 5u);  // codebook_begin[3] = D
  EXPECT_EQ(std::string(bytes.begin() + kColumnsAt - 12, bytes.begin() + kColumnsAt - 8), "CCOL");
  EXPECT_EQ(u64_at(kColumnsAt - 8), 20u);
  EXPECT_EQ(u32_at(kColumnsAt), 3u);  // the column order starts with column 3
  EXPECT_EQ(std::string(bytes.begin() + kSplitsAt - 12, bytes.begin() + kSplitsAt - 8), "SPLT");
  EXPECT_EQ(u32_at(SplitAt(2, 0)), 2u);  // codebook 2 (column order position 4) splits on column 2
  EXPECT_EQ(std::string(bytes.begin() + kLutsAt - 12, bytes.begin() + kLutsAt - 8), "LUTS");
  EXPECT_EQ(std::string(bytes.begin() + kOutOffsetAt - 12, bytes.begin() + kOutOffsetAt - 8),
            "OOFF");
  EXPECT_EQ(u32_at(kFileBytes - 4), crc32(0L, bytes.data(), kFileBytes - 4));
}

// The model stored in kGoldenVersion1File.
detail::ModelData MakeTinyModel() {
  detail::ModelData model;
  model.variant = Variant::kPq;
  model.ridge_lambda = 0.25;
  model.num_train_rows = 42;
  model.encoder.input_dim = 2;
  model.encoder.num_codebooks = 1;
  model.encoder.codebook_begin = {0, 2};
  for (int level = 0; level < kTreeDepth; ++level) {
    detail::SplitLevel split;
    split.dim = static_cast<std::uint32_t>(level % 2);
    split.scale = 1.5f * static_cast<float>(level + 1);
    split.offset = 0.25f * static_cast<float>(level) - 0.5f;
    for (int node = 0; node < 16; ++node) {
      split.thresholds[node] = node < (1 << level)
                                   ? static_cast<std::int8_t>(node * 16 - 100 + level)
                                   : detail::kNoSplitThreshold;
    }
    model.encoder.splits.push_back(split);
  }
  for (int k = 0; k < 16; ++k) {
    for (int j = 0; j < 2; ++j)
      model.encoder.prototypes.push_back(0.5f * k - static_cast<float>(j));
  }
  model.has_tables = true;
  model.tables.output_dim = 1;
  model.tables.aggregation = Aggregation::kAveraging;
  model.tables.luts.assign(32, 0);
  for (int i = 0; i < 16; ++i) model.tables.luts[i] = static_cast<std::uint8_t>(i * 15 + 1);
  model.tables.out_scale = {0.125f};
  model.tables.out_offset = {-3.0f};
  return model;
}

// A version 1 file as the format's first release wrote MakeTinyModel(). Later releases must keep
// loading it; if the writer's bytes change, the format changed and needs a new version.
const std::vector<std::uint8_t> kGoldenVersion1File = {
    0x4d, 0x41, 0x44, 0x44, 0x4e, 0x45, 0x53, 0x53, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x43, 0x42, 0x45, 0x47,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x53, 0x50, 0x4c, 0x54, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xbf, 0x9c, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x40,
    0x00, 0x00, 0x80, 0xbe, 0x9d, 0xad, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0x00, 0x00,
    0x9e, 0xae, 0xbe, 0xce, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x40, 0x00, 0x00, 0x80, 0x3e, 0x9f, 0xaf, 0xbf, 0xcf,
    0xdf, 0xef, 0xff, 0x0f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x50, 0x52, 0x4f, 0x54,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xbf,
    0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x80, 0x3f,
    0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x00, 0x40,
    0x00, 0x00, 0x60, 0x40, 0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0x40, 0x40,
    0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0x60, 0x40, 0x00, 0x00, 0xa0, 0x40, 0x00, 0x00, 0x80, 0x40,
    0x00, 0x00, 0xb0, 0x40, 0x00, 0x00, 0x90, 0x40, 0x00, 0x00, 0xc0, 0x40, 0x00, 0x00, 0xa0, 0x40,
    0x00, 0x00, 0xd0, 0x40, 0x00, 0x00, 0xb0, 0x40, 0x00, 0x00, 0xe0, 0x40, 0x00, 0x00, 0xc0, 0x40,
    0x00, 0x00, 0xf0, 0x40, 0x00, 0x00, 0xd0, 0x40, 0x4c, 0x55, 0x54, 0x53, 0x20, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x10, 0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6,
    0xb5, 0xc4, 0xd3, 0xe2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x4f, 0x53, 0x43, 0x4c, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x3e, 0x4f, 0x4f, 0x46, 0x46, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x40, 0xc0, 0x30, 0xe0, 0x51, 0x79};

TEST(ModelFileTest, LoadsGoldenVersion1File) {
  const detail::ModelData loaded =
      DeserializeModel(kGoldenVersion1File.data(), kGoldenVersion1File.size());
  ExpectModelsEqual(MakeTinyModel(), loaded);
  EXPECT_TRUE(loaded.encoder.columns.empty());  // version 1: contiguous codebooks
  // Saved again, it becomes a version 2 file: the same bytes with the identity column order
  // (section CCOL) after the codebook starts.
  const std::vector<std::uint8_t> saved = SerializeModel(loaded);
  ASSERT_EQ(saved.size(), kGoldenVersion1File.size() + kSectionHeaderBytes + 2 * 4);
  EXPECT_EQ(saved[8], 2);
  const std::size_t columns_at = kHeaderBytes + kSectionHeaderBytes + 2 * 4;
  EXPECT_EQ(std::string(saved.begin() + columns_at, saved.begin() + columns_at + 4), "CCOL");
  EXPECT_TRUE(
      std::equal(saved.begin() + 12, saved.begin() + columns_at, kGoldenVersion1File.begin() + 12));
  EXPECT_TRUE(std::equal(saved.begin() + columns_at + kSectionHeaderBytes + 8, saved.end() - 4,
                         kGoldenVersion1File.begin() + columns_at, kGoldenVersion1File.end() - 4));
  ExpectModelsEqual(loaded, DeserializeModel(saved.data(), saved.size()));
}

TEST(ModelFileTest, RejectsInvalidColumnOrders) {
  ExpectContainsAll(ErrorForField(kColumnsAt + 4, std::uint32_t{3}),
                    {"entry 1 of the column order is 3", "exactly once"});
  ExpectContainsAll(ErrorForField(kColumnsAt, std::uint32_t{5}),
                    {"entry 0 of the column order is 5", "[0, D = 5)"});
  // Column 3 belongs to codebook 0, so codebook 1 may not split on it.
  ExpectContainsAll(
      ErrorForField(SplitAt(1, 0), std::uint32_t{3}),
      {"codebook 1, level 0 splits on column 3", "not one of the codebook's columns"});
}

TEST(ModelFileTest, EveryTruncationThrows) {
  for (bool with_tables : {false, true}) {
    const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(with_tables));
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      EXPECT_THROW(DeserializeModel(bytes.data(), size), Error) << "prefix of " << size << " bytes";
    }
    std::vector<std::uint8_t> longer = bytes;
    longer.push_back(0);
    ExpectContainsAll(DeserializeError(longer), {"trailing data"});
  }
  ExpectContainsAll(ErrorMessageOf([] { DeserializeModel(nullptr, 0); }), {"empty"});
}

TEST(ModelFileTest, EverySingleByteCorruptionThrows) {
  const std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true));
  for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
    for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
      std::vector<std::uint8_t> corrupt = bytes;
      corrupt[offset] ^= flip;
      EXPECT_THROW(DeserializeModel(corrupt.data(), corrupt.size()), Error)
          << "byte " << offset << " xor " << static_cast<int>(flip);
    }
  }
  std::vector<std::uint8_t> corrupt = bytes;
  corrupt[kPrototypesAt + 5] ^= 0x10;
  ExpectContainsAll(DeserializeError(corrupt), {"checksum mismatch"});
}

TEST(ModelFileTest, RejectsBadMagicAndOtherVersions) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(false));
  bytes[3] = 'X';
  ExpectContainsAll(DeserializeError(bytes), {"not a maddness model file"});

  ExpectContainsAll(ErrorForField(8, std::uint32_t{3}), {"format version 3", "newer", "upgrade"});
  // A version 2 file relabelled as version 1 lacks nothing but has a section too many.
  ExpectContainsAll(ErrorForField(8, std::uint32_t{1}), {"trailing data"});
  ExpectContainsAll(ErrorForField(8, std::uint32_t{0}), {"format version 0", "invalid"});
}

TEST(ModelFileTest, RejectsCountsOutOfRangeBeforeAllocating) {
  ExpectContainsAll(ErrorForField(48, std::uint32_t{6}),
                    {"C = 6", "larger than the input dimension D = 5"});
  ExpectContainsAll(ErrorForField(48, std::uint32_t{0}), {"codebooks C is 0"});
  ExpectContainsAll(ErrorForField(48, std::uint32_t{0xffffffff}), {"codebooks C is 4294967295"});
  ExpectContainsAll(ErrorForField(32, std::uint64_t{0}), {"input dimension D is 0"});
  ExpectContainsAll(ErrorForField(32, std::uint64_t{1} << 62), {"input dimension D is"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{1} << 40), {"output dimension M is"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{0}), {"output dimension M is 0"});
  // Within the limits but larger than the file: a size error, not an allocation.
  ExpectContainsAll(ErrorForField(32, std::uint64_t{1} << 20), {"truncated"});
  ExpectContainsAll(ErrorForField(40, std::uint64_t{1000}), {"truncated"});
  ExpectContainsAll(ErrorForField(12, std::uint32_t{7}), {"variant code 7"});
  ExpectContainsAll(ErrorForField(52, std::uint32_t{2}), {"has_tables is 2"});
  ExpectContainsAll(ErrorForField(56, std::uint32_t{9}), {"aggregation code 9"});

  std::vector<std::uint8_t> no_tables = SerializeModel(MakeModel(false));
  Poke(&no_tables, 40, std::uint64_t{3});
  FixChecksum(&no_tables);
  ExpectContainsAll(DeserializeError(no_tables), {"without tables"});
}

TEST(ModelFileTest, RejectsInconsistentSections) {
  ExpectContainsAll(ErrorForField(kSplitsAt - 12, 'X'), {"expected section 'SPLT'"});
  // Sizes that move bytes between sections keep the total but not the section layout.
  ExpectContainsAll(ErrorForField(kLutsAt - 8, std::uint64_t{255}),
                    {"section 'LUTS'", "declares 255 bytes", "256"});
}

TEST(ModelFileTest, RejectsInvalidFieldsUnderAValidChecksum) {
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 4, std::uint32_t{0}),
                    {"codebook 0 has columns [0, 0)"});
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 12, std::uint32_t{4}),
                    {"cover exactly [0, D = 5)"});
  ExpectContainsAll(ErrorForField(kCodebookBeginAt + 8, std::uint32_t{7}),
                    {"codebook 2 has columns [7, 5)"});
  ExpectContainsAll(
      ErrorForField(SplitAt(0, 2), std::uint32_t{2}),
      {"codebook 0, level 2 splits on column 2", "not one of the codebook's columns"});
  ExpectContainsAll(ErrorForField(SplitAt(2, 3), std::uint32_t{3}),
                    {"codebook 2, level 3 splits on column 3"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, 0.0f), {"scale 0", "> 0"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, -1.0f), {"scale -1"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 4, std::nanf("")), {"scale nan"});
  ExpectContainsAll(ErrorForField(SplitAt(1, 1) + 8, INFINITY), {"offset inf"});
  // Level 2 uses threshold slots 0..3; slot 4 must hold 127.
  ExpectContainsAll(ErrorForField(SplitAt(1, 2) + 12 + 4, std::int8_t{5}),
                    {"threshold 5 in unused slot 4"});
  ExpectContainsAll(ErrorForField(kPrototypesAt + 4 * 7, std::nanf("")),
                    {"prototype 1 of codebook 0", "column 2", "finite"});
  ExpectContainsAll(ErrorForField(kLutsAt + 64 + 50, std::uint8_t{1}),
                    {"output 1", "padding codebook 3"});
  ExpectContainsAll(ErrorForField(kOutScaleAt + 8, INFINITY), {"output 2 has scale inf"});
  ExpectContainsAll(ErrorForField(kOutOffsetAt, -NAN), {"output 0", "offset -nan"});
  ExpectContainsAll(ErrorForField(16, -1.0), {"ridge lambda is -1"});
}

TEST(ModelFileTest, RejectsPqPrototypesOutsideTheirColumns) {
  std::vector<std::uint8_t> bytes = SerializeModel(MakeModel(true, Variant::kPq));
  Poke(&bytes, kPrototypesAt + 4 * 2, 0.5f);  // codebook 0 (columns 3 and 0), prototype 0, column 2
  FixChecksum(&bytes);
  ExpectContainsAll(DeserializeError(bytes), {"prototype 0 of codebook 0", "column 2", "PQ"});
}

TEST(ModelFileTest, RefusesToSaveAnInvalidModel) {
  detail::ModelData model = MakeModel(true);
  model.encoder.splits[5].dim = 0;
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }),
                    {"model to save: codebook 1, level 1 splits on column 0"});
  model = MakeModel(true);
  model.tables.luts.pop_back();
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }),
                    {"model to save", "table bytes"});
  model = MakeModel(false);
  model.encoder.num_codebooks = -1;
  ExpectContainsAll(ErrorMessageOf([&] { SerializeModel(model); }), {"codebooks C is -1"});
}

}  // namespace
}  // namespace maddness::io
