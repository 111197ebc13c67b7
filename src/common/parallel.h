// A minimal fork-join loop over independent tasks. Results must not depend on the thread count:
// callers give each task a fixed piece of work and combine results in task order.
#ifndef MADDNESS_SRC_COMMON_PARALLEL_H_
#define MADDNESS_SRC_COMMON_PARALLEL_H_

#include <cstddef>
#include <functional>

namespace maddness::detail {

// `requested` threads, or all hardware threads when 0; at least 1. Throws Error when negative.
int ResolveThreads(int requested);

// Runs fn(task) for every task in [0, num_tasks) on up to `threads` threads (the calling thread
// included), tasks handed out in increasing order. The first exception thrown by a task is
// rethrown in the caller after all threads stop; remaining tasks are skipped.
void ParallelFor(std::size_t num_tasks, int threads, const std::function<void(std::size_t)>& fn);

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_PARALLEL_H_
