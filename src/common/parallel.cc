#include "src/common/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "src/common/check.h"

namespace maddness::detail {

int ResolveThreads(int requested) {
  if (requested < 0) Fail("threads is ", requested, "; it must be >= 0 (0 = all cores)");
  if (requested > 0) return requested;
  // Read once: hardware_concurrency() reads /sys on every call, which costs more than a small
  // Apply.
  static const int hardware_threads =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return hardware_threads;
}

void ParallelFor(std::size_t num_tasks, int threads, const std::function<void(std::size_t)>& fn) {
  const std::size_t workers =
      std::min<std::size_t>(num_tasks, static_cast<std::size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (std::size_t task = 0; task < num_tasks; ++task) fn(task);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const std::size_t task = next.fetch_add(1, std::memory_order_relaxed);
      if (task >= num_tasks) return;
      try {
        fn(task);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (std::size_t i = 1; i < workers; ++i) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace maddness::detail
