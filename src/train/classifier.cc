// Classifier-aware tables: a softmax cross-entropy fit of the float tables on the training codes,
// solved with L-BFGS (LBFGS++, Debian liblbfgspp-dev).
#include "src/train/classifier.h"

#include <LBFGS.h>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "src/common/check.h"
#include "src/common/eigen_matrix.h"
#include "src/common/layout.h"
#include "src/common/parallel.h"
#include "src/encode/encode.h"

namespace maddness::detail {
namespace {

// Rows per task and tasks per wave: each task sums its own partial gradient, and the partials
// are added in task order, so the result does not depend on the number of threads.
constexpr std::size_t kChunkRows = 2048;
constexpr std::size_t kWaveChunks = 8;

// Accuracy and mean cross-entropy of tables (layout [c][k][m]) on held-out rows' codes.
class HoldoutScorer {
 public:
  struct Score {
    double accuracy = 0.0;
    double loss = HUGE_VAL;
    // Higher accuracy wins; at equal accuracy, the lower cross-entropy.
    bool BetterThan(const Score& other) const {
      return accuracy > other.accuracy || (accuracy == other.accuracy && loss < other.loss);
    }
  };

  HoldoutScorer(std::size_t num_codebooks, std::size_t num_outputs, std::vector<std::uint8_t> codes,
                std::vector<std::int32_t> targets, std::vector<double> bias)
      : codebooks_(num_codebooks),
        outputs_(num_outputs),
        codes_(std::move(codes)),
        targets_(std::move(targets)),
        bias_(std::move(bias)) {}

  Score operator()(const double* tables) const {
    std::vector<double> scores(outputs_);
    std::size_t correct = 0;
    double loss = 0.0;
    for (std::size_t r = 0; r < targets_.size(); ++r) {
      const std::uint8_t* codes = codes_.data() + r * codebooks_;
      for (std::size_t m = 0; m < outputs_; ++m) scores[m] = bias_[m];
      for (std::size_t c = 0; c < codebooks_; ++c) {
        const double* entry = tables + (c * kNumPrototypes + codes[c]) * outputs_;
        for (std::size_t m = 0; m < outputs_; ++m) scores[m] += entry[m];
      }
      const std::size_t best =
          static_cast<std::size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
      const auto target = static_cast<std::size_t>(targets_[r]);
      correct += best == target;
      double normalizer = 0.0;
      for (std::size_t m = 0; m < outputs_; ++m) normalizer += std::exp(scores[m] - scores[best]);
      loss += scores[best] + std::log(normalizer) - scores[target];
    }
    const double count = static_cast<double>(std::max<std::size_t>(1, targets_.size()));
    return Score{static_cast<double>(correct) / count, loss / count};
  }

 private:
  std::size_t codebooks_;
  std::size_t outputs_;
  std::vector<std::uint8_t> codes_;    // rows x C
  std::vector<std::int32_t> targets_;  // rows
  std::vector<double> bias_;           // M
};

// The objective and its gradient, in the form LBFGS++ calls.
class TableObjective {
 public:
  TableObjective(std::size_t num_rows, std::size_t num_codebooks, std::size_t num_outputs,
                 std::vector<std::uint8_t> codes, std::vector<double> exact,
                 std::vector<double> bias, std::vector<std::int32_t> labels, double mse_weight,
                 double ridge, int threads, const HoldoutScorer* scorer)
      : rows_(num_rows),
        codebooks_(num_codebooks),
        outputs_(num_outputs),
        entries_(num_codebooks * kNumPrototypes),
        codes_(std::move(codes)),
        exact_(std::move(exact)),
        bias_(std::move(bias)),
        labels_(std::move(labels)),
        mse_weight_(mse_weight),
        ridge_(ridge),
        threads_(threads),
        scorer_(scorer),
        partial_gradients_(kWaveChunks * num_outputs * num_codebooks * kNumPrototypes),
        partial_losses_(kWaveChunks) {}

