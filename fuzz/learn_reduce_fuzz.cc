// Fuzz target: the reductions of distributed learning (src/train/reduce.h), as maddness-mpi uses
// them, for a process holding any share of the training rows, none included.
//
// Learning takes every decision on reduced values, so a process's reduced values equal what one
// process holding every row computes locally. The input describes a small problem (N rows, D
// columns, C codebooks, B or none, objective, variant) and a share [begin, end) of the rows. The
// target learns once on all rows with a Reducer that records each reduction (kind, count,
// result), then on the share alone with a Reducer that replays them: each call must have the
// recorded kind and count (the lengths every rank passes to MPI_Reduce must agree), there must be
// as many calls, and the share must end with the same encoder, bit for bit (or the same Error).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "maddness/maddness.h"
#include "src/common/model_data.h"
#include "src/train/reduce.h"
#include "src/train/train.h"

namespace {

using maddness::detail::Encoder;
using maddness::detail::Reducer;

void Check(bool condition) {
  if (!condition) std::abort();
}

enum class Kind { kSumDouble, kSumInt, kMin, kMax };

struct Call {
  Kind kind;
  std::size_t count;
  std::vector<double> doubles;
  std::vector<std::int64_t> integers;
};

// One process holding every row: the values are already the reduction; records them.
class RecordingReducer : public Reducer {
 public:
  bool distributed() const override { return true; }
  void AllReduceSum(double* values, std::size_t count) const override {
    Record(Kind::kSumDouble, values, count);
  }
  void AllReduceSum(std::int64_t* values, std::size_t count) const override {
    calls.push_back({Kind::kSumInt, count, {}, std::vector<std::int64_t>(values, values + count)});
  }
  void AllReduceMin(double* values, std::size_t count) const override {
    Record(Kind::kMin, values, count);
  }
  void AllReduceMax(double* values, std::size_t count) const override {
    Record(Kind::kMax, values, count);
  }
  mutable std::vector<Call> calls;

 private:
  void Record(Kind kind, const double* values, std::size_t count) const {
    calls.push_back({kind, count, std::vector<double>(values, values + count), {}});
  }
};

// A process holding a share: each reduction must be the next recorded one, whose result it gets.
class ReplayingReducer : public Reducer {
 public:
  explicit ReplayingReducer(const std::vector<Call>& calls) : calls_(calls) {}
  bool distributed() const override { return true; }
  void AllReduceSum(double* values, std::size_t count) const override {
    Replay(Kind::kSumDouble, values, count);
  }
  void AllReduceSum(std::int64_t* values, std::size_t count) const override {
    const Call& call = Next(Kind::kSumInt, count);
    if (count > 0) std::memcpy(values, call.integers.data(), count * sizeof(std::int64_t));
  }
  void AllReduceMin(double* values, std::size_t count) const override {
    Replay(Kind::kMin, values, count);
  }
  void AllReduceMax(double* values, std::size_t count) const override {
    Replay(Kind::kMax, values, count);
  }
  bool finished() const { return next_ == calls_.size(); }

 private:
  const Call& Next(Kind kind, std::size_t count) const {
    Check(next_ < calls_.size());
    const Call& call = calls_[next_++];
    Check(call.kind == kind && call.count == count);
    return call;
  }
  void Replay(Kind kind, double* values, std::size_t count) const {
    const Call& call = Next(kind, count);
    if (count > 0) std::memcpy(values, call.doubles.data(), count * sizeof(double));
  }
  const std::vector<Call>& calls_;
  mutable std::size_t next_ = 0;
};

struct Outcome {
  bool ok = false;
  std::string error;
  Encoder encoder;
  std::uint64_t num_train_rows = 0;
};

Outcome Learn(const maddness::MatrixView& a, const maddness::MatrixView* b,
              const maddness::LearnOptions& options, const Reducer& reducer) {
  Outcome outcome;
  try {
    outcome.encoder =
        maddness::detail::LearnEncoder(a, b, options, &outcome.num_train_rows, reducer);
    outcome.ok = true;
  } catch (const maddness::Error& error) {
    outcome.error = error.what();
  }
  return outcome;
}

bool SameBits(const std::vector<float>& left, const std::vector<float>& right) {
  return left.size() == right.size() &&
         (left.empty() || std::memcmp(left.data(), right.data(), left.size() * 4) == 0);
}

void CheckSameEncoder(const Encoder& left, const Encoder& right) {
  Check(left.input_dim == right.input_dim && left.num_codebooks == right.num_codebooks);
  Check(left.codebook_begin == right.codebook_begin && left.columns == right.columns);
  Check(left.splits.size() == right.splits.size());
  for (std::size_t i = 0; i < left.splits.size(); ++i) {
    const auto& x = left.splits[i];
    const auto& y = right.splits[i];
    Check(x.dim == y.dim && std::memcmp(&x.scale, &y.scale, sizeof(x.scale)) == 0 &&
          std::memcmp(&x.offset, &y.offset, sizeof(x.offset)) == 0 &&
          std::memcmp(x.thresholds, y.thresholds, sizeof(x.thresholds)) == 0);
  }
  Check(SameBits(left.prototypes, right.prototypes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  maddness::fuzz::FuzzInput input(data, size);
  const std::size_t rows = input.Range(16, 48);
  const std::size_t cols = input.Range(1, 10);
  const int codebooks = static_cast<int>(input.Range(1, cols < 4 ? cols : 4));
  const bool with_b = input.Byte() % 2 == 1;
  const std::size_t outputs = input.Range(1, 3);
  maddness::LearnOptions options;
  options.num_codebooks = codebooks;
  options.threads = 1;
  options.variant = input.Byte() % 2 == 0 ? maddness::Variant::kMaddness : maddness::Variant::kPq;
  options.objective =
      with_b && input.Byte() % 2 == 0 ? maddness::Objective::kProduct : maddness::Objective::kInput;
  options.candidate_dims = static_cast<int>(input.Range(1, 4));
  static const double kLambdas[] = {1.0, 0.25, 10.0, 0.0};
  options.ridge_lambda = kLambdas[input.Byte() % 4];
  const std::size_t begin = input.Range(0, rows);
  const std::size_t end = input.Range(begin, rows);

  std::vector<float> a(rows * cols);
  std::vector<float> b(cols * outputs);
  for (float& value : b) value = input.FiniteFloat();
  for (float& value : a) value = input.FiniteFloat();
  const maddness::MatrixView a_all = maddness::MatrixView::RowMajor(a.data(), rows, cols);
  const maddness::MatrixView a_share =
      maddness::MatrixView::RowMajor(a.data() + begin * cols, end - begin, cols);
  const maddness::MatrixView b_view = maddness::MatrixView::RowMajor(b.data(), cols, outputs);
  const maddness::MatrixView* b_pointer = with_b ? &b_view : nullptr;

  const RecordingReducer recorder;
  const Outcome whole = Learn(a_all, b_pointer, options, recorder);
  const ReplayingReducer replayer(recorder.calls);
  const Outcome share = Learn(a_share, b_pointer, options, replayer);
  Check(whole.ok == share.ok && whole.error == share.error);
  if (!whole.ok) return 0;
  Check(replayer.finished());
  Check(whole.num_train_rows == rows && share.num_train_rows == rows);
  CheckSameEncoder(whole.encoder, share.encoder);
  return 0;
}
