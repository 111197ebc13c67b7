#include "src/common/parallel.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "src/common/check.h"

namespace maddness::detail {
namespace {

// The helpers' share of one ParallelFor call.
struct Job {
  const std::function<void()>* work = nullptr;
  std::size_t active = 0;  // helpers inside work() (guarded by the pool's mutex)
  std::condition_variable finished;
};

// Threads created on first need and kept until the process exits, so that their thread_local
// caches (the prepared encoder, the scan's buffers) live from one Apply to the next. A call asks
// for up to `helpers` of them and works itself too; it never waits for a helper that has not
// started, so nested calls (a task that runs a ParallelFor) and busy pools only run with fewer
// helpers, never block.
class WorkerPool {
 public:
  static WorkerPool& Get() {
    static WorkerPool pool;
    return pool;
  }

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  std::size_t Size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_.size();
  }

  // Runs work() on the calling thread and on up to `helpers` pool threads; returns once every
  // one of them has returned. work() must not throw.
  void Run(std::size_t helpers, const std::function<void()>& work) {
    Job job;
    job.work = &work;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (threads_.size() < helpers) {
        // The helpers never take the terminating signals a program may handle (SIGINT, SIGTERM,
        // SIGHUP): those go to the program's own threads. A thread that blocks them around a
        // critical step (creating and registering a temporary file, src/io/file.cc) is then not
        // undercut by the handler running on a helper meanwhile. New threads inherit this
        // thread's mask. (Faults such as SIGSEGV stay unblocked: they are the thread's own.)
        sigset_t terminating;
        sigset_t previous;
        sigemptyset(&terminating);
        for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
          sigaddset(&terminating, signal_number);
        }
        pthread_sigmask(SIG_BLOCK, &terminating, &previous);
        while (threads_.size() < helpers) threads_.emplace_back([this] { WorkerLoop(); });
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      }
      for (std::size_t i = 0; i < helpers; ++i) queue_.push_back(&job);
    }
    wake_.notify_all();
    work();
    // Every task is taken: helpers that have not started are not needed any more.
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.erase(std::remove(queue_.begin(), queue_.end(), &job), queue_.end());
    job.finished.wait(lock, [&job] { return job.active == 0; });
  }

 private:
  WorkerPool() {
    // A child process has only the thread that forked: it starts with an empty pool. The mutex
    // is held across fork() so that the child's copy is in a known state.
    pthread_atfork([] { Get().mutex_.lock(); }, [] { Get().mutex_.unlock(); },
                   [] { Get().ResetInChild(); });
  }

  void WorkerLoop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      Job* job = queue_.front();
      queue_.pop_front();
      ++job->active;
      lock.unlock();
      (*job->work)();
      lock.lock();
      if (--job->active == 0) job->finished.notify_all();
    }
  }

  void ResetInChild() {
    // The threads do not exist in the child, so they can be neither joined nor destroyed; their
    // handles are kept, never to be destroyed, in a list that is never freed (a few bytes per
    // thread and fork).
    static auto* const orphans = new std::vector<std::vector<std::thread>>();
    orphans->push_back(std::move(threads_));
    threads_.clear();
    queue_.clear();
    // The condition variable may record waiters that do not exist here: a fresh one, and a fresh
    // (unlocked) mutex in place of the one held across fork().
    new (&wake_) std::condition_variable();
    new (&mutex_) std::mutex();
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;  // one entry per helper a running call still wants
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

}  // namespace

int ResolveThreads(int requested) {
  CheckThreads(requested, "threads");
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
  const std::function<void()> work = [&] {
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
  WorkerPool::Get().Run(workers - 1, work);
  if (first_error) std::rethrow_exception(first_error);
}

std::size_t PoolThreads() { return WorkerPool::Get().Size(); }

}  // namespace maddness::detail
