// The worker pool behind ParallelFor: every task runs once, threads are created once and reused
// by later calls, errors reach the caller, nested calls finish, and a forked child can use it.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include "src/common/parallel.h"

namespace maddness::detail {
namespace {

// A number given to each thread the first time it runs a task here; a new thread always gets a
// new one (unlike std::thread::id, which a new thread may inherit from a finished one).
std::atomic<int> next_serial{0};
int ThreadSerial() {
  thread_local const int serial = next_serial.fetch_add(1);
  return serial;
}

TEST(ParallelTest, EveryTaskRunsOnce) {
  for (const int threads : {1, 2, 3, 8}) {
    for (const std::size_t tasks :
         {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
      std::vector<std::atomic<int>> runs(tasks);
      ParallelFor(tasks, threads, [&](std::size_t task) { runs[task].fetch_add(1); });
      for (std::size_t task = 0; task < tasks; ++task) {
        EXPECT_EQ(runs[task].load(), 1) << "threads " << threads << ", task " << task;
      }
    }
  }
}

TEST(ParallelTest, ThreadsAreReusedAcrossCalls) {
  ParallelFor(64, 3, [](std::size_t) {});
  const std::size_t pool = PoolThreads();
  EXPECT_GE(pool, 2u);
  std::mutex mutex;
  std::set<int> serials;
  for (int call = 0; call < 50; ++call) {
    ParallelFor(64, 3, [&](std::size_t) {
      const int serial = ThreadSerial();
      std::lock_guard<std::mutex> lock(mutex);
      serials.insert(serial);
    });
  }
  // The caller and the pool's threads, whichever of them took tasks: no new thread per call.
  EXPECT_LE(serials.size(), 1 + pool);
  EXPECT_EQ(PoolThreads(), pool);
}

TEST(ParallelTest, FirstErrorReachesTheCallerAndThePoolGoesOn) {
  EXPECT_THROW(ParallelFor(100, 4,
                           [](std::size_t task) {
                             if (task == 7) throw std::runtime_error("task 7");
                           }),
               std::runtime_error);
  std::atomic<std::size_t> sum{0};
  ParallelFor(100, 4, [&](std::size_t task) { sum.fetch_add(task); });
  EXPECT_EQ(sum.load(), 4950u);
}

TEST(ParallelTest, NestedCallsFinish) {
  std::vector<std::atomic<int>> runs(8 * 50);
  ParallelFor(8, 4, [&](std::size_t outer) {
    ParallelFor(50, 3, [&](std::size_t inner) { runs[outer * 50 + inner].fetch_add(1); });
  });
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i].load(), 1) << i;
}

// Python's multiprocessing (and so Dask's process scheduler) forks processes that have used the
// pool: the child starts with no threads of its own and must still run every task.
TEST(ParallelTest, ForkedChildRunsTasks) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer stops a child that starts threads after a multi-threaded fork";
#endif
  ParallelFor(64, 4, [](std::size_t) {});
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    std::atomic<std::size_t> sum{0};
    ParallelFor(1000, 4, [&](std::size_t task) { sum.fetch_add(task); });
    _exit(sum.load() == 499500 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace maddness::detail