  double operator()(const Eigen::VectorXd& tables, Eigen::VectorXd& gradient) {
    const std::size_t size = static_cast<std::size_t>(tables.size());
    gradient.setZero(tables.size());
    double loss = 0.0;
    const std::size_t num_chunks = (rows_ + kChunkRows - 1) / kChunkRows;
    for (std::size_t wave = 0; wave < num_chunks; wave += kWaveChunks) {
      const std::size_t tasks = std::min(kWaveChunks, num_chunks - wave);
      ParallelFor(tasks, threads_, [&](std::size_t task) {
        partial_losses_[task] = ChunkLossAndGradient(tables.data(), wave + task,
                                                     partial_gradients_.data() + task * size);
      });
      for (std::size_t task = 0; task < tasks; ++task) {
        loss += partial_losses_[task];
        gradient += Eigen::Map<const Eigen::VectorXd>(partial_gradients_.data() + task * size,
                                                      tables.size());
      }
    }
    const double inverse_rows = 1.0 / static_cast<double>(rows_);
    const double ridge = ridge_ * inverse_rows;
    gradient = gradient * inverse_rows + (2.0 * ridge) * tables;
    loss = loss * inverse_rows + ridge * tables.squaredNorm();
    if (scorer_ != nullptr) {
      const HoldoutScorer::Score score = (*scorer_)(tables.data());
      if (evaluations_ == 0) initial_score_ = score;
      if (evaluations_ == 0 || score.BetterThan(best_score_)) {
        best_score_ = score;
        best_loss_ = loss;
        best_ = tables;
      }
    } else if (loss < best_loss_) {
      best_loss_ = loss;
      best_ = tables;
    }
    ++evaluations_;
    return loss;
  }

  // The point with the lowest loss evaluated so far (the line search also evaluates points it
  // then rejects) and that loss; with a held-out scorer, the point with the best held-out score
  // and its (training) loss.
  const Eigen::VectorXd& best() const { return best_; }
  double best_loss() const { return best_loss_; }
  HoldoutScorer::Score initial_score() const { return initial_score_; }
  HoldoutScorer::Score best_score() const { return best_score_; }

 private:
  // Sum over the chunk's rows of each row's loss; writes the sum of their gradients.
  double ChunkLossAndGradient(const double* tables, std::size_t chunk, double* gradient) const {
    const std::size_t size = outputs_ * entries_;
    std::fill(gradient, gradient + size, 0.0);
    std::vector<double> scores(outputs_);
    std::vector<double> residual(outputs_);
    std::vector<double> teacher(outputs_);
    std::vector<double> probabilities(outputs_);
    double loss = 0.0;
    const std::size_t begin = chunk * kChunkRows;
    const std::size_t end = std::min(rows_, begin + kChunkRows);
    for (std::size_t r = begin; r < end; ++r) {
      const std::uint8_t* codes = codes_.data() + r * codebooks_;
      const double* exact = exact_.data() + r * outputs_;
      // Internal layout [c][k][m]: each code selects M contiguous entries.
      std::fill(scores.begin(), scores.end(), 0.0);
      for (std::size_t c = 0; c < codebooks_; ++c) {
        const double* entry = tables + (c * kNumPrototypes + codes[c]) * outputs_;
        for (std::size_t m = 0; m < outputs_; ++m) scores[m] += entry[m];
      }
      // Squared error to the exact product, then the cross-entropy of softmax(scores + bias).
      double max_score = -HUGE_VAL;
      for (std::size_t m = 0; m < outputs_; ++m) {
        const double difference = scores[m] - exact[m];
        loss += mse_weight_ * difference * difference;
        residual[m] = 2.0 * mse_weight_ * difference;
        scores[m] += bias_[m];
        max_score = std::max(max_score, scores[m]);
      }
      // exp(score - max) once per output; the probabilities are these over their sum.
      double normalizer = 0.0;
      for (std::size_t m = 0; m < outputs_; ++m) {
        probabilities[m] = std::exp(scores[m] - max_score);
        normalizer += probabilities[m];
      }
      const double log_normalizer = max_score + std::log(normalizer);
      if (!labels_.empty()) {
        const auto label = static_cast<std::size_t>(labels_[r]);
        loss += log_normalizer - scores[label];
        residual[label] -= 1.0;
      } else {
        // The classifier's own probabilities for this row.
        double teacher_max = -HUGE_VAL;
        for (std::size_t m = 0; m < outputs_; ++m) {
          teacher[m] = exact[m] + bias_[m];
          teacher_max = std::max(teacher_max, teacher[m]);
        }
        double teacher_sum = 0.0;
        for (std::size_t m = 0; m < outputs_; ++m) {
          teacher[m] = std::exp(teacher[m] - teacher_max);
          teacher_sum += teacher[m];
        }
        for (std::size_t m = 0; m < outputs_; ++m) {
          const double target = teacher[m] / teacher_sum;
          loss += target * (log_normalizer - scores[m]);
          residual[m] -= target;
        }
      }
      for (std::size_t m = 0; m < outputs_; ++m) {
        residual[m] += probabilities[m] / normalizer;
      }
      for (std::size_t c = 0; c < codebooks_; ++c) {
        double* entry = gradient + (c * kNumPrototypes + codes[c]) * outputs_;
        for (std::size_t m = 0; m < outputs_; ++m) entry[m] += residual[m];
      }
    }
    return loss;
  }

