// A Manager shared by three worker processes: each adds its results to a dict and counts them in
// a shared value under a lock; the parent prints both. Python's
//
//   with Manager() as m:
//       d, lock, total = m.dict(), m.Lock(), m.Value('i', 0)
//       ps = [Process(target=work, args=(w, d, lock, total)) for w in range(3)]
//
#include <unistd.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "shmq/shmq.hpp"

namespace {

// The handles arrive by value: each is a name and the child's own connection to the server.
void work(int worker, shmq::Dict<std::string, int> results, shmq::Lock lock,
          shmq::Value<int> total) {
  for (int i = 0; i < 4; ++i) {
    // Appended, not `"w" + std::to_string(...)`: gcc 12 -O3 warns falsely on that (-Wrestrict).
    std::string key = "w";
    key += std::to_string(worker);
    key += '-';
    key += std::to_string(i);
    results.set(key, worker * 10 + i);
    std::lock_guard guard(lock);  // a Manager lock is a BasicLockable
    total.set(total.get() + 1);
  }
}

}  // namespace

int main() {
  const std::string name = "workers-" + std::to_string(::getpid());
  auto manager = shmq::Manager::create(name);  // forks the server
  const auto results = manager.dict<std::string, int>("results");
  const auto lock = manager.lock("lock");
  const auto total = manager.value<int>("total", 0);

  std::vector<shmq::Process> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back(work, w, results, lock, total);
  for (auto& p : workers)
    p.start();
  bool ok = true;
  for (auto& p : workers)
    ok = p.join() && p.exitcode() == 0 && ok;

  std::cout << results.size() << " results, total " << total.get() << '\n';
  manager.shutdown();  // stops the server and removes its segments
  return ok ? 0 : 1;
}
