//===- Runtime.h - the d2lrt C++ API: load, bind, run, plan -----*- C++ -*-===//
//
//   d2lrt::Model model("lenet.cu", {d2lrt::Device::Host});
//   model.initialize(/*seed=*/0);                 // or setTensor(...)
//   d2lrt::TensorFile in;  in.set("X", x);  in.set("labels", y);
//   in.set("lr", lr);
//   d2lrt::TensorFile out = model.run("train_step", in);
//   float loss = out.find("loss")->data<float>()[0];
//
// Parameters and states stay resident between runs; results that carry a
// parameter's or state's name update it. Errors throw d2lrt::Error.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_RUNTIME_H
#define D2LRT_RUNTIME_H

#include "d2lrt/Error.h"
#include "d2lrt/Manifest.h"
#include "d2lrt/MemoryPlan.h"
#include "d2lrt/Safetensors.h"

#include <memory>
#include <string>
#include <vector>

namespace d2lrt {

enum class Device { Host, Cuda };

struct Options {
  Device device = Device::Host;
  /// Host backend worker threads (0: one per core).
  unsigned threads = 0;
  /// CUDA device ordinal.
  int gpu = 0;
  /// Compile cache directory ("": CompileCache::defaultDir()).
  std::string cacheDir;
  /// Time every launch (synchronising after each): see Model::profile.
  bool profile = false;
};

/// One buffer of an entry's plan, for reports.
struct PlannedBuffer {
  int id;
  std::string name;
  BufferKind kind;
  uint64_t bytes;
  uint64_t offset; // in the arena (arena kinds only)
  int first, last;
};

struct EntryPlan {
  MemoryPlan plan;
  std::vector<PlannedBuffer> buffers;
};

/// Time spent in one launch of an entry (with Options::profile).
struct LaunchProfile {
  std::string kernel, ops;
  double seconds = 0; // summed over runs
  unsigned runs = 0;
};

struct CompileReport {
  bool cacheHit = false;
  double seconds = 0; // compile or cache-load time
  std::string path;
};

/// Which results Model::run copies back to the host.
enum class Fetch {
  All,     ///< every result
  Outputs, ///< all but the updated parameters and states: a training loop on
           ///< a GPU reads those with tensor() when it needs them
};

class Model {
public:
  /// Loads a model.cu, validates its manifest and compiles it for the device.
  explicit Model(const std::string &path, const Options &options = {});
  ~Model();
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;

  const Manifest &manifest() const;
  std::string deviceName() const;
  const CompileReport &compileReport() const;

  /// Initialises every parameter and state from its initialiser.
  void initialize(uint64_t seed);
  /// Binds a parameter or state by name (checked against its shape and
  /// dtype).
  void setTensor(const std::string &name, const HostTensor &tensor);
  /// The current value of a parameter or state.
  HostTensor tensor(const std::string &name) const;
  /// Whether a parameter or state has a value.
  bool hasTensor(const std::string &name) const;

  /// Runs an entry point. `inputs` holds its data inputs by name; tensors
  /// named like parameters or states are bound first. Returns the results
  /// that `fetch` asks for; updated parameters and states stay resident.
  TensorFile run(const std::string &entry, const TensorFile &inputs,
                 Fetch fetch = Fetch::All);

  /// The memory plan of an entry (arena offsets, bound, naive sum).
  const EntryPlan &plan(const std::string &entry) const;

  /// Per-launch times of an entry's runs so far (with Options::profile).
  std::vector<LaunchProfile> profile(const std::string &entry) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Plans the arena of an entry point from its manifest (no compilation);
/// the plan is checked for overlaps, an internal error throws.
EntryPlan planEntry(const EntrySpec &entry);

/// Reads a whole file; throws Error naming it.
std::string readTextFile(const std::string &path);

} // namespace d2lrt

#endif // D2LRT_RUNTIME_H
