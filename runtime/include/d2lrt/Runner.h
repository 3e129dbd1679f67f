//===- Runner.h - run an entry of a compiled model, as a tool does -*- C++
//-*-===//
//
// The shared body of `d2lc-run MODEL.cu` and `d2lrt-run` (the runtime's own
// tool, which builds without MLIR, e.g. on a GPU machine).
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_RUNNER_H
#define D2LRT_RUNNER_H

#include <cstdint>
#include <ostream>
#include <string>

namespace d2lrt {

struct RunRequest {
  std::string model; // a model.cu
  std::string entry = "forward";
  std::string device = "host"; // host or cuda
  std::string inputs;          // .safetensors ("" for none)
  std::string output;          // .safetensors ("" for none)
  uint64_t seed = 0;           // initialisers of parameters absent from inputs
  unsigned repeat = 1;         // runs (parameters carry over)
  unsigned threads = 0;        // host workers
  bool plan = false;           // print the memory plan (alone without inputs)
  bool profile = false;        // time every launch
  bool time = false;           // time each run after a warm-up run
};

/// Runs the request, printing results and reports to `out` and warnings to
/// `err`. Throws d2lrt::Error on failure.
void runCompiledModel(const RunRequest &request, std::ostream &out,
                      std::ostream &err);

} // namespace d2lrt

#endif // D2LRT_RUNNER_H
