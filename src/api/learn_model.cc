#include "src/api/learn_model.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "src/api/model_access.h"
#include "src/common/check.h"
#include "src/common/model_data.h"
#include "src/common/parallel.h"
#include "src/lut/lut.h"
#include "src/train/classifier.h"
#include "src/train/grouping.h"
#include "src/train/train.h"

namespace maddness::detail {
namespace {

// With `distributed`, max_train_rows is this process's share of the sample, which may be small:
// the caller checks the total.
void CheckOptions(const LearnOptions& options, std::size_t input_dim, bool distributed) {
  CheckNumCodebooks(options.num_codebooks, input_dim, "num_codebooks");
  if (!(options.ridge_lambda >= 0.0) || !std::isfinite(options.ridge_lambda)) {
    Fail("ridge_lambda is ", options.ridge_lambda, "; it must be finite and >= 0");
  }
  if (options.candidate_dims < 1) {
    Fail("candidate_dims is ", options.candidate_dims, "; it must be at least 1");
  }
  if (!distributed && options.max_train_rows != 0 && options.max_train_rows < kMinTrainRows) {
    Fail("max_train_rows is ", options.max_train_rows, "; it must be 0 (every row) or at least ",
         kMinTrainRows, " (one training row per prototype)");
  }
  ResolveThreads(options.threads);
}

// Classifier-aware tables for the learned encoder in `data` (LearnOptions::classifier): fitted
// to the classifier's decisions on the training rows the encoder was learned from, and, when
// chosen on held-out rows, kept only if they beat the plain tables there.
std::shared_ptr<ModelData> WithClassifierTables(std::shared_ptr<ModelData> data,
                                                const MatrixView& a_train, const MatrixView& b,
                                                const LearnOptions& options,
                                                TableScale table_scale) {
  const std::vector<std::size_t> rows =
      SampleRows(a_train.rows, options.max_train_rows, options.seed);
  const std::vector<double> plain_tables = BuildFloatTables(data->encoder, b);
  const int threads = ResolveThreads(options.threads);
  const ClassifierSplit split = SplitClassifierRows(rows);
  if (!options.classifier.choose || split.holdout.size() < kMinHoldoutRows) {
    if (options.progress) options.progress(Progress{"fitting classifier tables", 0, 1});
    const std::vector<double> float_tables =
        FitClassifierTables(data->encoder, a_train, rows, b, options.classifier,
                            options.ridge_lambda, plain_tables, threads);
    if (options.progress) options.progress(Progress{"fitting classifier tables", 1, 1});
    data->tables = QuantizeTables(float_tables, data->encoder.num_codebooks, b.cols,
                                  options.aggregation, table_scale);
    data->has_tables = true;
    return data;
  }
  // Fitted on four fifths of the rows, chosen on the rest; kept only if it beats the plain
  // tables there once both are quantized as the model will be.
  if (options.progress) options.progress(Progress{"choosing classifier tables", 0, 1});
  const ClassifierChoice choice =
      ChooseClassifierTables(data->encoder, a_train, split, b, options.classifier,
                             options.ridge_lambda, plain_tables, threads);
  const std::vector<std::int32_t> targets =
      ClassifierTargets(a_train, split.holdout, b, options.classifier);
  std::vector<float> holdout(split.holdout.size() * a_train.cols);
  for (std::size_t r = 0; r < split.holdout.size(); ++r) {
    for (std::size_t j = 0; j < a_train.cols; ++j) {
      holdout[r * a_train.cols + j] = a_train(split.holdout[r], j);
    }
  }
  const MatrixView holdout_view =
      MatrixView::RowMajor(holdout.data(), split.holdout.size(), a_train.cols);
  // Held-out accuracy, then mean cross-entropy, of the quantized model.
  struct HoldoutScore {
    std::size_t correct = 0;
    double loss = 0.0;
  };
  const auto score = [&](const std::vector<double>& float_tables,
                         std::shared_ptr<ModelData>* result) {
    auto candidate = std::make_shared<ModelData>(*data);
    candidate->tables = QuantizeTables(float_tables, data->encoder.num_codebooks, b.cols,
                                       options.aggregation, table_scale);
    candidate->has_tables = true;
    *result = candidate;
    ApplyOptions apply;
    apply.threads = options.threads;
    const std::vector<float> out = ModelAccess::Wrap(candidate).Apply(holdout_view, apply);
    const std::size_t m = b.cols;
    std::vector<double> scores(m);
    HoldoutScore total;
    for (std::size_t r = 0; r < targets.size(); ++r) {
      for (std::size_t k = 0; k < m; ++k) {
        scores[k] = static_cast<double>(out[r * m + k]) +
                    (k < options.classifier.bias.size() ? options.classifier.bias[k] : 0.0);
      }
      const auto best =
          static_cast<std::size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
      const auto target = static_cast<std::size_t>(targets[r]);
      total.correct += best == target;
      double normalizer = 0.0;
      for (std::size_t k = 0; k < m; ++k) normalizer += std::exp(scores[k] - scores[best]);
      total.loss += scores[best] + std::log(normalizer) - scores[target];
    }
    total.loss /= static_cast<double>(targets.size());
    return total;
  };
  std::shared_ptr<ModelData> plain_model, fitted_model;
  const HoldoutScore plain = score(plain_tables, &plain_model);
  const HoldoutScore fitted = score(choice.tables, &fitted_model);
  // The fit must classify more held-out rows correctly, or as many with a lower cross-entropy.
  const bool keep_fit = fitted.correct > plain.correct ||
                        (fitted.correct == plain.correct && fitted.loss < plain.loss);
  if (options.progress) {
    const double count = static_cast<double>(targets.size());
    char stage[240];
    std::snprintf(stage, sizeof(stage),
                  "choosing classifier tables (held-out accuracy %.4f plain, %.4f fitted with "
                  "MSE weight %g; cross-entropy %.4f, %.4f: %s kept)",
                  static_cast<double>(plain.correct) / count,
                  static_cast<double>(fitted.correct) / count, choice.mse_weight, plain.loss,
                  fitted.loss, keep_fit ? "fitted" : "plain");
    options.progress(Progress{stage, 1, 1});
  }
  return keep_fit ? std::move(fitted_model) : std::move(plain_model);
}

}  // namespace

void CheckLearnArgs(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                    const Reducer& reducer) {
  const bool distributed = reducer.distributed();
  // A process of a distributed run may hold no rows: only the shape of a row is checked then.
  if (!distributed || a_train.rows > 0) {
    CheckMatrixView(a_train, "A_train");
    CheckRowsFit("A_train", a_train.rows, a_train.cols, "values");
  } else {
    static const float kRow = 0.0f;
    CheckMatrixView(MatrixView{&kRow, 1, a_train.cols, 0, 0}, "A_train");
  }
  if (!distributed && a_train.rows < kMinTrainRows) {
    Fail("A_train has ", a_train.rows, " rows; at least ", kMinTrainRows,
         " are needed (one per prototype)");
  }
  CheckOptions(options, a_train.cols, distributed);
  if (a_train.rows > 0) CheckFinite(a_train, "A_train");
  if (b != nullptr) {
    CheckMatrixView(*b, "B");
    if (b->rows != a_train.cols) {
      Fail("B has ", b->rows, " rows but A_train has ", a_train.cols,
           " columns; B must be D x M with D = ", a_train.cols);
    }
    CheckFinite(*b, "B");
    if (distributed && options.classifier.enabled) {
      Fail(
          "classifier tables are fitted on every training row in one process; they cannot be "
          "learned over several processes");
    }
    CheckClassifierOptions(options.classifier, b->cols, a_train.rows);
  } else if (options.classifier.enabled) {
    Fail("classifier tables are fitted to B, but no B was given to learn with");
  }
}

Model LearnModel(const MatrixView& a_train, const MatrixView* b, const LearnOptions& options,
                 const Reducer& reducer) {
  CheckLearnArgs(a_train, b, options, reducer);
  auto data = std::make_shared<ModelData>();
  PrototypeChoice prototypes;
  data->encoder = LearnEncoder(a_train, b, options, &data->num_train_rows, reducer, &prototypes);
  // Bucket-mean prototypes are what a MADDNESS-PQ model has, and the file says so.
  data->variant = prototypes.bucket_means ? Variant::kPq : Variant::kMaddness;
  data->ridge_lambda = prototypes.lambda;
  if (b == nullptr) return ModelAccess::Wrap(std::move(data));
  TableScale table_scale = options.table_scale;
  if (table_scale == TableScale::kAuto) {
    table_scale = TooFewRowsToChoose(data->num_train_rows, a_train.cols) ? TableScale::kGlobal
                                                                         : TableScale::kPerOutput;
  }
  if (options.classifier.enabled) {
    return ModelAccess::Wrap(
        WithClassifierTables(std::move(data), a_train, *b, options, table_scale));
  }
  data->tables = BuildTables(data->encoder, *b, options.aggregation, table_scale);
  data->has_tables = true;
  return ModelAccess::Wrap(std::move(data));
}

}  // namespace maddness::detail
