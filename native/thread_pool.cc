// A small persistent thread pool. Workers spin briefly on a generation counter before
// sleeping on a condition variable, so back-to-back kernel calls do not pay a futex wake-up
// each time. Thread 0 is always the caller.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common.h"

namespace nl {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}

int default_threads() {
  const char* env = std::getenv("NORMLAB_NUM_THREADS");
  if (env != nullptr) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

thread_local bool t_in_parallel = false;

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  void run(int nt, const std::function<void(int, int)>& fn) {
    std::unique_lock<std::mutex> busy(busy_mu_, std::try_to_lock);
    if (nt <= 1 || t_in_parallel || !busy.owns_lock()) {
      serial(nt, fn);
      return;
    }
    ensure_workers(nt - 1);
    job_ = &fn;
    job_nt_ = nt;
    pending_.store(nt - 1);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    t_in_parallel = true;
    fn(0, nt);
    t_in_parallel = false;
    while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
    job_ = nullptr;
  }

 private:
  static void serial(int nt, const std::function<void(int, int)>& fn) {
    // Same partition as the parallel run, executed in order: results depend only on nt.
    bool was = t_in_parallel;
    t_in_parallel = true;
    for (int t = 0; t < std::max(nt, 1); ++t) fn(t, std::max(nt, 1));
    t_in_parallel = was;
  }

  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      int id = static_cast<int>(workers_.size()) + 1;
      // The generation is read here, before run() publishes the job: a worker that read it on
      // start-up could see the new generation already, skip the job and leave run() waiting.
      uint64_t start_gen = gen_.load();
      workers_.emplace_back([this, id, start_gen] { loop(id, start_gen); });
    }
  }

  void loop(int id, uint64_t seen) {
    t_in_parallel = true;
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = gen_.load(std::memory_order_acquire)) == seen && spins < 200000) {
        cpu_relax();
        ++spins;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load() != seen; });
        g = gen_.load();
      }
      seen = g;
      if (stop_) return;
      const std::function<void(int, int)>* job = job_;
      int nt = job_nt_;
      if (id < nt && job != nullptr) {
        (*job)(id, nt);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::mutex busy_mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int, int)>* volatile job_ = nullptr;
  volatile int job_nt_ = 0;
  bool stop_ = false;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
}

std::atomic<int> g_threads{default_threads()};

}  // namespace

int num_threads() { return g_threads.load(); }
void set_num_threads(int n) { g_threads.store(std::max(1, n)); }

void parallel_run(int nthreads, const std::function<void(int, int)>& fn) {
  pool().run(std::max(1, std::min(nthreads, num_threads())), fn);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = (n + grain - 1) / grain;
  int nt = static_cast<int>(std::min<int64_t>(chunks, num_threads()));
  if (nt <= 1) {
    fn(0, n);
    return;
  }
  pool().run(nt, [&](int tid, int ntt) {
    int64_t b = n * tid / ntt, e = n * (tid + 1) / ntt;
    if (b < e) fn(b, e);
  });
}

}  // namespace nl
