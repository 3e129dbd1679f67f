//===- Model.cpp - load a model.cu and run its entry points ---------------===//

#include "d2lrt/Runtime.h"

#include "Backend.h"

#include "d2lrt/Compiler.h"
#include "d2lrt/Init.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace d2lrt {

std::string readTextFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// A constant's bytes from its manifest values.
std::vector<uint8_t> constantBytes(const ConstantSpec &c) {
  int64_t n = 1;
  for (int64_t d : c.shape)
    n *= d;
  std::vector<uint8_t> bytes(size_t(n) * dtypeSize(c.dtype));
  for (int64_t i = 0; i < n; ++i) {
    double v = c.splat ? c.values[0] : c.values[i];
    switch (c.dtype) {
    case DType::F32:
      reinterpret_cast<float *>(bytes.data())[i] = float(v);
      break;
    case DType::F64:
      reinterpret_cast<double *>(bytes.data())[i] = v;
      break;
    case DType::I64:
      reinterpret_cast<int64_t *>(bytes.data())[i] = int64_t(v);
      break;
    case DType::I32:
      reinterpret_cast<int32_t *>(bytes.data())[i] = int32_t(v);
      break;
    default:
      throw Error("unsupported constant dtype");
    }
  }
  return bytes;
}
} // namespace

EntryPlan planEntry(const EntrySpec &spec) {
  EntryPlan result;
  std::vector<PlanRequest> requests;
  std::vector<uint64_t> given;
  for (const BufferSpec &b : spec.buffers)
    if (isArenaKind(b.kind)) {
      requests.push_back({b.bytes, b.first, b.last});
      if (b.offset >= 0)
        given.push_back(uint64_t(b.offset));
    }
  if (spec.arena >= 0 && given.size() == requests.size()) {
    // The compiler planned the arena (d2lc runs this same planner once, at
    // compile time); its bound and naive size are recomputed, and the plan
    // is checked below like any other.
    result.plan = planBounds(requests);
    result.plan.offsets = given;
    result.plan.arenaBytes = uint64_t(spec.arena);
  } else {
    result.plan = planMemory(requests);
  }
  std::string conflict = checkMemoryPlan(requests, result.plan);
  if (!conflict.empty())
    throw Error("internal error: the memory plan of " + spec.name + ": " +
                conflict);
  size_t k = 0;
  for (const BufferSpec &b : spec.buffers) {
    uint64_t offset = 0;
    if (isArenaKind(b.kind))
      offset = result.plan.offsets[k++];
    result.buffers.push_back(
        {b.id, b.name, b.kind, b.bytes, offset, b.first, b.last});
  }
  return result;
}

struct Model::Impl {
  std::string path;
  Manifest manifest;
  std::unique_ptr<Backend> backend;
  CompileReport report;
  /// Resident storage of parameters and states, and constants.
  std::map<std::string, void *> tensors;
  std::vector<void *> constants;
  struct EntryState {
    const EntrySpec *spec = nullptr;
    EntryPlan plan;
    void *arena = nullptr;
    std::vector<LaunchProfile> profile;
  };
  bool profiling = false;
  std::map<std::string, EntryState> entries;

  ~Impl() {
    if (!backend)
      return;
    for (auto &[n, p] : tensors)
      if (p)
        backend->release(p);
    for (void *p : constants)
      backend->release(p);
    for (auto &[n, e] : entries)
      if (e.arena)
        backend->release(e.arena);
  }

  const TensorSpec &tensorSpec(const std::string &name) const {
    const TensorSpec *t = manifest.tensor(name);
    if (!t) {
      std::string known;
      for (const TensorSpec &s : manifest.tensors)
        known += (known.empty() ? "" : ", ") + s.name;
      throw Error(fmt::format("{}: no parameter or state named '{}' "
                              "(the model has: {})",
                              path, name, known));
    }
    return *t;
  }

  static uint64_t bytesOf(const TensorSpec &t) {
    uint64_t n = 1;
    for (int64_t d : t.shape)
      n *= uint64_t(d);
    return n * dtypeSize(t.dtype);
  }

