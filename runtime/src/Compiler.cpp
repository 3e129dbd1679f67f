//===- Compiler.cpp - NVRTC and host compilation with a disk cache --------===//

#include "d2lrt/Compiler.h"
#include "d2lrt/Error.h"
#include "d2lrt/Safetensors.h"

#include "DynamicLibrary.h"

#include <fmt/format.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace d2lrt {

//===----------------------------------------------------------------------===//
// Cache
//===----------------------------------------------------------------------===//

namespace {
constexpr char kMagic[8] = {'D', '2', 'L', 'C', 'A', 'C', 'H', '1'};
constexpr size_t kTrailer = 8 + 8 + 16;

void makeDirs(const std::string &path) {
  std::string partial;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!partial.empty() && ::mkdir(partial.c_str(), 0755) != 0 &&
          errno != EEXIST)
        throw Error(fmt::format("cannot create the cache directory {}: {}",
                                partial, std::strerror(errno)));
    }
    if (i < path.size())
      partial.push_back(path[i]);
  }
}

std::vector<uint8_t> readFile(const std::string &path, bool &ok) {
  std::ifstream in(path, std::ios::binary);
  ok = bool(in);
  if (!ok)
    return {};
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

std::string hex128(XXH128_hash_t h) {
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}
} // namespace

std::string CompileCache::defaultDir() {
  if (const char *d = std::getenv("D2LC_CACHE_DIR"); d && *d)
    return d;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/d2lc";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/d2lc";
  return "/tmp/d2lc-cache";
}

CompileCache::CompileCache(std::string dir) : directory(std::move(dir)) {
  makeDirs(directory);
}

std::string CompileCache::key(const std::vector<std::string> &parts) {
  XXH3_state_t *state = XXH3_createState();
  XXH3_128bits_reset(state);
  for (const std::string &p : parts) {
    uint64_t n = p.size();
    XXH3_128bits_update(state, &n, sizeof n);
    XXH3_128bits_update(state, p.data(), p.size());
  }
  std::string k = hex128(XXH3_128bits_digest(state));
  XXH3_freeState(state);
  return k;
}

std::string CompileCache::path(const std::string &key,
                               const std::string &suffix) const {
  return directory + "/" + key + suffix;
}

std::optional<std::vector<uint8_t>>
CompileCache::load(const std::string &key, const std::string &suffix,
                   bool *corrupt) const {
  if (corrupt)
    *corrupt = false;
  std::string p = path(key, suffix);
  bool ok;
  std::vector<uint8_t> data = readFile(p, ok);
  if (!ok)
    return std::nullopt;
  auto bad = [&]() -> std::optional<std::vector<uint8_t>> {
    if (corrupt)
      *corrupt = true;
    ::unlink(p.c_str());
    return std::nullopt;
  };
  if (data.size() < kTrailer)
    return bad();
  const uint8_t *t = data.data() + data.size() - kTrailer;
  if (std::memcmp(t, kMagic, 8) != 0)
    return bad();
  uint64_t size;
  std::memcpy(&size, t + 8, 8);
  if (size != data.size() - kTrailer)
    return bad();
  XXH128_hash_t want;
  std::memcpy(&want.high64, t + 16, 8);
  std::memcpy(&want.low64, t + 24, 8);
  XXH128_hash_t got = XXH3_128bits(data.data(), size);
  if (!XXH128_isEqual(want, got))
    return bad();
  data.resize(size);
  return data;
}

bool CompileCache::valid(const std::string &key, const std::string &suffix,
                         bool *corrupt) const {
  return load(key, suffix, corrupt).has_value();
}

void CompileCache::store(const std::string &key, const std::string &suffix,
                         const std::vector<uint8_t> &payload) const {
  std::vector<uint8_t> data(payload);
  XXH128_hash_t h = XXH3_128bits(payload.data(), payload.size());
  uint64_t size = payload.size();
  const uint8_t *m = reinterpret_cast<const uint8_t *>(kMagic);
  data.insert(data.end(), m, m + 8);
  auto put = [&](uint64_t v) {
    const uint8_t *b = reinterpret_cast<const uint8_t *>(&v);
    data.insert(data.end(), b, b + 8);
  };
  put(size);
  put(h.high64);
  put(h.low64);
  std::string err = writeFileAtomically(path(key, suffix), data);
  if (!err.empty())
    throw Error("cannot write the compile cache: " + err);
}

