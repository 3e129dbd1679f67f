//===- Manifest.h - the compiler-to-runtime contract ------------*- C++ -*-===//
//
// Every model.cu carries a manifest: a JSON document between the lines
// "D2LC-MANIFEST-BEGIN" and "D2LC-MANIFEST-END" of a comment. The runtime owns
// this schema (the compiler writes it, the runtime validates it). It lists the
// kernels, the persistent tensors (parameters and states), the constants and,
// per entry point, its arguments, results, buffers (with kind, size and the
// first and last launch that touch them) and launches (kernel, grid, block,
// buffer arguments, the IR ops it came from). Documented in the README.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_MANIFEST_H
#define D2LRT_MANIFEST_H

#include "d2lrt/Safetensors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace d2lrt {

/// The manifest version this runtime reads.
constexpr int kManifestVersion = 1;

enum class BufferKind {
  Parameter, // a trainable tensor, resident between runs
  State,     // BatchNorm statistics, momentum buffers: resident
  Constant,  // a literal of the model, resident
  Input,     // data bound for one run
  Output,    // a result that is not a parameter or state
  Activation,
  Saved, // a forward value kept for the backward pass
  Gradient,
  Workspace, // kernel scratch
};

const char *bufferKindName(BufferKind kind);
/// Whether the kind lives in the per-run arena (everything but parameters,
/// states and constants).
bool isArenaKind(BufferKind kind);

struct TensorSpec {
  std::string name;
  BufferKind kind = BufferKind::Parameter; // Parameter or State
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::string init; // initialiser spec, may be empty
};

struct ConstantSpec {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  bool splat = true;
  std::vector<double> values; // one value when splat
};

struct BufferSpec {
  int id = 0;
  BufferKind kind = BufferKind::Activation;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
  int first = 0, last = 0; // launch indices; inputs start at -1
  std::string tensor;      // Parameter/State: the tensor's name
  int constant = -1;       // Constant: index into Manifest::constants
  std::string name;        // for reports: the value's name or op
  /// The compiler's arena offset (arena kinds), or -1 when it planned none.
  int64_t offset = -1;
};

struct LaunchSpec {
  int kernel = 0;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  std::vector<int> args; // buffer ids
  std::string ops;       // the IR ops it came from
};

struct BindingSpec {
  std::string name;
  BufferKind kind = BufferKind::Input; // Parameter, State, Input or Output
  int buffer = 0;
};

struct EntrySpec {
  std::string name;
  std::vector<BindingSpec> arguments;
  std::vector<BindingSpec> results;
  std::vector<BufferSpec> buffers;
  std::vector<LaunchSpec> launches;
  /// The compiler's arena size, or -1 (then the runtime plans the arena).
  int64_t arena = -1;
};

struct Manifest {
  int version = 0;
  std::string model, arch, generator;
  std::vector<std::string> kernels;
  std::vector<TensorSpec> tensors;
  std::vector<ConstantSpec> constants;
  std::vector<EntrySpec> entries;

  const EntrySpec *entry(const std::string &name) const;
  const TensorSpec *tensor(const std::string &name) const;
};

/// Extracts the manifest from a model.cu's text and validates it (version,
/// references between its parts, sizes). Throws d2lrt::Error naming `what`.
Manifest parseManifest(const std::string &source, const std::string &what);

} // namespace d2lrt

#endif // D2LRT_MANIFEST_H
