// Hash-tree learning (spec sections 2-4), in the quantized domain.
//
// Each column of A_train is quantized once (ColumnQuantizer) exactly as inference will quantize
// it, and every split is searched, applied and recorded on those quantized values. Training
// buckets therefore equal inference codes by construction (spec 11.1, P7), no threshold ever
// lies between tied values, and no dummy threshold can distort a quantization range (P8, P9).
// The loss is still the float64 SSE of the float data.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <string>

#include "src/common/check.h"
#include "src/common/layout.h"
#include "src/common/parallel.h"
#include "src/train/train.h"

namespace maddness::detail {
namespace {

constexpr int kLevels = 256;

int LevelIndex(std::int8_t value) { return static_cast<int>(value) + 128; }

// Sum over columns of the SSE of a bucket given its count, per-column sums and sum of squares.
double BucketSse(double count, const double* sums, double sum_squares, std::size_t width) {
  if (count <= 0.0) return 0.0;
  double norm = 0.0;
  for (std::size_t j = 0; j < width; ++j) norm += sums[j] * sums[j];
  return std::max(0.0, sum_squares - norm / count);
}

// Reusable histogram storage for OptimalSplit.
struct SplitScratch {
  std::vector<double> level_sums;  // kLevels x width
  std::vector<double> level_squares;
  std::vector<std::size_t> level_counts;
  std::vector<double> head_sums;
  std::vector<double> total_sums;
};

SplitChoice OptimalSplitImpl(const std::int8_t* quantized, const float* features,
                             const std::uint32_t* rows, std::size_t n, std::size_t width,
                             std::size_t row_stride, SplitScratch* scratch) {
  scratch->level_sums.assign(kLevels * width, 0.0);
  scratch->level_squares.assign(kLevels, 0.0);
  scratch->level_counts.assign(kLevels, 0);
  scratch->total_sums.assign(width, 0.0);
  double total_squares = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t row = rows != nullptr ? rows[i] : i;
    const int level = LevelIndex(quantized[row]);
    const float* x = features + row * row_stride;
    double* sums = scratch->level_sums.data() + static_cast<std::size_t>(level) * width;
    double squares = 0.0;
    for (std::size_t j = 0; j < width; ++j) {
      const double value = x[j];
      sums[j] += value;
      squares += value * value;
    }
    scratch->level_squares[level] += squares;
    scratch->level_counts[level] += 1;
  }
  for (int level = 0; level < kLevels; ++level) {
    if (scratch->level_counts[level] == 0) continue;
    const double* sums = scratch->level_sums.data() + static_cast<std::size_t>(level) * width;
    for (std::size_t j = 0; j < width; ++j) scratch->total_sums[j] += sums[j];
    total_squares += scratch->level_squares[level];
  }

  SplitChoice best;
  best.threshold = kNoSplitThreshold;
  best.loss = BucketSse(static_cast<double>(n), scratch->total_sums.data(), total_squares, width);
  int last_level = kLevels - 1;
  while (last_level >= 0 && scratch->level_counts[last_level] == 0) --last_level;

  scratch->head_sums.assign(width, 0.0);
  double head_squares = 0.0;
  std::size_t head_count = 0;
  bool found = false;
  for (int level = 0; level < last_level; ++level) {
    if (scratch->level_counts[level] == 0) continue;
    const double* sums = scratch->level_sums.data() + static_cast<std::size_t>(level) * width;
    double head_norm = 0.0;
    double tail_norm = 0.0;
    for (std::size_t j = 0; j < width; ++j) {
      scratch->head_sums[j] += sums[j];
      const double tail = scratch->total_sums[j] - scratch->head_sums[j];
      head_norm += scratch->head_sums[j] * scratch->head_sums[j];
      tail_norm += tail * tail;
    }
    head_squares += scratch->level_squares[level];
    head_count += scratch->level_counts[level];
    const double head_n = static_cast<double>(head_count);
    const double tail_n = static_cast<double>(n - head_count);
    const double loss = std::max(0.0, head_squares - head_norm / head_n) +
                        std::max(0.0, (total_squares - head_squares) - tail_norm / tail_n);
    if (!found || loss < best.loss) {
      best.loss = loss;
      best.threshold = static_cast<std::int8_t>(level - 128);
      found = true;
    }
  }
  return best;
}

// Learns one codebook's tree. `centered` holds the codebook's columns of every training row,
// minus their column means (N x width, row-major); `quantized` holds the same columns quantized
// (N x width, row-major). Writes the four split levels and the training rows' codes.
struct TreeLearner {
  const float* centered;
  const std::int8_t* quantized;
  std::size_t num_rows;
  std::size_t width;
  int candidate_dims;

