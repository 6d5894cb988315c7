#include "dist/collective_watchdog.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <mpi.h>

namespace cdae::dist {

std::string describe_rank(int rank) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '?';
  return "rank " + std::to_string(rank) + " (node " + host + ")";
}

CollectiveWatchdog::CollectiveWatchdog(double timeout_s, std::string who, Expiry on_expiry)
    : timeout_(timeout_s), who_(std::move(who)), on_expiry_(std::move(on_expiry)) {
  if (timeout_s > 0) thread_ = std::thread([this] { watch(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

CollectiveWatchdog::Armed::Armed(CollectiveWatchdog* watchdog, const char* collective) : watchdog_(watchdog) {
  if (!watchdog_ || !watchdog_->thread_.joinable()) {
    watchdog_ = nullptr;
    return;
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(watchdog_->mutex_);
    previous_collective_ = watchdog_->collective_;
    previous_deadline_ = watchdog_->deadline_;
    watchdog_->collective_ = collective;
    watchdog_->deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(watchdog_->timeout_);
    // A thread already waiting for an earlier deadline wakes up then and
    // sees this one; only an idle thread needs a signal.
    wake = watchdog_->idle_;
  }
  if (wake) watchdog_->changed_.notify_one();
}

CollectiveWatchdog::Armed::~Armed() {
  if (!watchdog_) return;
  // No wake-up: the thread finds the collective gone when it next looks.
  std::lock_guard<std::mutex> lock(watchdog_->mutex_);
  watchdog_->collective_ = previous_collective_;
  watchdog_->deadline_ = previous_deadline_;
}

std::string CollectiveWatchdog::expiry_message(const char* collective) const {
  std::ostringstream text;
  text << who_ << ": " << collective << " has not completed after " << timeout_.count()
       << " s (dist.timeout_s): another rank of the job is lost, hung or cut off from this one; ending the job";
  return text.str();
}

void CollectiveWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (collective_ == nullptr) {
      idle_ = true;
      changed_.wait(lock);
      idle_ = false;
      continue;
    }
    if (Clock::now() < deadline_) {
      changed_.wait_until(lock, deadline_);
      continue;
    }
    const std::string message = expiry_message(collective_);
    collective_ = nullptr;  // fires once per armed collective
    lock.unlock();
    on_expiry_(message);
    lock.lock();
  }
}

void end_job_from_watchdog(const std::string& message) {
  std::cerr << "cdae: error on " << message << std::endl;
  // MPI_Abort asks the launcher to end every rank. Should the launcher be
  // unreachable as well, do not wait for it: this rank at least goes away.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::fprintf(stderr, "cdae: MPI_Abort did not return within 10 s; exiting\n");
    std::_Exit(1);
  }).detach();
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace cdae::dist
