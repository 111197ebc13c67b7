// Combining learning statistics across processes that each hold a share of the training rows.
//
// Learning (trees.cc, prototypes.cc, learn.cc) reduces every statistic it needs from all rows
// through a Reducer: per-column minima, maxima and sums (quantizers and means), per-bucket
// column sums (candidate columns), per-bucket 256-level histograms (split search), per-bucket
// sums (MADDNESS-PQ prototypes), G^T G counts and G^T X (ridge prototypes). The default Reducer is
// one process holding every row: it does nothing, and learning runs exactly as without it.
//
// A distributed implementation (tools/mpi: MPI) must leave the same result on every process, and
// every process must make the same calls in the same order with the same counts (collectives):
// learning guarantees this as long as the reduced values are identical everywhere, since all its
// decisions are taken on reduced values only.
#ifndef MADDNESS_SRC_TRAIN_REDUCE_H_
#define MADDNESS_SRC_TRAIN_REDUCE_H_

#include <cstddef>
#include <cstdint>

namespace maddness::detail {

class Reducer {
 public:
  virtual ~Reducer() = default;

  // True when other processes take part. Learning then calls the reductions even when this
  // process has no rows, and runs its per-codebook loop on the calling thread only (collectives
  // must come from one thread, in the same order on every process).
  virtual bool distributed() const { return false; }

  // Replaces values[0, count) by their sum (minimum, maximum) over all processes, element-wise.
  // Sums of double are in an order the implementation fixes: the result is the same on every
  // process but may differ in the last bits from a single process's row-order sum.
  virtual void AllReduceSum(double* /*values*/, std::size_t /*count*/) const {}
  virtual void AllReduceSum(std::int64_t* /*values*/, std::size_t /*count*/) const {}
  virtual void AllReduceMin(double* /*values*/, std::size_t /*count*/) const {}
  virtual void AllReduceMax(double* /*values*/, std::size_t /*count*/) const {}
};

// The single-process Reducer (does nothing).
inline const Reducer& LocalReducer() {
  static const Reducer local;
  return local;
}

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_TRAIN_REDUCE_H_