  void Learn(std::uint32_t first_column, const std::vector<ColumnQuantizer>& quantizers,
             SplitLevel* levels, std::uint8_t* codes, std::size_t code_stride) const {
    // Rows ordered so that each bucket is a contiguous segment; bucket b is
    // [bounds[b], bounds[b + 1]).
    std::vector<std::uint32_t> order(num_rows);
    std::iota(order.begin(), order.end(), 0u);
    std::vector<std::size_t> bounds = {0, num_rows};
    std::vector<std::int8_t> column(num_rows);
    SplitScratch scratch;

    for (int level = 0; level < kTreeDepth; ++level) {
      const std::size_t num_buckets = bounds.size() - 1;
      const std::vector<std::size_t> candidates = CandidateColumns(order, bounds);

      double best_loss = 0.0;
      bool have_best = false;
      std::size_t best_column = candidates.front();
      std::vector<std::int8_t> best_thresholds;
      std::vector<std::int8_t> thresholds(num_buckets);
      for (const std::size_t candidate : candidates) {
        for (std::size_t r = 0; r < num_rows; ++r) column[r] = quantized[r * width + candidate];
        double total = 0.0;
        bool abandoned = false;
        for (std::size_t b = 0; b < num_buckets; ++b) {
          const SplitChoice choice =
              OptimalSplitImpl(column.data(), centered, order.data() + bounds[b],
                               bounds[b + 1] - bounds[b], width, width, &scratch);
          thresholds[b] = choice.threshold;
          total += choice.loss;
          if (have_best && total >= best_loss) {
            abandoned = true;  // cannot beat the best candidate so far
            break;
          }
        }
        if (!abandoned && (!have_best || total < best_loss)) {
          have_best = true;
          best_loss = total;
          best_column = candidate;
          best_thresholds = thresholds;
        }
      }

      SplitLevel& split = levels[level];
      split.dim = first_column + static_cast<std::uint32_t>(best_column);
      split.scale = quantizers[split.dim].scale;
      split.offset = quantizers[split.dim].offset;
      std::fill(std::begin(split.thresholds), std::end(split.thresholds), kNoSplitThreshold);
      std::copy(best_thresholds.begin(), best_thresholds.end(), split.thresholds);

      // Children of bucket b: 2b (value <= threshold), then 2b + 1, each in row order.
      std::vector<std::uint32_t> next_order;
      next_order.reserve(num_rows);
      std::vector<std::size_t> next_bounds = {0};
      for (std::size_t b = 0; b < num_buckets; ++b) {
        const std::int8_t threshold = best_thresholds[b];
        for (int side = 0; side < 2; ++side) {
          for (std::size_t i = bounds[b]; i < bounds[b + 1]; ++i) {
            const std::uint32_t row = order[i];
            const bool right = quantized[row * width + best_column] > threshold;
            if (right == (side == 1)) next_order.push_back(row);
          }
          next_bounds.push_back(next_order.size());
        }
      }
      order.swap(next_order);
      bounds.swap(next_bounds);
    }
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      for (std::size_t i = bounds[b]; i < bounds[b + 1]; ++i) {
        codes[order[i] * code_stride] = static_cast<std::uint8_t>(b);
      }
    }
  }

  // The columns to try at this level (spec 4.2): those with the largest remaining per-column SSE
  // (summed over buckets), at most `candidate_dims` of them, in ascending order of SSE with ties
  // broken by ascending column index (so results never depend on sort stability).
  std::vector<std::size_t> CandidateColumns(const std::vector<std::uint32_t>& order,
                                            const std::vector<std::size_t>& bounds) const {
    std::vector<double> column_sse(width, 0.0);
    std::vector<double> sums(width);
    std::vector<double> squares(width);
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      const std::size_t count = bounds[b + 1] - bounds[b];
      if (count == 0) continue;
      std::fill(sums.begin(), sums.end(), 0.0);
      std::fill(squares.begin(), squares.end(), 0.0);
      for (std::size_t i = bounds[b]; i < bounds[b + 1]; ++i) {
        const float* x = centered + static_cast<std::size_t>(order[i]) * width;
        for (std::size_t j = 0; j < width; ++j) {
          sums[j] += x[j];
          squares[j] += static_cast<double>(x[j]) * x[j];
        }
      }
      for (std::size_t j = 0; j < width; ++j) {
        column_sse[j] += std::max(0.0, squares[j] - sums[j] * sums[j] / static_cast<double>(count));
      }
    }
    std::vector<std::size_t> columns(width);
    std::iota(columns.begin(), columns.end(), std::size_t{0});
    std::sort(columns.begin(), columns.end(), [&](std::size_t left, std::size_t right) {
      if (column_sse[left] != column_sse[right]) return column_sse[left] < column_sse[right];
      return left < right;
    });
    const std::size_t keep = std::min(width, static_cast<std::size_t>(candidate_dims));
    return std::vector<std::size_t>(columns.end() - static_cast<std::ptrdiff_t>(keep),
                                    columns.end());
  }
};

}  // namespace

std::vector<std::uint32_t> CodebookBoundaries(std::size_t input_dim, int num_codebooks) {
  const std::size_t codebooks = static_cast<std::size_t>(num_codebooks);
  const std::size_t base = input_dim / codebooks;
  const std::size_t wider = input_dim % codebooks;
  std::vector<std::uint32_t> bounds(codebooks + 1, 0);
  for (std::size_t c = 0; c < codebooks; ++c) {
    bounds[c + 1] = static_cast<std::uint32_t>(bounds[c] + base + (c < wider ? 1 : 0));
  }
  return bounds;
}

