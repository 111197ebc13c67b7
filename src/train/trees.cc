// Hash-tree learning (spec sections 2-4), in the quantized domain.
//
// Each column of A_train is quantized once (ColumnQuantizer) exactly as inference will quantize
// it, and every split is searched, applied and recorded on those quantized values. Training
// buckets therefore equal inference codes by construction (spec 11.1, P7), no threshold ever
// lies between tied values, and no dummy threshold can distort a quantization range (P8, P9).
// The loss is still the float64 SSE of the float data.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <string>

#include "src/common/check.h"
#include "src/common/layout.h"
#include "src/common/parallel.h"
#include "src/train/train.h"

namespace maddness::detail {
namespace {

// pointer + offset, where a null pointer (the data of an empty vector: a process of a distributed
// learning may hold no rows) stays null, since offsetting it is undefined even when unused.
template <typename T>
T* OffsetOrNull(T* pointer, std::size_t offset) {
  return pointer == nullptr ? nullptr : pointer + offset;
}

constexpr int kLevels = 256;

int LevelIndex(std::int8_t value) { return static_cast<int>(value) + 128; }

// Sum over columns of the SSE of a bucket given its count, per-column sums and sum of squares.
double BucketSse(double count, const double* sums, double sum_squares, std::size_t width) {
  if (count <= 0.0) return 0.0;
  double norm = 0.0;
  for (std::size_t j = 0; j < width; ++j) norm += sums[j] * sums[j];
  return std::max(0.0, sum_squares - norm / count);
}

// Learns one codebook's tree. `centered` holds the codebook's columns of every training row,
// minus their column means (N x width, row-major); `quantized` holds the same columns quantized
// (N x width, row-major). The loss is the SSE of `features` (N x feature_width), which are the
// centred columns themselves when empty, or their image in the product's space
// (Objective::kProduct). Writes the four split levels and the training rows' codes.
struct TreeLearner {
  std::vector<float> centered;
  std::vector<std::int8_t> quantized;
  std::vector<float> features;
  std::size_t feature_width = 0;
  // Whether ProjectOntoProduct set `features`. Not features.empty(): a process of a distributed
  // learning may hold no rows, and must still reduce statistics of the same width as the others.
  bool projected = false;
  // Multiplies each column's remaining SSE when choosing candidates (empty: all 1).
  std::vector<double> candidate_weights;
  std::size_t num_rows = 0;
  std::size_t width = 0;
  int candidate_dims = 4;
  // Reduces the statistics over the processes holding other rows (reduce.h).
  const Reducer* reducer = &LocalReducer();

  const float* Features() const { return projected ? features.data() : centered.data(); }
  std::size_t FeatureWidth() const { return projected ? feature_width : width; }