//===----------------------------------------------------------------------===//
// NVRTC
//===----------------------------------------------------------------------===//

namespace {
using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram *;

struct Nvrtc {
  DynamicLibrary lib;
  const char *(*nvrtcGetErrorString)(nvrtcResult);
  nvrtcResult (*nvrtcVersion)(int *, int *);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *, const char *, const char *,
                                    int, const char *const *,
                                    const char *const *);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char *const *);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t *);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char *);
  nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t *);
  nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char *);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t *);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char *);

  Nvrtc() {
    std::vector<std::string> candidates{"libnvrtc.so.13", "libnvrtc.so.12",
                                        "libnvrtc.so"};
    const char *home = std::getenv("CUDA_HOME");
    for (std::string root :
         {std::string(home ? home : ""), std::string("/usr/local/cuda")})
      if (!root.empty()) {
        candidates.push_back(root + "/lib64/libnvrtc.so");
        candidates.push_back(root + "/targets/x86_64-linux/lib/libnvrtc.so");
      }
    std::string tried;
    for (const std::string &c : candidates) {
      if (lib.open(c))
        break;
      tried += (tried.empty() ? "" : ", ") + c;
    }
    if (!lib.isOpen())
      throw Error("NVRTC is not available (tried " + tried +
                  "): install the CUDA toolkit or set CUDA_HOME");
    lib.symbol("nvrtcGetErrorString", nvrtcGetErrorString);
    lib.symbol("nvrtcVersion", nvrtcVersion);
    lib.symbol("nvrtcCreateProgram", nvrtcCreateProgram);
    lib.symbol("nvrtcDestroyProgram", nvrtcDestroyProgram);
    lib.symbol("nvrtcCompileProgram", nvrtcCompileProgram);
    lib.symbol("nvrtcGetPTXSize", nvrtcGetPTXSize);
    lib.symbol("nvrtcGetPTX", nvrtcGetPTX);
    lib.symbol("nvrtcGetCUBINSize", nvrtcGetCUBINSize);
    lib.symbol("nvrtcGetCUBIN", nvrtcGetCUBIN);
    lib.symbol("nvrtcGetProgramLogSize", nvrtcGetProgramLogSize);
    lib.symbol("nvrtcGetProgramLog", nvrtcGetProgramLog);
  }

  static Nvrtc &get() {
    static Nvrtc instance;
    return instance;
  }
};
} // namespace

NvrtcCompiler::NvrtcCompiler() { (void)Nvrtc::get(); }

std::string NvrtcCompiler::version() const {
  int major = 0, minor = 0;
  Nvrtc::get().nvrtcVersion(&major, &minor);
  return fmt::format("{}.{}", major, minor);
}

CompileResult NvrtcCompiler::compile(const std::string &source,
                                     const std::string &name,
                                     const std::string &arch,
                                     const CompileCache &cache,
                                     const std::vector<std::string> &extra) {
  Nvrtc &n = Nvrtc::get();
  bool ptx = arch.rfind("compute_", 0) == 0;
  if (!ptx && arch.rfind("sm_", 0) != 0)
    throw Error("unknown GPU architecture '" + arch +
                "' (expected sm_XY for a CUBIN or compute_XY for PTX)");
  std::vector<std::string> options{"--gpu-architecture=" + arch, "-std=c++17"};
  options.insert(options.end(), extra.begin(), extra.end());
  std::vector<std::string> keyParts{"nvrtc", source, arch, version()};
  keyParts.insert(keyParts.end(), options.begin(), options.end());
  std::string key = CompileCache::key(keyParts);
  std::string suffix = ptx ? ".ptx" : ".cubin";
  CompileResult result;
  result.path = cache.path(key, suffix);
  if (auto hit = cache.load(key, suffix)) {
    result.binary = std::move(*hit);
    result.cacheHit = true;
    return result;
  }
  auto t0 = std::chrono::steady_clock::now();
  nvrtcProgram prog = nullptr;
  if (int r = n.nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), 0,
                                   nullptr, nullptr))
    throw Error(fmt::format("NVRTC could not create a program for {}: {}", name,
                            n.nvrtcGetErrorString(r)));
  std::vector<const char *> argv;
  for (const std::string &o : options)
    argv.push_back(o.c_str());
  int status = n.nvrtcCompileProgram(prog, int(argv.size()), argv.data());
  size_t logSize = 0;
  n.nvrtcGetProgramLogSize(prog, &logSize);
  std::string log(logSize, '\0');
  if (logSize)
    n.nvrtcGetProgramLog(prog, log.data());
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n'))
    log.pop_back();
  if (status != 0) {
    n.nvrtcDestroyProgram(&prog);
    throw Error(fmt::format("NVRTC failed to compile {} for {}: {}\n{}", name,
                            arch, n.nvrtcGetErrorString(status), log));
  }
  size_t size = 0;
  if (ptx) {
    n.nvrtcGetPTXSize(prog, &size);
    result.binary.resize(size);
    n.nvrtcGetPTX(prog, reinterpret_cast<char *>(result.binary.data()));
    while (!result.binary.empty() && result.binary.back() == 0)
      result.binary.pop_back();
  } else {
    n.nvrtcGetCUBINSize(prog, &size);
    result.binary.resize(size);
    n.nvrtcGetCUBIN(prog, reinterpret_cast<char *>(result.binary.data()));
  }
  n.nvrtcDestroyProgram(&prog);
  result.seconds = secondsSince(t0);
  cache.store(key, suffix, result.binary);
  return result;
}

