//===- d2lrt-compile.cpp - compile a model.cu with NVRTC or the host compiler
//
//   d2lrt-compile MODEL.cu --arch sm_90|compute_90|host [-o OUT] [--cache DIR]
//
// Compiles a model the way the runtime does (same options, same cache) and
// reports the time and whether the cache answered. With a compute_XY arch it
// writes PTX that `ptxas -arch=sm_XY` accepts; sm_XY gives a CUBIN; host a
// shared library. Needs no GPU.
//
//===----------------------------------------------------------------------===//

#include "d2lrt/Compiler.h"
#include "d2lrt/Error.h"
#include "d2lrt/Manifest.h"
#include "d2lrt/Runtime.h"
#include "d2lrt/Safetensors.h"

#include <cstdio>
#include <cstring>
#include <string>

static int usage() {
  std::fprintf(stderr,
               "usage: d2lrt-compile MODEL.cu --arch sm_XY|compute_XY|host "
               "[-o OUT] [--cache DIR]\n");
  return 2;
}

int main(int argc, char **argv) {
  std::string input, arch, output, cacheDir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--arch" || a == "-o" || a == "--cache") && i + 1 < argc) {
      (a == "--arch" ? arch : a == "-o" ? output : cacheDir) = argv[++i];
    } else if (!a.empty() && a[0] != '-' && input.empty()) {
      input = a;
    } else {
      return usage();
    }
  }
  if (input.empty() || arch.empty())
    return usage();
  try {
    std::string source = d2lrt::readTextFile(input);
    d2lrt::parseManifest(source, input); // validates what it compiles
    d2lrt::CompileCache cache(
        cacheDir.empty() ? d2lrt::CompileCache::defaultDir() : cacheDir);
    d2lrt::CompileResult r;
    if (arch == "host") {
      d2lrt::HostCompiler host;
      r = host.compile(source, cache);
    } else {
      d2lrt::NvrtcCompiler nvrtc;
      r = nvrtc.compile(source, input, arch, cache);
    }
    std::printf("%s: %s for %s in %.3f s (%s)\n", input.c_str(),
                arch == "host"                   ? "shared library"
                : arch.rfind("compute_", 0) == 0 ? "PTX"
                                                 : "CUBIN",
                arch.c_str(), r.seconds, r.cacheHit ? "cache hit" : "compiled");
    if (!output.empty()) {
      if (arch == "host" && r.binary.empty()) {
        std::string cmd = "cp '" + r.path + "' '" + output + "'";
        if (std::system(cmd.c_str()) != 0)
          throw d2lrt::Error("cannot copy " + r.path + " to " + output);
      } else {
        std::string err = d2lrt::writeFileAtomically(output, r.binary);
        if (!err.empty())
          throw d2lrt::Error(err);
      }
    }
    return 0;
  } catch (const d2lrt::Error &e) {
    std::fprintf(stderr, "d2lrt-compile: error: %s\n", e.what());
    return 1;
  }
}
