#pragma once
// What both benchmarks report: completion times as ratios of the single-node time (the figure of
// merit of issue 7), the JSON they write, the table they print and the CDF they plot.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fanout::sim {

struct CompletionSummary {
  double single_node_seconds = 0;
  double p50_seconds = 0, p99_seconds = 0, p999_seconds = 0, max_seconds = 0;
  double p50_ratio = 0, p99_ratio = 0, p999_ratio = 0, max_ratio = 0;
  uint32_t finished = 0, unfinished = 0;
};

// Nearest-rank percentile (q in [0, 1]) of `values`; 0 when empty.
double percentile(std::vector<double> values, double q);

// `completion_sec` < 0 marks a node that never finished (it counts as +infinity).
CompletionSummary summarize(const std::vector<double>& completion_sec, double single_node_seconds);

// The fluid-model bound (Kumar & Ross) over the single-node time S/D:
// max(S/U0, S/D, N*S/(U0 + N*U)) / (S/D), U0 being all origins' upload together.
double fluid_limit_ratio(double nodes, double size, double down, double up, double origins_up);

// Puts the summary's keys into `out`.
void to_json(nlohmann::json& out, const CompletionSummary& s);

// Writes `completion_sec` (and, if not empty, `baseline_sec`) as a CDF PNG with gnuplot.
// Returns an empty string on success, else why not (gnuplot missing, failed).
std::string plot_cdf(const std::filesystem::path& png, const std::string& title,
                     const std::vector<double>& completion_sec, const std::string& label,
                     const std::vector<double>& baseline_sec, const std::string& baseline_label);

// `FILE.json` -> `FILE.png` (next to the JSON).
std::filesystem::path png_beside(const std::filesystem::path& json);

}  // namespace fanout::sim
