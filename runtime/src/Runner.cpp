//===- Runner.cpp - run an entry of a compiled model, as a tool does ------===//

#include "d2lrt/Runner.h"

#include "d2lrt/Runtime.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace d2lrt {

namespace {
std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void printPlan(const std::string &entry, const EntryPlan &p,
               std::ostream &out) {
  out << fmt::format(
      "memory plan of @{}: arena {} bytes, lower bound {} "
      "bytes, naive {} bytes ({:.3f}x the bound)\n",
      entry, p.plan.arenaBytes, p.plan.lowerBound, p.plan.naiveBytes,
      p.plan.lowerBound ? double(p.plan.arenaBytes) / double(p.plan.lowerBound)
                        : 1.0);
  for (const PlannedBuffer &b : p.buffers) {
    out << fmt::format("  {:4} {:<10} {:12} bytes", b.id,
                       bufferKindName(b.kind), b.bytes);
    if (isArenaKind(b.kind))
      out << fmt::format(" at {:12} live {}..{}", b.offset, b.first, b.last);
    out << "  " << b.name << "\n";
  }
}
} // namespace

void runCompiledModel(const RunRequest &r, std::ostream &out,
                      std::ostream &err) {
  if (r.device != "host" && r.device != "cuda")
    throw Error("unknown backend '" + r.device +
                "' for a compiled model (available: host, cuda)");
  if (r.plan && r.inputs.empty()) {
    // The plan comes from the manifest alone: nothing is compiled or run.
    Manifest m = parseManifest(readTextFile(r.model), r.model);
    const EntrySpec *spec = m.entry(r.entry);
    if (!spec)
      throw Error(r.model + ": no entry point '" + r.entry + "'");
    printPlan(r.entry, planEntry(*spec), out);
    return;
  }
  Options options;
  options.device = r.device == "cuda" ? Device::Cuda : Device::Host;
  options.threads = r.threads;
  options.profile = r.profile;
  Model model(r.model, options);
  TensorFile inputs;
  if (!r.inputs.empty()) {
    std::string e = readSafetensors(r.inputs, inputs);
    if (!e.empty())
      throw Error(e);
  }
  // Parameters the inputs lack start from their initialisers.
  bool missing = false;
  for (const TensorSpec &t : model.manifest().tensors)
    missing |= !inputs.find(t.name);
  if (missing)
    model.initialize(r.seed);
  // Parameters and states are bound once and stay resident: repeated runs
  // continue from the previous run's values.
  const EntrySpec *spec = model.manifest().entry(r.entry);
  TensorFile data;
  for (const auto &[name, t] : inputs.tensors) {
    if (model.manifest().tensor(name)) {
      model.setTensor(name, t);
      continue;
    }
    bool known = false;
    if (spec)
      for (const BindingSpec &a : spec->arguments)
        known |= a.name == name;
    if (spec && !known)
      err << "warning: tensor '" << name << "' in " << r.inputs
          << " is not an argument of @" << r.entry << "; ignored\n";
    data.set(name, t);
  }
  TensorFile result;
  std::vector<double> times;
  // Runs before the last fetch only the outputs (loss, logits), as a
  // training loop does: the updated parameters stay on the device.
  if (r.time)
    result = model.run(r.entry, data, Fetch::Outputs); // warm-up
  unsigned runs = std::max(1u, r.repeat);
  for (unsigned i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    result =
        model.run(r.entry, data, i + 1 < runs ? Fetch::Outputs : Fetch::All);
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  if (r.plan)
    printPlan(r.entry, model.plan(r.entry), out);
  if (r.profile) {
    auto launches = model.profile(r.entry);
    double total = 0;
    for (const LaunchProfile &p : launches)
      total += p.seconds;
    std::stable_sort(
        launches.begin(), launches.end(),
        [](const auto &a, const auto &b) { return a.seconds > b.seconds; });
    out << fmt::format("profile of @{}: {:.4f} s per run in {} launches\n",
                       r.entry, total / std::max(1u, r.repeat),
                       launches.size());
    for (size_t i = 0; i < launches.size() && i < 15; ++i)
      out << fmt::format("  {:6.2f}%  {:9.5f} s  {:<22} {}\n",
                         100 * launches[i].seconds / total,
                         launches[i].seconds / std::max(1u, launches[i].runs),
                         launches[i].kernel, launches[i].ops);
  }
  if (r.time) {
    std::vector<double> sorted(times);
    std::sort(sorted.begin(), sorted.end());
    out << fmt::format("time of @{} on {}: median {:.6f} s, min {:.6f} s over "
                       "{} runs\n",
                       r.entry, model.deviceName(), sorted[sorted.size() / 2],
                       sorted.front(), sorted.size());
  }
  if (!r.output.empty()) {
    std::string e = writeSafetensors(r.output, result);
    if (!e.empty())
      throw Error(e);
  }
  for (const auto &[name, t] : result.tensors) {
    out << name << ": " << shapeString(t.shape);
    if (t.shape.empty() && t.dtype == DType::F32)
      out << " = " << fmt::format("{:.6e}", t.data<float>()[0]);
    out << "\n";
  }
}

} // namespace d2lrt
