//===- DynamicLibrary.h - dlopen with typed symbol lookup -------*- C++ -*-===//

#ifndef D2LRT_DYNAMICLIBRARY_H
#define D2LRT_DYNAMICLIBRARY_H

#include "d2lrt/Error.h"

#include <dlfcn.h>
#include <string>

namespace d2lrt {

/// A shared library opened with dlopen, closed on destruction.
class DynamicLibrary {
public:
  DynamicLibrary() = default;
  DynamicLibrary(const DynamicLibrary &) = delete;
  DynamicLibrary &operator=(const DynamicLibrary &) = delete;
  ~DynamicLibrary() {
    if (handle)
      ::dlclose(handle);
  }

  /// Returns false (and remembers dlerror()) when the library is missing.
  bool open(const std::string &path, int flags = RTLD_NOW | RTLD_LOCAL) {
    handle = ::dlopen(path.c_str(), flags);
    if (!handle) {
      const char *e = ::dlerror();
      lastError = e ? e : "unknown dlopen error";
    } else {
      name = path;
    }
    return handle != nullptr;
  }
  bool isOpen() const { return handle != nullptr; }
  const std::string &error() const { return lastError; }

  /// Looks up a symbol; throws Error naming the library when it is missing.
  template <typename T> void symbol(const char *sym, T &out) const {
    void *p = ::dlsym(handle, sym);
    if (!p)
      throw Error("symbol " + std::string(sym) + " not found in " + name);
    out = reinterpret_cast<T>(p);
  }
  void *find(const char *sym) const { return ::dlsym(handle, sym); }

private:
  void *handle = nullptr;
  std::string name, lastError;
};

} // namespace d2lrt

#endif // D2LRT_DYNAMICLIBRARY_H