//===----------------------------------------------------------------------===//
// Host compiler
//===----------------------------------------------------------------------===//

namespace {
/// Runs a shell command; returns its exit status and output (stdout+stderr).
int runCommand(const std::string &command, std::string &output) {
  output.clear();
  FILE *pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe)
    return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
    output.append(buf.data(), n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string shellQuote(const std::string &s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
} // namespace

HostCompiler::HostCompiler() {
  if (const char *c = std::getenv("D2LC_HOST_CXX"); c && *c)
    cxx = c;
  else if (const char *c = std::getenv("CXX"); c && *c)
    cxx = c;
  else
    cxx = "c++";
  flags = {"-std=c++17", "-O3", "-fPIC", "-shared", "-fno-math-errno", "-w"};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    flags.push_back("-mavx2");
    flags.push_back("-mfma");
  }
}

CompileResult HostCompiler::compile(const std::string &source,
                                    const CompileCache &cache) {
  if (versionText.empty()) {
    if (runCommand(cxx + " --version", versionText) != 0)
      throw Error("the host C++ compiler '" + cxx +
                  "' does not run (set D2LC_HOST_CXX or CXX): " + versionText);
  }
  std::vector<std::string> parts{"host", source, versionText,
                                 cudaHostHeaderText()};
  parts.insert(parts.end(), flags.begin(), flags.end());
  std::string key = CompileCache::key(parts);
  CompileResult result;
  result.path = cache.path(key, ".so");
  if (cache.valid(key, ".so")) {
    result.cacheHit = true;
    return result;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(std::random_device{}());
  std::string work =
      fmt::format("{}/tmp-{}-{:x}", cache.dir(), ::getpid(), rng());
  makeDirs(work + "/d2lrt");
  auto cleanup = [&]() {
    std::string out;
    runCommand("rm -rf " + shellQuote(work), out);
  };
  std::string header(cudaHostHeaderText());
  std::string err =
      writeFileAtomically(work + "/d2lrt/cuda_host.h",
                          std::vector<uint8_t>(header.begin(), header.end()));
  if (err.empty())
    err = writeFileAtomically(
        work + "/model.cu", std::vector<uint8_t>(source.begin(), source.end()));
  if (!err.empty()) {
    cleanup();
    throw Error(err);
  }
  std::string command = shellQuote(cxx);
  for (const std::string &f : flags)
    command += " " + f;
  command += " -I" + shellQuote(work) + " -include d2lrt/cuda_host.h -x c++ " +
             shellQuote(work + "/model.cu") + " -o " +
             shellQuote(work + "/model.so");
  std::string output;
  int status = runCommand(command, output);
  if (status != 0) {
    cleanup();
    if (output.size() > 20000)
      output = output.substr(0, 20000) + "\n[...]";
    throw Error(fmt::format("the host compiler failed on the model (exit "
                            "{}):\n{}",
                            status, output));
  }
  bool ok;
  std::vector<uint8_t> so = readFile(work + "/model.so", ok);
  cleanup();
  if (!ok)
    throw Error("the host compiler wrote no shared library");
  cache.store(key, ".so", so);
  result.seconds = secondsSince(t0);
  return result;
}

} // namespace d2lrt
