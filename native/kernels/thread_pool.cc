// A small persistent thread pool. Workers spin briefly on a generation counter before
// sleeping on a condition variable, so back-to-back kernel calls do not pay a futex wake-up
// each time. Thread 0 is always the caller; workers claim the other thread ids, and ids still
// unclaimed when the caller has finished its own share run on the caller.
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

// Pause iterations a worker spins for the next job before sleeping, and the caller spins on
// the join before yielding. A pause takes ~65-85 ns on Zen 3, so 2000 is ~150 us. Kept short:
// a worker that spins for milliseconds (the former 200000, ~15 ms) gets preempted on a loaded
// host and then starts the next job a whole scheduler period late, while a sleeping worker
// is woken promptly. Back-to-back kernel calls from JS still find the worker spinning.
constexpr int kWorkerSpins = 2000;
constexpr int kJoinSpins = 2000;

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
    done_.store(0);
    {
      // The job, its thread count and its generation are published together, so a worker
      // that wakes late reads a consistent (generation, job) pair; thread ids 1..nt-1 are
      // claimed from `claim_`, tagged with the generation so a stale worker cannot claim.
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      job_nt_ = nt;
      const uint64_t g = gen_.load() + 1;
      claim_.store((g & 0xffffffffu) << 32 | 1);
      gen_.store(g);
    }
    cv_.notify_all();
    t_in_parallel = true;
    fn(0, nt);
    // Thread ids no worker has claimed yet run here: a worker that is still asleep or waiting
    // for a CPU (a loaded host) then costs nothing, where waiting for it could take a whole
    // scheduler slice. Jobs that share work through counters find nothing left to do.
    const uint64_t c = claim_.exchange((gen_.load() & 0xffffffffu) << 32 | static_cast<uint32_t>(nt));
    const int claimed = std::min(static_cast<int>(c & 0xffffffffu), nt);
    for (int id = claimed; id < nt; ++id) fn(id, nt);
    t_in_parallel = false;
    // Spin briefly, then yield: when the machine is oversubscribed the worker may be waiting
    // for a CPU, and spinning here would only keep it off.
    for (int spins = 0; done_.load(std::memory_order_acquire) != claimed - 1; ++spins) {
      if (spins < kJoinSpins) cpu_relax();
      else std::this_thread::yield();
    }
    std::lock_guard<std::mutex> lk(mu_);
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

  // A new worker starts from the generation current at its creation (before run() publishes
  // the next job). Reading gen_ inside the new thread instead could already see the job's
  // generation, and the worker would then sleep through the job that is waiting for it.
  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      uint64_t seen = gen_.load();
      workers_.emplace_back([this, seen] { loop(seen); });
    }
  }

  void loop(uint64_t seen) {
    t_in_parallel = true;
    for (;;) {
      uint64_t g;
      int spins = 0;
      while ((g = gen_.load(std::memory_order_acquire)) == seen && spins < kWorkerSpins) {
        cpu_relax();
        ++spins;
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load() != seen; });
        g = gen_.load();
      }
      const std::function<void(int, int)>* job;
      int nt;
      {
        std::lock_guard<std::mutex> lk(mu_);
        seen = gen_.load();
        job = job_;
        nt = job_nt_;
        if (stop_) return;
      }
      if (job == nullptr) continue;
      // Claim a thread id of generation `seen` (its low 32 bits tag claim_); fails once the
      // caller has taken the rest.
      const uint64_t tag = seen & 0xffffffffu;
      uint64_t c = claim_.load();
      while ((c >> 32) == tag && static_cast<int>(c & 0xffffffffu) < nt && !claim_.compare_exchange_weak(c, c + 1)) {
      }
      if ((c >> 32) != tag || static_cast<int>(c & 0xffffffffu) >= nt) continue;
      (*job)(static_cast<int>(c & 0xffffffffu), nt);
      done_.fetch_add(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::mutex busy_mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> claim_{0};  // generation << 32 | next unclaimed thread id
  std::atomic<int> done_{0};        // claimed thread ids of the current job that have finished
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