  void Learn(std::uint32_t first_column, const std::vector<ColumnQuantizer>& quantizers,
             SplitLevel* levels, std::uint8_t* codes, std::size_t code_stride) {
    // Rows are kept ordered so that each bucket is a contiguous segment: bucket b is
    // [bounds[b], bounds[b + 1]), and original_row[i] says where row i came from.
    std::vector<std::uint32_t> original_row(num_rows);
    std::iota(original_row.begin(), original_row.end(), 0u);
    std::vector<std::size_t> bounds = {0, num_rows};
    const std::size_t feature_columns = FeatureWidth();
    std::vector<double> norms(num_rows);
    for (std::size_t i = 0; i < num_rows; ++i) {
      const float* x = Features() + i * feature_columns;
      double norm = 0.0;
      for (std::size_t j = 0; j < feature_columns; ++j) norm += static_cast<double>(x[j]) * x[j];
      norms[i] = norm;
    }
    SplitScratch scratch;

    for (int level = 0; level < kTreeDepth; ++level) {
      const std::size_t num_buckets = bounds.size() - 1;
      const std::vector<std::size_t> candidates = CandidateColumns(bounds);

      double best_loss = 0.0;
      bool have_best = false;
      std::size_t best_column = candidates.front();
      std::vector<std::int8_t> best_thresholds;
      std::vector<std::int8_t> thresholds(num_buckets);
      for (const std::size_t candidate : candidates) {
        double total = 0.0;
        bool abandoned = false;
        for (std::size_t b = 0; b < num_buckets; ++b) {
          const std::size_t begin = bounds[b];
          const SplitChoice choice = OptimalSplitContiguous(
              OffsetOrNull(quantized.data(), begin * width + candidate), width,
              OffsetOrNull(Features(), begin * feature_columns), OffsetOrNull(norms.data(), begin),
              bounds[b + 1] - begin, feature_columns, &scratch, *reducer);
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
      Partition(best_column, best_thresholds, &bounds, &original_row, &norms);
    }
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      for (std::size_t i = bounds[b]; i < bounds[b + 1]; ++i) {
        codes[original_row[i] * code_stride] = static_cast<std::uint8_t>(b);
      }
    }
  }

  // Splits every bucket b into 2b (value <= threshold) and 2b + 1, keeping row order within each
  // child, and moves the rows' data accordingly.
  void Partition(std::size_t column, const std::vector<std::int8_t>& thresholds,
                 std::vector<std::size_t>* bounds, std::vector<std::uint32_t>* original_row,
                 std::vector<double>* norms) {
    std::vector<std::size_t> order;
    order.reserve(num_rows);
    std::vector<std::size_t> next_bounds = {0};
    for (std::size_t b = 0; b + 1 < bounds->size(); ++b) {
      for (int side = 0; side < 2; ++side) {
        for (std::size_t i = (*bounds)[b]; i < (*bounds)[b + 1]; ++i) {
          const bool right = quantized[i * width + column] > thresholds[b];
          if (right == (side == 1)) order.push_back(i);
        }
        next_bounds.push_back(order.size());
      }
    }
    std::vector<float> next_centered(centered.size());
    std::vector<float> next_features(features.size());
    std::vector<std::int8_t> next_quantized(quantized.size());
    std::vector<std::uint32_t> next_original(num_rows);
    std::vector<double> next_norms(num_rows);
    for (std::size_t i = 0; i < num_rows; ++i) {
      const std::size_t from = order[i];
      std::copy_n(centered.begin() + static_cast<std::ptrdiff_t>(from * width), width,
                  next_centered.begin() + static_cast<std::ptrdiff_t>(i * width));
      std::copy_n(quantized.begin() + static_cast<std::ptrdiff_t>(from * width), width,
                  next_quantized.begin() + static_cast<std::ptrdiff_t>(i * width));
      if (projected) {
        std::copy_n(features.begin() + static_cast<std::ptrdiff_t>(from * feature_width),
                    feature_width,
                    next_features.begin() + static_cast<std::ptrdiff_t>(i * feature_width));
      }
      next_original[i] = (*original_row)[from];
      next_norms[i] = (*norms)[from];
    }
    centered.swap(next_centered);
    features.swap(next_features);
    quantized.swap(next_quantized);
    original_row->swap(next_original);
    norms->swap(next_norms);
    bounds->swap(next_bounds);
  }

  // The columns to try at this level (spec 4.2): those with the largest remaining per-column SSE
  // (summed over buckets), at most `candidate_dims` of them, in ascending order of SSE with ties
  // broken by ascending column index (so results never depend on sort stability).
  std::vector<std::size_t> CandidateColumns(const std::vector<std::size_t>& bounds) const {
    std::vector<double> column_sse(width, 0.0);
    // Per bucket: the column sums, the column sums of squares and the row count, then reduced.
    const std::size_t bucket_stats = 2 * width + 1;
    std::vector<double> stats((bounds.size() - 1) * bucket_stats, 0.0);
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      double* sums = stats.data() + b * bucket_stats;
      double* squares = sums + width;
      sums[2 * width] = static_cast<double>(bounds[b + 1] - bounds[b]);
      for (std::size_t i = bounds[b]; i < bounds[b + 1]; ++i) {
        const float* x = centered.data() + i * width;
        for (std::size_t j = 0; j < width; ++j) {
          const double value = x[j];
          sums[j] += value;
          squares[j] += value * value;
        }
      }
    }
    reducer->AllReduceSum(stats.data(), stats.size());
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      const double* sums = stats.data() + b * bucket_stats;
      const double* squares = sums + width;
      const double count = sums[2 * width];
      if (count == 0.0) continue;
      for (std::size_t j = 0; j < width; ++j) {
        const double weight = candidate_weights.empty() ? 1.0 : candidate_weights[j];
        column_sse[j] += weight * std::max(0.0, squares[j] - sums[j] * sums[j] / count);
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

// Objective::kProduct: the SSE of a bucket's rows x_c B_c (x_c: the codebook's columns, B_c: the
// matching rows of B) equals the SSE of x_c L for any L with L L^T = B_c B_c^T. With the eigen
// decomposition B_c B_c^T = V diag(e) V^T, L = V diag(sqrt(e)) keeps at most min(width, M)
// columns (computed from the smaller of B_c B_c^T and B_c^T B_c), so the loss costs no more than in
// the input space however large M is. Candidate columns are ranked by their remaining SSE times the
// squared norm of their row of B.
void ProjectOntoProduct(const MatrixView& b, std::uint32_t first, TreeLearner* learner) {
  const auto width = static_cast<Eigen::Index>(learner->width);
  Eigen::MatrixXd rows_of_b(width, static_cast<Eigen::Index>(b.cols));
  for (Eigen::Index j = 0; j < width; ++j) {
    for (Eigen::Index m = 0; m < rows_of_b.cols(); ++m) {
      rows_of_b(j, m) = b(first + static_cast<std::size_t>(j), static_cast<std::size_t>(m));
    }
  }
  learner->candidate_weights.resize(learner->width);
  for (Eigen::Index j = 0; j < width; ++j) {
    learner->candidate_weights[static_cast<std::size_t>(j)] = rows_of_b.row(j).squaredNorm();
  }
  // B_c B_c^T (width x width) and B_c^T B_c (M x M) have the same nonzero eigenvalues e, and
  // with B_c^T B_c = U diag(e) U^T, L = B_c U has L L^T = B_c B_c^T: decompose the smaller one.
  const bool via_outputs = rows_of_b.cols() < width;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(
      via_outputs ? Eigen::MatrixXd(rows_of_b.transpose() * rows_of_b)
                  : Eigen::MatrixXd(rows_of_b * rows_of_b.transpose()));
  const Eigen::VectorXd& values = eigen.eigenvalues();  // ascending
  const double largest = values.size() > 0 ? values(values.size() - 1) : 0.0;
  std::vector<Eigen::Index> kept;
  for (Eigen::Index i = values.size() - 1; i >= 0; --i) {
    if (values(i) > 1e-12 * largest && largest > 0.0) kept.push_back(i);
  }
  if (kept.empty()) return;  // B_c = 0: nothing to learn for the product; keep the input loss
  Eigen::MatrixXd basis(width, static_cast<Eigen::Index>(kept.size()));
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const auto column = static_cast<Eigen::Index>(k);
    if (via_outputs) {
      basis.col(column) = rows_of_b * eigen.eigenvectors().col(kept[k]);
    } else {
      basis.col(column) = eigen.eigenvectors().col(kept[k]) * std::sqrt(values(kept[k]));
    }
  }
  const std::size_t feature_width = kept.size();
  learner->feature_width = feature_width;
  learner->projected = true;
  learner->features.resize(learner->num_rows * feature_width);
  for (std::size_t r = 0; r < learner->num_rows; ++r) {
    const float* x = learner->centered.data() + r * learner->width;
    for (std::size_t k = 0; k < feature_width; ++k) {
      double value = 0.0;
      for (std::size_t j = 0; j < learner->width; ++j) {
        value += static_cast<double>(x[j]) *
                 basis(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(k));
      }
      learner->features[r * feature_width + k] = static_cast<float>(value);
    }
  }
}

}  // namespace

SplitChoice OptimalSplitContiguous(const std::int8_t* quantized, std::size_t quantized_stride,
                                   const float* features, const double* norms, std::size_t n,
                                   std::size_t width, SplitScratch* scratch,
                                   const Reducer& reducer) {
  scratch->level_sums.assign(kLevels * width, 0.0);
  scratch->level_squares.assign(kLevels, 0.0);
  scratch->level_counts.assign(kLevels, 0);
  scratch->total_sums.assign(width, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const int level = LevelIndex(quantized[i * quantized_stride]);
    const float* x = features + i * width;
    double* sums = scratch->level_sums.data() + static_cast<std::size_t>(level) * width;
    for (std::size_t j = 0; j < width; ++j) sums[j] += x[j];
    scratch->level_squares[level] += norms[i];
    scratch->level_counts[level] += 1;
  }
  if (reducer.distributed()) {
    // One reduction of the three histograms; counts travel as doubles (exact below 2^53).
    std::vector<double>& packed = scratch->reduced;
    packed = scratch->level_sums;
    packed.insert(packed.end(), scratch->level_squares.begin(), scratch->level_squares.end());
    for (int level = 0; level < kLevels; ++level) {
      packed.push_back(static_cast<double>(scratch->level_counts[level]));
    }
    reducer.AllReduceSum(packed.data(), packed.size());
    const std::size_t sums_size = scratch->level_sums.size();
    std::copy_n(packed.begin(), sums_size, scratch->level_sums.begin());
    std::copy_n(packed.begin() + static_cast<std::ptrdiff_t>(sums_size), kLevels,
                scratch->level_squares.begin());
    n = 0;
    for (int level = 0; level < kLevels; ++level) {
      scratch->level_counts[level] = static_cast<std::size_t>(packed[sums_size + kLevels + level]);
      n += scratch->level_counts[level];
    }
  }
  double total_squares = 0.0;
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

ColumnStats LearnColumnStats(const TrainingSet& train, const Reducer& reducer) {
  const std::size_t dim = train.cols;
  ColumnStats stats;
  stats.quantizers.resize(dim);
  stats.means.assign(dim, 0.0);
  // Minima and maxima of float values, held in double (exact) for the reduction; the infinite
  // starting values leave the same result as starting from the first row (the data is finite).
  std::vector<double> minima(dim, std::numeric_limits<double>::infinity());
  std::vector<double> maxima(dim, -std::numeric_limits<double>::infinity());
  for (std::size_t r = 0; r < train.rows; ++r) {
    const float* x = train.row(r);
    for (std::size_t j = 0; j < dim; ++j) {
      minima[j] = std::min(minima[j], static_cast<double>(x[j]));
      maxima[j] = std::max(maxima[j], static_cast<double>(x[j]));
      stats.means[j] += x[j];
    }
  }
  reducer.AllReduceMin(minima.data(), dim);
  reducer.AllReduceMax(maxima.data(), dim);
  reducer.AllReduceSum(stats.means.data(), dim);
  std::int64_t total_rows = static_cast<std::int64_t>(train.rows);
  reducer.AllReduceSum(&total_rows, 1);
  for (std::size_t j = 0; j < dim; ++j) {
    stats.quantizers[j] =
        LearnColumnQuantizer(static_cast<float>(minima[j]), static_cast<float>(maxima[j]));
    stats.means[j] /= static_cast<double>(total_rows);
  }
  return stats;
}

SplitChoice OptimalSplit(const std::int8_t* quantized, const float* features, std::size_t n,
                         std::size_t width) {
  std::vector<double> norms(n);
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0.0;
    for (std::size_t j = 0; j < width; ++j) {
      norm += static_cast<double>(features[i * width + j]) * features[i * width + j];
    }
    norms[i] = norm;
  }
  SplitScratch scratch;
  return OptimalSplitContiguous(quantized, 1, features, norms.data(), n, width, &scratch);
}

std::vector<std::uint8_t> LearnTrees(const TrainingSet& train, const LearnOptions& options,
                                     const MatrixView* product_b, Encoder* encoder,
                                     const Reducer& reducer) {
  const std::size_t num_rows = train.rows;
  const std::size_t dim = train.cols;
  const int num_codebooks = options.num_codebooks;
  encoder->input_dim = dim;
  encoder->num_codebooks = num_codebooks;
  encoder->codebook_begin = CodebookBoundaries(dim, num_codebooks);
  encoder->splits.assign(static_cast<std::size_t>(num_codebooks) * kTreeDepth, SplitLevel{});
  encoder->prototypes.assign(static_cast<std::size_t>(num_codebooks) * kNumPrototypes * dim, 0.0f);

  const ColumnStats stats = LearnColumnStats(train, reducer);
  const std::vector<ColumnQuantizer>& quantizers = stats.quantizers;
  const std::vector<double>& means = stats.means;

  std::vector<std::uint8_t> codes(num_rows * static_cast<std::size_t>(num_codebooks));
  // Distributed: one codebook at a time on this thread, so that every process reduces in the same
  // order.
  const int threads = reducer.distributed() ? 1 : ResolveThreads(options.threads);
  std::size_t finished = 0;
  std::mutex progress_mutex;
  ParallelFor(static_cast<std::size_t>(num_codebooks), threads, [&](std::size_t c) {
    const std::uint32_t first = encoder->codebook_begin[c];
    const std::size_t width = encoder->codebook_begin[c + 1] - first;
    TreeLearner learner;
    learner.num_rows = num_rows;
    learner.width = width;
    learner.candidate_dims = options.candidate_dims;
    learner.reducer = &reducer;
    learner.centered.resize(num_rows * width);
    learner.quantized.resize(num_rows * width);
    for (std::size_t r = 0; r < num_rows; ++r) {
      const float* x = train.row(r) + first;
      for (std::size_t j = 0; j < width; ++j) {
        const ColumnQuantizer& q = quantizers[first + j];
        learner.centered[r * width + j] = static_cast<float>(x[j] - means[first + j]);
        learner.quantized[r * width + j] = QuantizeInput(x[j], q.scale, q.offset);
      }
    }
    if (product_b != nullptr) ProjectOntoProduct(*product_b, first, &learner);
    learner.Learn(first, quantizers, &encoder->splits[c * kTreeDepth],
                  OffsetOrNull(codes.data(), c), static_cast<std::size_t>(num_codebooks));

    // MADDNESS-PQ prototypes: bucket means over the codebook's own columns (empty buckets: 0).
    std::vector<double> sums(kNumPrototypes * width, 0.0);
    std::vector<std::int64_t> counts(kNumPrototypes, 0);
    for (std::size_t r = 0; r < num_rows; ++r) {
      const std::size_t code = codes[r * static_cast<std::size_t>(num_codebooks) + c];
      const float* x = train.row(r) + first;
      for (std::size_t j = 0; j < width; ++j) sums[code * width + j] += x[j];
      ++counts[code];
    }
    reducer.AllReduceSum(sums.data(), sums.size());
    reducer.AllReduceSum(counts.data(), counts.size());
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
