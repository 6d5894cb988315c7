// Ends the job when a blocking collective does not complete in time.
//
// A blocking MPI collective waits for every rank. When a rank's node dies or
// is cut off from the network, MPI over TCP often never notices (a partition
// sends no reset; Open MPI 4 even keeps waiting after it has printed that a
// peer disconnected), and the job would hang until its time limit. The
// communicator arms this watchdog around each blocking call; a helper thread
// ends the whole job (MPI_Abort) with a message naming this rank, its host
// and the collective when one stays armed longer than the timeout
// (dist.timeout_s). A rank that is merely slow (a long checkpoint write,
// a stalled epoch shorter than the timeout) only delays the others.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cdae::dist {

class CollectiveWatchdog {
 public:
  // Called once, on the watchdog thread, with the message; the default ends
  // the job (end_job_from_watchdog). Tests pass a recorder.
  using Expiry = std::function<void(const std::string& message)>;

  // `who` names this process in the message, e.g. "rank 2 (node n2)";
  // timeout_s <= 0 turns the watchdog off (no thread).
  CollectiveWatchdog(double timeout_s, std::string who, Expiry on_expiry);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  // Armed while it lives: construct it right before the blocking call. A
  // null watchdog (none configured) makes it do nothing.
  class Armed {
   public:
    Armed(CollectiveWatchdog* watchdog, const char* collective);
    ~Armed();
    Armed(const Armed&) = delete;
    Armed& operator=(const Armed&) = delete;

   private:
    CollectiveWatchdog* watchdog_;
    const char* previous_collective_ = nullptr;
    std::chrono::steady_clock::time_point previous_deadline_;
  };

  double timeout_s() const { return timeout_.count(); }

 private:
  using Clock = std::chrono::steady_clock;
  void watch();  // the helper thread
  std::string expiry_message(const char* collective) const;

  const std::chrono::duration<double> timeout_;
  const std::string who_;
  const Expiry on_expiry_;

  std::mutex mutex_;
  std::condition_variable changed_;
  const char* collective_ = nullptr;  // the armed collective; nullptr: none
  Clock::time_point deadline_;
  bool idle_ = true;       // the thread waits without a deadline and needs a wake-up
  bool stopping_ = false;  // set by the destructor
  std::thread thread_;
};

// Prints "cdae: error on <message>" and ends every rank with
// MPI_Abort; if MPI_Abort itself does not return within a few seconds (its
// runtime may be cut off too), the process exits on its own. Safe to call
// from a thread other than the one inside MPI.
[[noreturn]] void end_job_from_watchdog(const std::string& message);

// "rank R (node HOST)": how messages name a rank; HOST is gethostname().
std::string describe_rank(int rank);

}  // namespace cdae::dist