  std::size_t rows_;
  std::size_t codebooks_;
  std::size_t outputs_;
  std::size_t entries_;               // 16 C table entries per output
  std::vector<std::uint8_t> codes_;   // rows x C
  std::vector<double> exact_;         // rows x M, A*B
  std::vector<double> bias_;          // M
  std::vector<std::int32_t> labels_;  // rows, or empty
  double mse_weight_;                 // w of the header, per squared output error
  double ridge_;                      // w lambda
  int threads_;
  const HoldoutScorer* scorer_;  // or null
  std::vector<double> partial_gradients_;
  std::vector<double> partial_losses_;
  Eigen::VectorXd best_;
  double best_loss_ = HUGE_VAL;
  std::size_t evaluations_ = 0;
  HoldoutScorer::Score initial_score_;
  HoldoutScorer::Score best_score_;
};

// Codes (rows x C) and, when `exact` is not null, exact products a_n B (rows x M) of the rows
// `rows` of `a_train`, a chunk of rows per task.
void EncodeRows(const Encoder& encoder, const MatrixView& a_train,
                const std::vector<std::size_t>& rows, const RowMatrixD& b_double, int threads,
                std::vector<std::uint8_t>* codes, std::vector<double>* exact) {
  const std::size_t num_rows = rows.size();
  const std::size_t codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  const auto outputs = static_cast<std::size_t>(b_double.cols());
  const std::size_t dim = encoder.input_dim;
  codes->assign(num_rows * codebooks, 0);
  if (exact != nullptr) exact->assign(num_rows * outputs, 0.0);
  const std::size_t num_chunks = (num_rows + kChunkRows - 1) / kChunkRows;
  ParallelFor(num_chunks, threads, [&](std::size_t chunk) {
    const std::size_t begin = chunk * kChunkRows;
    const std::size_t end = std::min(num_rows, begin + kChunkRows);
    for (std::size_t r = begin; r < end; ++r) {
      for (std::size_t c = 0; c < codebooks; ++c) {
        (*codes)[r * codebooks + c] =
            static_cast<std::uint8_t>(EncodeRowRef(encoder, a_train, rows[r], static_cast<int>(c)));
      }
    }
    if (exact == nullptr) return;
    Eigen::MatrixXd block(static_cast<Eigen::Index>(end - begin), static_cast<Eigen::Index>(dim));
    for (std::size_t r = begin; r < end; ++r) {
      for (std::size_t j = 0; j < dim; ++j) {
        block(static_cast<Eigen::Index>(r - begin), static_cast<Eigen::Index>(j)) =
            a_train(rows[r], j);
      }
    }
    const Eigen::MatrixXd product = block * b_double;
    for (std::size_t r = begin; r < end; ++r) {
      for (std::size_t m = 0; m < outputs; ++m) {
        (*exact)[r * outputs + m] =
            product(static_cast<Eigen::Index>(r - begin), static_cast<Eigen::Index>(m));
      }
    }
  });
}

}  // namespace

void CheckClassifierOptions(const ClassifierOptions& options, std::size_t num_outputs,
                            std::size_t num_train_rows) {
  if (!options.enabled) return;
  if (num_outputs < 2) {
    Fail("classifier tables need at least 2 outputs (classes), but B has ", num_outputs,
         " column(s)");
  }
  if (!options.bias.empty() && options.bias.size() != num_outputs) {
    Fail("classifier.bias has ", options.bias.size(),
         " values; it must be empty or have M = ", num_outputs, " (one per column of B)");
  }
  for (std::size_t m = 0; m < options.bias.size(); ++m) {
    if (!std::isfinite(options.bias[m])) {
      Fail("classifier.bias[", m, "] is ", options.bias[m], "; the bias must be finite");
    }
  }
  if (!options.labels.empty()) {
    const std::vector<std::int64_t> labels(options.labels.begin(), options.labels.end());
    CheckLabels(labels.data(), labels.size(), num_train_rows, "A_train", num_outputs,
                "classifier.labels");
  }
  if (!(options.mse_weight >= 0.0) || !std::isfinite(options.mse_weight)) {
    Fail("classifier.mse_weight is ", options.mse_weight, "; it must be finite and >= 0");
  }
  if (options.max_iterations < 1 || options.max_iterations > 100000) {
    Fail("classifier.max_iterations is ", options.max_iterations, "; it must be in [1, 100000]");
  }
}

std::vector<double> FitClassifierTables(const Encoder& encoder, const MatrixView& a_train,
                                        const std::vector<std::size_t>& rows, const MatrixView& b,
                                        const ClassifierOptions& options, double ridge_lambda,
                                        const std::vector<double>& initial_tables, int threads,
                                        ClassifierFitReport* report,
                                        const std::vector<std::size_t>* holdout_rows) {
  const std::size_t num_rows = rows.size();
  const std::size_t codebooks = static_cast<std::size_t>(encoder.num_codebooks);
  const std::size_t outputs = b.cols;

  // Codes and exact products of the training rows.
  std::vector<std::uint8_t> codes;
  std::vector<double> exact;
  const RowMatrixD b_double = ToDoubleMatrix(b);
  EncodeRows(encoder, a_train, rows, b_double, threads, &codes, &exact);

  // w = mse_weight / (M var(y)): the squared error counts relative to the product's spread.
  double mean = 0.0;
  for (double value : exact) mean += value;
  mean /= static_cast<double>(exact.size());
  double variance = 0.0;
  for (double value : exact) variance += (value - mean) * (value - mean);
  variance /= static_cast<double>(exact.size());
  if (!(variance > 0.0) || !std::isfinite(variance)) variance = 1.0;
  const double weight = options.mse_weight / (static_cast<double>(outputs) * variance);

  std::vector<double> bias(outputs, 0.0);
  for (std::size_t m = 0; m < options.bias.size(); ++m) bias[m] = options.bias[m];
  std::vector<std::int32_t> labels;
  if (!options.labels.empty()) {
    labels.resize(num_rows);
    for (std::size_t r = 0; r < num_rows; ++r) labels[r] = options.labels[rows[r]];
  }

  std::unique_ptr<HoldoutScorer> scorer;
  if (holdout_rows != nullptr) {
    std::vector<std::uint8_t> holdout_codes;
    EncodeRows(encoder, a_train, *holdout_rows, b_double, threads, &holdout_codes, nullptr);
    scorer = std::make_unique<HoldoutScorer>(codebooks, outputs, std::move(holdout_codes),
                                             ClassifierTargets(a_train, *holdout_rows, b, options),
                                             bias);
  }
  TableObjective objective(num_rows, codebooks, outputs, std::move(codes), std::move(exact),
                           std::move(bias), std::move(labels), weight, weight * ridge_lambda,
                           threads, scorer.get());
  // The solver works on the layout [c][k][m] (TableObjective); tables come and go as [m][c][k].
  const std::size_t entries = codebooks * kNumPrototypes;
  Eigen::VectorXd tables(static_cast<Eigen::Index>(entries * outputs));
  for (std::size_t m = 0; m < outputs; ++m) {
    for (std::size_t e = 0; e < entries; ++e) {
      tables(static_cast<Eigen::Index>(e * outputs + m)) = initial_tables[m * entries + e];
    }
  }
  Eigen::VectorXd gradient(tables.size());
  const double initial_loss = objective(tables, gradient);

  LBFGSpp::LBFGSParam<double> param;
  param.m = 10;
  param.max_iterations = options.max_iterations;
  param.epsilon = 1e-9;
  param.epsilon_rel = 1e-9;
  param.past = 5;
  param.delta = 1e-9;
  LBFGSpp::LBFGSSolver<double> solver(param);
  double loss = initial_loss;
  int iterations = 0;
  try {
    iterations = solver.minimize(objective, tables, loss);
  } catch (const std::runtime_error&) {
    // The line search gives up only when no step lowers the loss measurably any more: the
    // optimum, to rounding. The best point evaluated is kept below either way.
  } catch (const std::logic_error&) {
    // The same, when rounding makes the search direction look uphill.
  }
  const Eigen::VectorXd& best = objective.best();
  if (report != nullptr) {
    report->iterations = iterations;
    report->initial_loss = initial_loss;
    report->final_loss = objective.best_loss();
    if (scorer != nullptr) {
      report->initial_holdout_accuracy = objective.initial_score().accuracy;
      report->initial_holdout_loss = objective.initial_score().loss;
      report->holdout_accuracy = objective.best_score().accuracy;
      report->holdout_loss = objective.best_score().loss;
    }
  }
  std::vector<double> result(entries * outputs);
  for (std::size_t m = 0; m < outputs; ++m) {
    for (std::size_t e = 0; e < entries; ++e) {
      result[m * entries + e] = best(static_cast<Eigen::Index>(e * outputs + m));
    }
  }
  return result;
}

ClassifierSplit SplitClassifierRows(const std::vector<std::size_t>& rows) {
  ClassifierSplit split;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    (i % kHoldoutPeriod == kHoldoutPeriod - 1 ? split.holdout : split.fit).push_back(rows[i]);
  }
  return split;
}

