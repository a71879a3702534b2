#include "cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace fanout::cli {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string human_duration(double seconds) {
  char buf[32];
  if (seconds < 60)
    std::snprintf(buf, sizeof buf, "%.0fs", seconds);
  else if (seconds < 3600)
    std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", seconds / 60, std::fmod(seconds, 60));
  else
    std::snprintf(buf, sizeof buf, "%.0fh%02.0fm", seconds / 3600, std::fmod(seconds / 60, 60));
  return buf;
}

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

std::string Progress::line(uint64_t done, const std::string& note, bool final) const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  constexpr int kWidth = 20;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "]";
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3.0f%%", frac * 100);
  std::string out =
      label_ + " " + bar + " " + pct + "  " + human_bytes(done) + " / " + human_bytes(total_);
  if (secs > 0 && done > 0) out += "  " + human_bytes(done / secs) + "/s";
  if (final) {
    out += "  in " + human_duration(secs);
  } else if (done > 0 && done < total_ && secs > 0) {
    out += "  ETA " + human_duration((total_ - done) / (done / secs));
  }
  if (!note.empty()) out += "  " + note;
  return out;
}

void Progress::update(uint64_t done, const std::string& note) {
  done_ = done;
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  std::cerr << "\r\033[K" << line(done, note, false) << std::flush;
}

void Progress::finish(const std::string& note) {
  std::cerr << (tty_ ? "\r\033[K" : "") << line(done_, note, true) << "\n";
}

}  // namespace fanout::cli
