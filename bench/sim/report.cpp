#include "bench/sim/report.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

namespace fanout::sim {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(q * double(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

CompletionSummary summarize(const std::vector<double>& completion_sec, double single) {
  CompletionSummary s;
  s.single_node_seconds = single;
  std::vector<double> v;
  for (double t : completion_sec) {
    if (t < 0) {
      ++s.unfinished;
      v.push_back(std::numeric_limits<double>::infinity());
    } else {
      ++s.finished;
      v.push_back(t);
    }
  }
  s.p50_seconds = percentile(v, 0.50);
  s.p99_seconds = percentile(v, 0.99);
  s.p999_seconds = percentile(v, 0.999);
  s.max_seconds = percentile(v, 1.0);
  auto ratio = [&](double t) { return single > 0 ? t / single : 0; };
  s.p50_ratio = ratio(s.p50_seconds);
  s.p99_ratio = ratio(s.p99_seconds);
  s.p999_ratio = ratio(s.p999_seconds);
  s.max_ratio = ratio(s.max_seconds);
  return s;
}

double fluid_limit_ratio(double n, double size, double down, double up, double origins_up) {
  double t = std::max({size / origins_up, size / down, n * size / (origins_up + n * up)});
  return t / (size / down);
}

void to_json(nlohmann::json& out, const CompletionSummary& s) {
  // JSON has no infinity: an unfinished node makes the tail null.
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
  out["single_node_seconds"] = s.single_node_seconds;
  out["p50_seconds"] = num(s.p50_seconds);
  out["p99_seconds"] = num(s.p99_seconds);
  out["p999_seconds"] = num(s.p999_seconds);
  out["max_seconds"] = num(s.max_seconds);
  out["p50_ratio"] = num(s.p50_ratio);
  out["p99_ratio"] = num(s.p99_ratio);
  out["p999_ratio"] = num(s.p999_ratio);
  out["max_ratio"] = num(s.max_ratio);
  out["finished"] = s.finished;
  out["unfinished"] = s.unfinished;
}

namespace {
void write_cdf(std::ofstream& out, std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double t) { return t < 0; }), v.end());
  std::sort(v.begin(), v.end());
  for (size_t i = 0; i < v.size(); ++i) out << v[i] << ' ' << double(i + 1) / v.size() << '\n';
  out << "\n\n";
}
}  // namespace

std::string plot_cdf(const std::filesystem::path& png, const std::string& title,
                     const std::vector<double>& completion_sec, const std::string& label,
                     const std::vector<double>& baseline_sec, const std::string& baseline_label) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    return "gnuplot is not installed (Debian: gnuplot-nox); no PNG written";
  }
  auto data = png;
  data.replace_extension(".cdf.dat");
  auto script = png;
  script.replace_extension(".gp");
  {
    std::ofstream out(data);
    write_cdf(out, completion_sec);
    if (!baseline_sec.empty()) write_cdf(out, baseline_sec);
  }
  {
    std::ofstream out(script);
    out << "set terminal pngcairo size 900,600 noenhanced\n"
        << "set output '" << png.string() << "'\n"
        << "set title '" << title << "'\n"
        << "set xlabel 'seconds since the rollout started'\n"
        << "set ylabel 'share of nodes complete'\n"
        << "set key bottom right\nset grid\nset yrange [0:1.02]\n"
        << "plot '" << data.string() << "' index 0 with steps lw 2 title '" << label << "'";
    if (!baseline_sec.empty()) {
      out << ", '" << data.string() << "' index 1 with steps lw 2 title '" << baseline_label << "'";
    }
    out << "\n";
  }
  int rc = std::system(("gnuplot '" + script.string() + "' 2>/dev/null").c_str());
  if (rc != 0) {
    // pngcairo may be missing from a minimal build: fall back to the plain png terminal.
    std::string cmd = "sed -i 's/pngcairo size 900,600/png size 900,600/' '" + script.string() +
                      "' && gnuplot '" + script.string() + "'";
    rc = std::system(cmd.c_str());
    if (rc != 0) return "gnuplot failed (see " + script.string() + ")";
  }
  std::filesystem::remove(script);
  std::filesystem::remove(data);
  return {};
}

std::filesystem::path png_beside(const std::filesystem::path& json) {
  auto png = json;
  png.replace_extension(".png");
  return png;
}

}  // namespace fanout::sim