  void *storage(const std::string &name) {
    void *&p = tensors[name];
    if (!p)
      p = backend->allocate(bytesOf(tensorSpec(name)));
    return p;
  }

  EntryState &entry(const std::string &name) {
    auto it = entries.find(name);
    if (it != entries.end())
      return it->second;
    const EntrySpec *spec = manifest.entry(name);
    if (!spec) {
      std::string known;
      for (const EntrySpec &e : manifest.entries)
        known += (known.empty() ? "" : ", ") + e.name;
      throw Error(fmt::format("{}: no entry point '{}' (entries: {})", path,
                              name, known));
    }
    EntryState &state = entries[name];
    state.spec = spec;
    state.plan = planEntry(*spec);
    return state;
  }

  void *bufferPointer(EntryState &e, const BufferSpec &b) {
    switch (b.kind) {
    case BufferKind::Parameter:
    case BufferKind::State:
      if (!tensors.count(b.tensor) || !tensors[b.tensor])
        throw Error(
            fmt::format("{}: {} '{}' has no value: bind it (for example from a "
                        "checkpoint) or initialise the model with a seed",
                        path, bufferKindName(b.kind), b.tensor));
      return tensors[b.tensor];
    case BufferKind::Constant:
      return constants[b.constant];
    default:
      return static_cast<char *>(e.arena) + e.plan.buffers[b.id].offset;
    }
  }

  void checkTensor(const std::string &what, const std::string &name,
                   const HostTensor &t, DType dtype,
                   const std::vector<int64_t> &shape) const {
    if (t.shape != shape)
      throw Error(fmt::format("{}: tensor '{}' has shape {} but the model "
                              "expects {}",
                              what, name, shapeString(t.shape),
                              shapeString(shape)));
    if (t.dtype != dtype)
      throw Error(fmt::format("{}: tensor '{}' has dtype {} but the model "
                              "expects {}",
                              what, name, dtypeName(t.dtype),
                              dtypeName(dtype)));
  }
};

Model::Model(const std::string &path, const Options &options)
    : impl(std::make_unique<Impl>()) {
  impl->path = path;
  impl->profiling = options.profile;
  std::string source = readTextFile(path);
  impl->manifest = parseManifest(source, path);
  impl->backend = options.device == Device::Cuda
                      ? createCudaBackend(options.gpu)
                      : createHostBackend(options.threads);
  CompileCache cache(options.cacheDir.empty() ? CompileCache::defaultDir()
                                              : options.cacheDir);
  auto t0 = std::chrono::steady_clock::now();
  CompileResult r =
      impl->backend->loadModule(source, path, impl->manifest.kernels, cache);
  impl->report.cacheHit = r.cacheHit;
  impl->report.path = r.path;
  impl->report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  for (const ConstantSpec &c : impl->manifest.constants) {
    std::vector<uint8_t> bytes = constantBytes(c);
    void *p = impl->backend->allocate(bytes.size());
    impl->backend->upload(p, bytes.data(), bytes.size());
    impl->constants.push_back(p);
  }
}

Model::~Model() = default;
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;

const Manifest &Model::manifest() const { return impl->manifest; }
std::string Model::deviceName() const { return impl->backend->deviceName(); }
const CompileReport &Model::compileReport() const { return impl->report; }

void Model::initialize(uint64_t seed) {
  for (const TensorSpec &t : impl->manifest.tensors) {
    if (t.init.empty())
      throw Error(fmt::format("{}: {} '{}' has no initialiser; bind it",
                              impl->path, bufferKindName(t.kind), t.name));
    InitSpec spec;
    std::string err;
    if (!parseInitSpec(t.init, spec, err))
      throw Error(impl->path + ": '" + t.name + "': " + err);
    err = checkInitShape(spec, t.shape);
    if (!err.empty())
      throw Error(impl->path + ": '" + t.name + "': " + err);
    HostTensor h = HostTensor::zeros(t.dtype, t.shape);
    if (t.dtype == DType::F32)
      fillInit(spec, t.shape, seed, t.name, h.data<float>());
    else if (t.dtype == DType::F64)
      fillInit(spec, t.shape, seed, t.name, h.data<double>());
    else
      throw Error("cannot initialise a non-float tensor '" + t.name + "'");
    setTensor(t.name, h);
  }
}

