// A minimal fork-join loop over independent tasks, on a pool of threads created once per process.
// Results must not depend on the thread count: callers give each task a fixed piece of work and
// combine results in task order.
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
// The other threads come from a pool that grows to the largest number any call has asked for and
// lives until the process exits (joined then), so that thread_local caches of the kernels (the
// prepared encoder, scan buffers) are reused from one call to the next. A call never waits for a
// pool thread that is busy elsewhere: nested calls, and calls from several threads at once, run
// with the helpers that are free (the caller alone at worst). A child process made by fork()
// starts with an empty pool.
void ParallelFor(std::size_t num_tasks, int threads, const std::function<void(std::size_t)>& fn);

// Threads the pool holds (for tests).
std::size_t PoolThreads();

}  // namespace maddness::detail

#endif  // MADDNESS_SRC_COMMON_PARALLEL_H_