ColumnQuantizer LearnColumnQuantizer(float min_value, float max_value) {
  const double range = static_cast<double>(max_value) - static_cast<double>(min_value);
  const double scale = 255.0 / range;
  const double offset = -127.5 - static_cast<double>(min_value) * scale;
  // Beyond these bounds float32 arithmetic in QuantizeInput would lose the column's resolution or
  // overflow; such a column is treated as constant.
  constexpr double kLimit = 1e30;
  if (!(range > 0.0) || !(scale < kLimit) || !(std::fabs(offset) < kLimit)) return {};
  return {static_cast<float>(scale), static_cast<float>(offset)};
}

SplitChoice OptimalSplit(const std::int8_t* quantized, const float* features, std::size_t n,
                         std::size_t width) {
  SplitScratch scratch;
  return OptimalSplitImpl(quantized, features, nullptr, n, width, width, &scratch);
}

std::vector<std::uint8_t> LearnTrees(const TrainingSet& train, const LearnOptions& options,
                                     Encoder* encoder) {
  const std::size_t num_rows = train.rows;
  const std::size_t dim = train.cols;
  const int num_codebooks = options.num_codebooks;
  encoder->input_dim = dim;
  encoder->num_codebooks = num_codebooks;
  encoder->codebook_begin = CodebookBoundaries(dim, num_codebooks);
  encoder->splits.assign(static_cast<std::size_t>(num_codebooks) * kTreeDepth, SplitLevel{});
  encoder->prototypes.assign(static_cast<std::size_t>(num_codebooks) * kNumPrototypes * dim, 0.0f);

  std::vector<ColumnQuantizer> quantizers(dim);
  std::vector<double> means(dim, 0.0);
  {
    std::vector<float> minima(train.row(0), train.row(0) + dim);
    std::vector<float> maxima = minima;
    for (std::size_t r = 0; r < num_rows; ++r) {
      const float* x = train.row(r);
      for (std::size_t j = 0; j < dim; ++j) {
        minima[j] = std::min(minima[j], x[j]);
        maxima[j] = std::max(maxima[j], x[j]);
        means[j] += x[j];
      }
    }
    for (std::size_t j = 0; j < dim; ++j) {
      quantizers[j] = LearnColumnQuantizer(minima[j], maxima[j]);
      means[j] /= static_cast<double>(num_rows);
    }
  }

  std::vector<std::uint8_t> codes(num_rows * static_cast<std::size_t>(num_codebooks));
  const int threads = ResolveThreads(options.threads);
  std::size_t finished = 0;
  std::mutex progress_mutex;
  ParallelFor(static_cast<std::size_t>(num_codebooks), threads, [&](std::size_t c) {
    const std::uint32_t first = encoder->codebook_begin[c];
    const std::size_t width = encoder->codebook_begin[c + 1] - first;
    std::vector<float> centered(num_rows * width);
    std::vector<std::int8_t> quantized(num_rows * width);
    for (std::size_t r = 0; r < num_rows; ++r) {
      const float* x = train.row(r) + first;
      for (std::size_t j = 0; j < width; ++j) {
        const ColumnQuantizer& q = quantizers[first + j];
        centered[r * width + j] = static_cast<float>(x[j] - means[first + j]);
        quantized[r * width + j] = QuantizeInput(x[j], q.scale, q.offset);
      }
    }
    TreeLearner learner{centered.data(), quantized.data(), num_rows, width, options.candidate_dims};
    learner.Learn(first, quantizers, &encoder->splits[c * kTreeDepth], codes.data() + c,
                  static_cast<std::size_t>(num_codebooks));

    // MADDNESS-PQ prototypes: bucket means over the codebook's own columns (empty buckets: 0).
    std::vector<double> sums(kNumPrototypes * width, 0.0);
    std::vector<std::size_t> counts(kNumPrototypes, 0);
    for (std::size_t r = 0; r < num_rows; ++r) {
      const std::size_t code = codes[r * static_cast<std::size_t>(num_codebooks) + c];
      const float* x = train.row(r) + first;
      for (std::size_t j = 0; j < width; ++j) sums[code * width + j] += x[j];
      ++counts[code];
    }
    float* prototypes = encoder->prototypes.data() + c * kNumPrototypes * dim;
    for (std::size_t k = 0; k < kNumPrototypes; ++k) {
      if (counts[k] == 0) continue;
      for (std::size_t j = 0; j < width; ++j) {
        prototypes[k * dim + first + j] =
            static_cast<float>(sums[k * width + j] / static_cast<double>(counts[k]));
      }
    }
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++finished;
      options.progress(
          Progress{"learning hash trees", finished, static_cast<std::size_t>(num_codebooks)});
    }
  });
  return codes;
}

}  // namespace maddness::detail