void Model::setTensor(const std::string &name, const HostTensor &tensor) {
  const TensorSpec &t = impl->tensorSpec(name);
  impl->checkTensor(impl->path, name, tensor, t.dtype, t.shape);
  impl->backend->upload(impl->storage(name), tensor.bytes.data(),
                        tensor.bytes.size());
}

bool Model::hasTensor(const std::string &name) const {
  auto it = impl->tensors.find(name);
  return it != impl->tensors.end() && it->second;
}

HostTensor Model::tensor(const std::string &name) const {
  const TensorSpec &t = impl->tensorSpec(name);
  if (!hasTensor(name))
    throw Error(fmt::format("{}: '{}' has no value yet", impl->path, name));
  HostTensor h = HostTensor::zeros(t.dtype, t.shape);
  impl->backend->download(h.bytes.data(), impl->tensors.at(name),
                          h.bytes.size());
  return h;
}

TensorFile Model::run(const std::string &entryName, const TensorFile &inputs,
                      Fetch fetch) {
  Impl &m = *impl;
  Impl::EntryState &e = m.entry(entryName);
  const EntrySpec &spec = *e.spec;
  // Parameters and states given with the inputs are bound first.
  for (const auto &[name, t] : inputs.tensors)
    if (m.manifest.tensor(name))
      setTensor(name, t);
  if (!e.arena && e.plan.plan.arenaBytes)
    e.arena = m.backend->allocate(e.plan.plan.arenaBytes);
  for (const BindingSpec &a : spec.arguments) {
    if (a.kind != BufferKind::Input)
      continue;
    const HostTensor *t = inputs.find(a.name);
    const BufferSpec &b = spec.buffers[a.buffer];
    if (!t)
      throw Error(fmt::format("{}: entry '{}' needs the input '{}' ({} {})",
                              m.path, entryName, a.name, dtypeName(b.dtype),
                              shapeString(b.shape)));
    m.checkTensor(m.path, a.name, *t, b.dtype, b.shape);
    m.backend->upload(m.bufferPointer(e, b), t->bytes.data(), t->bytes.size());
  }
  std::vector<void *> args;
  if (m.profiling && e.profile.empty())
    for (const LaunchSpec &l : spec.launches)
      e.profile.push_back({m.manifest.kernels[l.kernel], l.ops, 0, 0});
  for (size_t k = 0; k < spec.launches.size(); ++k) {
    const LaunchSpec &l = spec.launches[k];
    args.clear();
    for (int id : l.args)
      args.push_back(m.bufferPointer(e, spec.buffers[id]));
    auto t0 = std::chrono::steady_clock::now();
    m.backend->launch(l.kernel, l, args.data());
    if (m.profiling) {
      m.backend->synchronize();
      e.profile[k].seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count();
      ++e.profile[k].runs;
    }
  }
  m.backend->synchronize();
  TensorFile out;
  for (const BindingSpec &r : spec.results) {
    if (fetch == Fetch::Outputs &&
        (r.kind == BufferKind::Parameter || r.kind == BufferKind::State))
      continue;
    const BufferSpec &b = spec.buffers[r.buffer];
    HostTensor h = HostTensor::zeros(b.dtype, b.shape);
    m.backend->download(h.bytes.data(), m.bufferPointer(e, b), h.bytes.size());
    out.set(r.name, std::move(h));
  }
  // Results named like parameters or states update them.
  for (const BindingSpec &r : spec.results)
    if (r.kind == BufferKind::Parameter || r.kind == BufferKind::State) {
      const BufferSpec &b = spec.buffers[r.buffer];
      void *dst = m.storage(r.name);
      void *src = m.bufferPointer(e, b);
      if (dst != src)
        m.backend->copy(dst, src, b.bytes);
    }
  m.backend->synchronize();
  return out;
}

std::vector<LaunchProfile> Model::profile(const std::string &entry) const {
  return impl->entry(entry).profile;
}

const EntryPlan &Model::plan(const std::string &entry) const {
  return impl->entry(entry).plan;
}

} // namespace d2lrt
