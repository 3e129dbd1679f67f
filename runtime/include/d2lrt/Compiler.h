//===- Compiler.h - compile model.cu for the GPU or the CPU, with a cache -===//
//
// NVRTC (loaded with dlopen) turns a model.cu into a CUBIN or PTX for a GPU
// architecture without needing a GPU; the system C++ compiler turns it into a
// shared library for the host backend. Both results are cached on disk,
// keyed by the source, the target, the compiler's version and the options.
// Entries are written atomically (temporary file, then rename), carry a
// checksum trailer, and a corrupt entry is detected and rebuilt, so two
// processes compiling the same model at once are safe.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_COMPILER_H
#define D2LRT_COMPILER_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace d2lrt {

/// A directory of compiled artefacts.
class CompileCache {
public:
  /// $D2LC_CACHE_DIR, else $XDG_CACHE_HOME/d2lc, else ~/.cache/d2lc.
  static std::string defaultDir();

  explicit CompileCache(std::string dir);

  const std::string &dir() const { return directory; }

  /// A 128-bit XXH3 hash of the parts, as hex.
  static std::string key(const std::vector<std::string> &parts);

  std::string path(const std::string &key, const std::string &suffix) const;

  /// The payload of a valid entry; nullopt when it is missing or corrupt (a
  /// corrupt entry is removed and `corrupt` set).
  std::optional<std::vector<uint8_t>> load(const std::string &key,
                                           const std::string &suffix,
                                           bool *corrupt = nullptr) const;

  /// Whether a valid entry exists (checked the same way as load).
  bool valid(const std::string &key, const std::string &suffix,
             bool *corrupt = nullptr) const;

  /// Stores an entry atomically: payload plus a trailer (magic, size,
  /// checksum). ELF loaders ignore trailing bytes, so a stored shared
  /// library stays loadable with dlopen.
  void store(const std::string &key, const std::string &suffix,
             const std::vector<uint8_t> &payload) const;

private:
  std::string directory;
};

struct CompileResult {
  std::vector<uint8_t> binary; // CUBIN or PTX (NUL excluded)
  std::string path;            // the cache entry
  bool cacheHit = false;
  double seconds = 0; // compile time (0 on a hit)
};

/// NVRTC, loaded at first use.
class NvrtcCompiler {
public:
  /// Loads libnvrtc (libnvrtc.so.13, libnvrtc.so, or under $CUDA_HOME /
  /// /usr/local/cuda); throws Error if it is not there.
  NvrtcCompiler();
  /// "13.0"
  std::string version() const;
  /// Compiles to CUBIN for `arch` ("sm_90") or to PTX for a virtual arch
  /// ("compute_90"). Compile errors throw Error with the program log.
  CompileResult compile(const std::string &source, const std::string &name,
                        const std::string &arch, const CompileCache &cache,
                        const std::vector<std::string> &extraOptions = {});
};

/// The system C++ compiler with the host emulation header.
class HostCompiler {
public:
  /// $D2LC_HOST_CXX, else $CXX, else c++.
  HostCompiler();
  const std::string &command() const { return cxx; }
  /// Compiles to a shared library in the cache; returns its path.
  CompileResult compile(const std::string &source, const CompileCache &cache);

private:
  std::string cxx, versionText;
  std::vector<std::string> flags;
};

/// The text of d2lrt/cuda_host.h, embedded in the runtime.
const char *cudaHostHeaderText();

} // namespace d2lrt

#endif // D2LRT_COMPILER_H
