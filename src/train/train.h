// Learning: subspaces, hash trees (split search), split quantization and prototypes.
#ifndef MADDNESS_SRC_TRAIN_TRAIN_H_
#define MADDNESS_SRC_TRAIN_TRAIN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "maddness/maddness.h"
#include "src/common/layout.h"
#include "src/common/model_data.h"
#include "src/train/reduce.h"

namespace maddness::detail {

// Column ranges of the C codebooks (spec 2): C contiguous ranges in order, the first D mod C of
// them one column wider. Returns C + 1 boundaries from 0 to D. Requires 1 <= C <= D.
std::vector<std::uint32_t> CodebookBoundaries(std::size_t input_dim, int num_codebooks);

// The quantization of one input column, learned from its training range [min_value, max_value]:
// QuantizeInput(x) maps min_value to -128 and max_value to 127 in 256 equal steps. A column whose
// range is empty (or too small to scale) gets scale 1, offset 0: it cannot be split usefully.
struct ColumnQuantizer {
  float scale = 1.0f;
  float offset = 0.0f;
};
ColumnQuantizer LearnColumnQuantizer(float min_value, float max_value);

// The best threshold for splitting one bucket on one column (spec 4.3, in the quantized domain).
struct SplitChoice {
  std::int8_t threshold = kNoSplitThreshold;
  double loss = 0.0;  // SSE of the two children over all columns of `features`
};

// Rows with quantized value <= threshold go left (node bit 0), the others right. Among the
// thresholds between distinct quantized values, returns the one minimizing the summed SSE of the
// two children over all `width` feature columns (float64 cumulative sums over the 256 levels; the
// lowest threshold wins ties). With fewer than two distinct values it returns the no-split
// threshold 127 and the bucket's own SSE.
// quantized[r]: the split column's quantized value of row r; features: n x width, row-major.
SplitChoice OptimalSplit(const std::int8_t* quantized, const float* features, std::size_t n,
                         std::size_t width);

// Reusable histogram storage for OptimalSplitContiguous.
struct SplitScratch {
  std::vector<double> level_sums;  // 256 x width
  std::vector<double> level_squares;
  std::vector<std::size_t> level_counts;
  std::vector<double> head_sums;
  std::vector<double> total_sums;
  std::vector<double> reduced;  // the histograms packed for a distributed reduction
};

// OptimalSplit over n contiguous rows: row i has quantized value quantized[i * quantized_stride],
// features features[i * width + j] and squared feature norm norms[i]. With a distributed
// `reducer`, the rows are this process's share of the bucket: the 256-level histograms are summed
// over all processes before the threshold is chosen, and the loss is that of the whole bucket.
SplitChoice OptimalSplitContiguous(const std::int8_t* quantized, std::size_t quantized_stride,
                                   const float* features, const double* norms, std::size_t n,
                                   std::size_t width, SplitScratch* scratch,
                                   const Reducer& reducer = LocalReducer());

// The rows to learn from: all of them, or `max_rows` drawn without replacement with `seed`
// (a partial Fisher-Yates shuffle with a fixed generator), kept in their original order.
std::vector<std::size_t> SampleRows(std::size_t num_rows, std::size_t max_rows, std::uint64_t seed);

// A contiguous float32 copy of the training rows.
struct TrainingSet {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;  // rows x cols, row-major
  const float* row(std::size_t r) const { return values.data() + r * cols; }
};

// Per-column quantizers (from the training range) and means of the training rows.
struct ColumnStats {
  std::vector<ColumnQuantizer> quantizers;
  std::vector<double> means;
};
// With a distributed `reducer`, over the training rows of all processes.
ColumnStats LearnColumnStats(const TrainingSet& train, const Reducer& reducer = LocalReducer());

// Learns the trees of all codebooks and the MADDNESS-PQ prototypes (bucket means in each
// codebook's own columns). Fills encoder.{input_dim, num_codebooks, codebook_begin, splits,
// prototypes} and returns the training codes, N x C row-major, equal to what the encoder gives.
// With `product_b` (D x M), splits minimize the error of the product rows x B instead of the
// rows x (Objective::kProduct). With a distributed `reducer`, `train` is this process's share
// of the rows: every statistic is reduced over all processes (reduce.h) and the codes returned
// are those of the local rows.
std::vector<std::uint8_t> LearnTrees(const TrainingSet& train, const LearnOptions& options,
                                     const MatrixView* product_b, Encoder* encoder,
                                     const Reducer& reducer = LocalReducer());

// Refines the prototypes by ridge regression (spec 5.2): with G the one-hot matrix of `codes`
// (N x 16C) and R = X - G P0, solves (G^T G + lambda I) W = G^T R in float64 (Cholesky) and sets
// prototypes = P0 + W. Throws Error when lambda = 0 leaves the system singular. With a
// distributed `reducer`, G^T G and G^T X are summed over the rows of all processes.
void FitRidgePrototypes(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                        double ridge_lambda, int threads, Encoder* encoder,
                        const Reducer& reducer = LocalReducer());

// Candidate multiples of LearnOptions::ridge_lambda for ChoosePrototypes, and the largest system
// (16 C unknowns) it handles; beyond that it keeps the base lambda and the ridge prototypes.
inline constexpr double kLambdaFactors[] = {1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0};
inline constexpr std::size_t kMaxLambdaSearchUnknowns = 1024;
// ChoosePrototypes counts each degree of freedom of the ridge step this many times in its GCV
// score. Plain GCV (1) under-regularizes on small samples, and the trees, fitted to the same rows,
// make every training residual look smaller than a new row's; 1.4 is the weight commonly used
// against the first. Measured on the UCR sets and digits (docs/design.md): with 1, the ridge step
// was chosen and lost to the bucket means on the test rows in 5 of 42 cells; with 1.4 in none.
inline constexpr double kGcvFreedomWeight = 1.4;

// What LearnOptions::choose_ridge_lambda chooses for the prototypes.
struct PrototypeChoice {
  double lambda = 1.0;        // the ridge parameter
  bool bucket_means = false;  // keep the bucket means (the MADDNESS-PQ prototypes) instead
};

// With the trees fixed (`codes`, and the bucket means of `encoder`'s codebook columns), the
// prototypes whose tables have the smallest generalized cross-validation error over the training
// rows (with degrees of freedom weighted by kGcvFreedomWeight), in the product space rows x B (`b`
// is D x M in the columns of `train`): the ridge step with lambda among base_lambda *
// kLambdaFactors, or none at all (the bucket means, the limit of an infinite lambda). Ties keep the
// bucket means, then the smaller lambda.
PrototypeChoice ChoosePrototypes(const TrainingSet& train, const std::vector<std::uint8_t>& codes,
                                 const MatrixView& b, const Encoder& encoder, double base_lambda);

// The whole of learning: samples rows, learns the trees, and (for kMaddness) fits the prototypes.
// `b` (may be null) is used when options.objective is kProduct. Inputs must already be validated
// (finite, 1 <= C <= D). With a distributed `reducer`, `a_train` is this process's share of the
// rows (possibly none), the sample is drawn from it, *num_train_rows counts the rows of all
// processes and the encoder is the same on every process.
// When `prototypes` is not null it receives the ridge parameter the prototypes were fitted with
// and whether they are the bucket means (LearnOptions::choose_ridge_lambda may choose another
// parameter than options.ridge_lambda, or the bucket means; kPq always has bucket means).
Encoder LearnEncoder(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                     std::uint64_t* num_train_rows, const Reducer& reducer = LocalReducer(),
                     PrototypeChoice* prototypes = nullptr);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_TRAIN_TRAIN_H_
