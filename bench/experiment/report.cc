#include "bench/experiment/report.h"

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include "bench/experiment/baselines/libraries.h"
#include "maddness/maddness.h"
#include "src/io/file.h"

namespace maddness::experiment {
namespace {

namespace fs = std::filesystem;

// The machine's fields (the same on every row): the CPU model and the library's SIMD target.
struct Machine {
  std::string cpu, target;
};

nlohmann::ordered_json PointJson(const Point& point, const Machine& machine, int threads) {
  const auto optional = [](const auto& value) {
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json json;
  json["task"] = point.task;
  json["group"] = point.group;
  json["method"] = point.method;
  json["params"] = point.params;
  json["codebooks"] = optional(point.codebooks);
  json["sketch_dim"] = optional(point.sketch_dim);
  json["nmse"] = optional(point.nmse);
  json["accuracy"] = optional(point.accuracy);
  json["exact_accuracy"] = optional(point.exact_accuracy);
  json["relative_accuracy"] = optional(point.relative_accuracy);
  json["frac_above_0.5"] = optional(point.frac_above_050);
  json["frac_above_0.75"] = optional(point.frac_above_075);
  json["frac_above_0.95"] = optional(point.frac_above_095);
  json["time_ms"] = optional(point.time_ms);
  json["layout"] = point.layout;
  json["library"] = point.library;
  json["time_row_ms"] = optional(point.time_row_ms);
  json["time_col_ms"] = optional(point.time_col_ms);
  json["exact_time_ms"] = optional(point.exact_time_ms);
  json["exact_library"] = point.exact_library;
  json["exact_layout"] = point.exact_layout;
  json["speedup"] = optional(point.speedup);
  json["speedup_row"] = optional(point.speedup_row);
  json["time_raw_ms"] = optional(point.time_raw_ms);
  json["speedup_raw"] = optional(point.speedup_raw);
  json["raw_layout"] = point.raw_layout;
  json["encode_ms"] = optional(point.encode_ms);
  json["output_write_ms"] = optional(point.output_write_ms);
  json["speedup_ceiling"] = optional(point.speedup_ceiling);
  json["fit_seconds"] = optional(point.fit_seconds);
  json["n_train"] = point.n_train;
  json["n_test"] = point.n_test;
  json["timed_rows"] = point.timed_rows;
  json["d"] = point.d;
  json["m"] = point.m;
  json["timing_note"] = point.timing_note;
  json["cpu"] = machine.cpu;
  json["target"] = machine.target;
  json["threads"] = threads;
  return json;
}

std::string CsvField(const nlohmann::ordered_json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text.find_first_of(",\"\n") == std::string::npos) return text;
    std::string quoted = "\"";
    for (const char ch : text) {
      if (ch == '"') quoted += '"';
      quoted += ch;
    }
    return quoted + "\"";
  }
  if (value.is_number_float()) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.9g", value.get<double>());
    return text;
  }
  return value.dump();
}

void WriteText(const fs::path& path, const std::string& text, const std::string& name) {
  io::WriteFileAtomic(path.string(), std::vector<std::uint8_t>(text.begin(), text.end()), name);
}

}  // namespace

void WriteResults(const fs::path& out_dir, const std::vector<Point>& points,
                  const nlohmann::ordered_json& settings_json, int threads) {
  const Machine machine{baselines::CpuModel(), SimdTarget()};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const Point& point : points) rows.push_back(PointJson(point, machine, threads));
  nlohmann::ordered_json document;
  document["settings"] = settings_json;
  document["points"] = rows;
  WriteText(out_dir / "results.json", document.dump(1) + "\n", "--out");

  std::ostringstream csv;
  const nlohmann::ordered_json header = PointJson(Point{}, machine, threads);
  bool first = true;
  for (const auto& item : header.items()) {
    csv << (first ? "" : ",") << item.key();
    first = false;
  }
  csv << '\n';
  for (const nlohmann::ordered_json& row : rows) {
    first = true;
    for (const auto& item : row.items()) {
      csv << (first ? "" : ",") << CsvField(item.value());
      first = false;
    }
    csv << '\n';
  }
  WriteText(out_dir / "results.csv", csv.str(), "--out");
}

}  // namespace maddness::experiment
