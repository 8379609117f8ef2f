// plot.cpp: `difft plot`, train and validation loss curves of one or more runs as an SVG file.
// Train loss is drawn thin (an exponential moving average over steps), validation loss thick
// with dots; one colour per run, named in the legend by its folder.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/commands.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace difft::app {
namespace fs = std::filesystem;

cli::Command plot_command() {
  return cli::Command("plot", "draw the loss curves of training runs into an SVG file",
                      {{"runs", "", "comma-separated run folders (each with a log.jsonl)"},
                       {"out", "loss.svg", "SVG file to write"},
                       {"smooth", "0.9", "EMA factor for the train loss (0 = raw)"}});
}

namespace {
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> train, val;  // (step, loss)
};

std::string esc(const std::string& s) {
  std::string o;
  for (char ch : s) o += ch == '<' ? "&lt;" : ch == '&' ? "&amp;" : ch == '>' ? "&gt;" : std::string(1, ch);
  return o;
}
}  // namespace

int run_plot(const cli::Command& c) {
  std::vector<Series> runs;
  const double smooth = c.real("smooth", 0.0, 0.9999);
  std::stringstream list(c.str("runs"));
  for (std::string dir; std::getline(list, dir, ',');) {
    if (dir.empty()) continue;
    const fs::path log = fs::path(dir) / "log.jsonl";
    std::ifstream f(log);
    DIFFT_CHECK(f.good(), "plot: '", log.string(), "' not found (is '", dir, "' a training run folder?)");
    Series s;
    s.name = fs::path(dir).filename().string();
    if (s.name.empty()) s.name = dir;
    double ema = NAN;
    for (std::string line; std::getline(f, line);) {
      nlohmann::json j;
      try { j = nlohmann::json::parse(line); } catch (const nlohmann::json::exception&) { continue; }
      if (!j.contains("step") || !j.contains("loss")) continue;
      const double step = j["step"].get<double>() + 1, loss = j["loss"].get<double>();
      ema = std::isnan(ema) ? loss : smooth * ema + (1 - smooth) * loss;
      s.train.emplace_back(step, ema);
      if (j.contains("val_loss")) s.val.emplace_back(step, j["val_loss"].get<double>());
    }
    DIFFT_CHECK(!s.train.empty(), "plot: '", log.string(), "' holds no steps yet");
    runs.push_back(std::move(s));
  }
  if (runs.empty()) throw cli::UsageError("plot: --runs DIR[,DIR...] is required");

  double x1 = 1, y0 = 1e300, y1 = -1e300;
  for (const Series& s : runs)
    for (const auto* v : {&s.train, &s.val})
      for (auto [x, y] : *v) x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (y1 <= y0) y1 = y0 + 1;
  const double W = 800, H = 500, L = 70, R = 20, Tm = 30, Bm = 50;
  auto X = [&](double x) { return L + (W - L - R) * x / x1; };
  auto Y = [&](double y) { return Tm + (H - Tm - Bm) * (y1 - y) / (y1 - y0); };
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (int i = 0; i <= 5; ++i) {  // grid and tick labels
    const double yv = y0 + (y1 - y0) * i / 5, xv = x1 * i / 5;
    svg << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << Y(yv) << "\" y2=\"" << Y(yv) << "\" stroke=\"#ddd\"/>"
        << "<text x=\"" << L - 6 << "\" y=\"" << Y(yv) + 4 << "\" text-anchor=\"end\">" << std::setprecision(3) << yv << "</text>\n"
        << "<text x=\"" << X(xv) << "\" y=\"" << H - Bm + 18 << "\" text-anchor=\"middle\">" << int64_t(xv) << "</text>\n";
  }
  svg << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 10 << "\" text-anchor=\"middle\">step</text>"
      << "<text x=\"16\" y=\"" << H / 2 << "\" transform=\"rotate(-90 16 " << H / 2 << ")\" text-anchor=\"middle\">loss (nats/token)</text>\n"
      << "<rect x=\"" << L << "\" y=\"" << Tm << "\" width=\"" << W - L - R << "\" height=\"" << H - Tm - Bm
      << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (size_t r = 0; r < runs.size(); ++r) {
    const char* col = colors[r % 6];
    auto path = [&](const std::vector<std::pair<double, double>>& pts, double width) {
      svg << "<polyline fill=\"none\" stroke=\"" << col << "\" stroke-width=\"" << width << "\" points=\"";
      for (auto [x, y] : pts) svg << X(x) << "," << Y(y) << " ";
      svg << "\"/>\n";
    };
    path(runs[r].train, 1);
    if (!runs[r].val.empty()) {
      path(runs[r].val, 2.5);
      for (auto [x, y] : runs[r].val) svg << "<circle cx=\"" << X(x) << "\" cy=\"" << Y(y) << "\" r=\"3\" fill=\"" << col << "\"/>";
    }
    svg << "\n<text x=\"" << W - R - 10 << "\" y=\"" << Tm + 18 + 16 * double(r) << "\" text-anchor=\"end\" fill=\"" << col << "\">"
        << esc(runs[r].name) << ": train (thin), validation (thick)</text>\n";
  }
  svg << "</svg>\n";
  write_file_atomic(c.str("out"), svg.str());
  std::cout << "plot: wrote " << c.str("out") << " (" << runs.size() << " run" << (runs.size() > 1 ? "s" : "") << ")\n";
  return 0;
}

}  // namespace difft::app
