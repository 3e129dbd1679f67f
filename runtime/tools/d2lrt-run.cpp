//===- d2lrt-run.cpp - run a compiled model with the runtime alone --------===//
//
//   d2lrt-run MODEL.cu [--backend host|cuda] [--entry E] [--inputs IN]
//             [-o OUT] [--seed S] [--repeat K] [--plan] [--profile] [--time]
//
// The same as `d2lc-run MODEL.cu`, without the compiler: it builds wherever
// the runtime builds (scripts/gpu-check.sh uses it on a GPU machine).
//
//===----------------------------------------------------------------------===//

#include "d2lrt/Error.h"
#include "d2lrt/Runner.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

static int usage() {
  std::fprintf(stderr,
               "usage: d2lrt-run MODEL.cu [--backend host|cuda] [--entry E] "
               "[--inputs IN.safetensors] [-o OUT.safetensors] [--seed S] "
               "[--repeat K] [--host-threads N] [--plan] [--profile] "
               "[--time]\n");
  return 2;
}

int main(int argc, char **argv) {
  d2lrt::RunRequest r;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    const char *v = nullptr;
    if (a == "--plan")
      r.plan = true;
    else if (a == "--profile")
      r.profile = true;
    else if (a == "--time")
      r.time = true;
    else if (a == "--backend" && (v = value()))
      r.device = v;
    else if (a == "--entry" && (v = value()))
      r.entry = v;
    else if (a == "--inputs" && (v = value()))
      r.inputs = v;
    else if (a == "-o" && (v = value()))
      r.output = v;
    else if (a == "--seed" && (v = value()))
      r.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--repeat" && (v = value()))
      r.repeat = unsigned(std::strtoul(v, nullptr, 10));
    else if (a == "--host-threads" && (v = value()))
      r.threads = unsigned(std::strtoul(v, nullptr, 10));
    else if (!a.empty() && a[0] != '-' && r.model.empty())
      r.model = a;
    else
      return usage();
  }
  if (r.model.empty())
    return usage();
  try {
    d2lrt::runCompiledModel(r, std::cout, std::cerr);
    return 0;
  } catch (const d2lrt::Error &e) {
    std::fprintf(stderr, "d2lrt-run: error: %s\n", e.what());
    return 1;
  }
}