std::vector<std::int32_t> ClassifierTargets(const MatrixView& a_train,
                                            const std::vector<std::size_t>& rows,
                                            const MatrixView& b, const ClassifierOptions& options) {
  std::vector<std::int32_t> targets(rows.size());
  if (!options.labels.empty()) {
    for (std::size_t r = 0; r < rows.size(); ++r) targets[r] = options.labels[rows[r]];
    return targets;
  }
  // The classifier's decisions, in double precision.
  const std::size_t outputs = b.cols;
  std::vector<double> scores(outputs);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t m = 0; m < outputs; ++m) {
      scores[m] = m < options.bias.size() ? static_cast<double>(options.bias[m]) : 0.0;
    }
    for (std::size_t j = 0; j < b.rows; ++j) {
      const double value = a_train(rows[r], j);
      if (value == 0.0) continue;
      for (std::size_t m = 0; m < outputs; ++m) scores[m] += value * b(j, m);
    }
    targets[r] =
        static_cast<std::int32_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
  }
  return targets;
}

ClassifierChoice ChooseClassifierTables(const Encoder& encoder, const MatrixView& a_train,
                                        const ClassifierSplit& split, const MatrixView& b,
                                        const ClassifierOptions& options, double ridge_lambda,
                                        const std::vector<double>& initial_tables, int threads) {
  ClassifierChoice choice;
  bool first = true;
  // From the largest weight (the closest to the plain tables) down: ties keep the larger.
  for (std::size_t i = std::size(kMseWeightFactors); i-- > 0;) {
    ClassifierOptions candidate = options;
    candidate.mse_weight = options.mse_weight * kMseWeightFactors[i];
    ClassifierFitReport report;
    std::vector<double> tables =
        FitClassifierTables(encoder, a_train, split.fit, b, candidate, ridge_lambda, initial_tables,
                            threads, &report, &split.holdout);
    const HoldoutScorer::Score score{report.holdout_accuracy, report.holdout_loss};
    const HoldoutScorer::Score best{choice.report.holdout_accuracy, choice.report.holdout_loss};
    if (first || score.BetterThan(best)) {
      choice.tables = std::move(tables);
      choice.mse_weight = candidate.mse_weight;
      choice.report = report;
    }
    first = false;
    // Without a squared-error weight every factor gives the same fit.
    if (options.mse_weight == 0.0) break;
  }
  return choice;
}

}  // namespace maddness::detail
