#pragma once
// One progress line on stderr, redrawn in place at most a few times a second:
//   "hashing  [#########           ]  45%  1.2 GiB / 2.7 GiB  310.0 MiB/s  ETA 5s"
// Only drawn when stderr is a terminal (or when forced), so logs and tests stay readable; the
// final line is always printed.
#include <chrono>
#include <cstdint>
#include <string>

namespace fanout::cli {

std::string human_bytes(double bytes);
std::string human_duration(double seconds);

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  // Sets the amount done and redraws when due; `note` is appended ("3/5 layers").
  void update(uint64_t done, const std::string& note = "");
  // Prints the final line with the elapsed time.
  void finish(const std::string& note = "");

 private:
  std::string line(uint64_t done, const std::string& note, bool final) const;

  std::string label_;
  uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  uint64_t done_ = 0;
};

}  // namespace fanout::cli
