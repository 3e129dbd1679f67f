//===- d2lc-bench.cpp - measure d2lc against PyTorch ----------------------===//
//
//   d2lc-bench --matmul 10000x1000x2000 [--backend host|cuda]
//   d2lc-bench MODEL.mlir [--backend host|cuda] [--batch N] [--repeat R]
//                                          (fused against unfused)
//   d2lc-bench --compile MODEL.mlir...
//   d2lc-bench --memory MODEL.mlir... [--batch N]
//   d2lc-bench --remat-curve MODEL.mlir [--batch N]
//
// Prints figures, never asserts: the GEMM kernel's time and GFLOP/s against
// torch.matmul on the same device; a model's train_step median time against
// PyTorch eager (and torch.compile on a GPU) on the same device and batch,
// compiled fused and unfused (launches, saved bytes, arena, step time, and
// whether the two agree on the first step's results);
// NVRTC cold-compile and warm-cache times and the memory plan per model.
// PyTorch runs in a child process (/usr/bin/python3 torch_bench.py).
//
//===----------------------------------------------------------------------===//

#include "d2l/Analysis/MemoryReport.h"
#include "d2l/Dialect/D2L/IR/D2L.h"
#include "d2l/Dialect/D2L/Transforms/Pipeline.h"
#include "d2l/Target/CUDA/CUDAEmitter.h"

#include "d2lrt/Compiler.h"
#include "d2lrt/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <unistd.h>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("d2lc-bench options");
static cl::list<std::string> inputs(cl::Positional, cl::desc("<model.mlir>..."),
                                    cl::cat(category));
static cl::opt<std::string> matmul("matmul",
                                   cl::desc("Time an MxKxN matmul, e.g. "
                                            "10000x1000x2000"),
                                   cl::cat(category));
static cl::opt<bool> compileTimes("compile",
                                  cl::desc("NVRTC cold and warm compile times "
                                           "and memory plans of the models"),
                                  cl::cat(category));
static cl::opt<std::string> backend("backend", cl::desc("host or cuda"),
                                    cl::init("host"), cl::cat(category));
static cl::opt<int64_t> batch("batch", cl::desc("Batch size (models)"),
                              cl::init(0), cl::cat(category));
static cl::opt<unsigned> repeat("repeat", cl::desc("Timed runs (median)"),
                                cl::init(5), cl::cat(category));
static cl::opt<double> lr("lr", cl::desc("Learning rate of the steps"),
                          cl::init(0.1), cl::cat(category));
static cl::opt<bool> noTorch("no-torch", cl::desc("Skip PyTorch"),
                             cl::cat(category));
static cl::opt<bool>
    memory("memory",
           cl::desc("Memory of each model's train_step, fused and unfused, "
                    "with PyTorch's saved-for-backward bytes"),
           cl::cat(category));
static cl::opt<bool> rematCurve(
    "remat-curve",
    cl::desc("Saved bytes, arena and extra FLOPs of --d2l-remat at 75, 50 "
             "and 25% of the saved bytes, per policy, and sqrt"),
    cl::cat(category));

namespace {

int fail(const std::string &m) {
  llvm::errs() << "d2lc-bench: error: " << m << "\n";
  return 1;
}

std::string tempDir() {
  std::string d = "/tmp/d2lc-bench-" + std::to_string(::getpid());
  std::string cmd = "mkdir -p '" + d + "'";
  if (std::system(cmd.c_str()) != 0)
    return "/tmp";
  return d;
}

/// A context with the dialects the models use.
std::unique_ptr<MLIRContext> makeContext() {
  DialectRegistry registry;
  registry.insert<d2l::D2LDialect, func::FuncDialect>();
  return std::make_unique<MLIRContext>(registry);
}

/// Compiles d2l text through the d2lc pipeline to a model.cu at `path`.
LogicalResult compileModel(StringRef text, StringRef name, bool train,
                           int64_t batchSize, const std::string &path,
                           bool fuse = true) {
  auto context = makeContext();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(context.get()));
  if (!module)
    return failure();
  d2l::PipelineOptions options;
  options.batch = batchSize;
  options.train = train;
  options.loss = name == "linear_regression" ? "mse" : "cross_entropy";
  options.fuse = fuse;
  if (failed(d2l::runPipeline(*module, options)))
    return failure();
  std::string out;
  llvm::raw_string_ostream os(out);
  d2l::CUDAEmitOptions emitOptions;
  emitOptions.modelName = name.str();
  if (failed(d2l::emitCUDA(*module, os, emitOptions)))
    return failure();
  std::ofstream(path) << out;
  return success();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Runs torch_bench.py; returns its "key value" lines.
std::map<std::string, double> runTorch(const std::string &args) {
  std::map<std::string, double> values;
  if (noTorch)
    return values;
  std::string cmd =
      "/usr/bin/python3 '" D2LC_BENCH_SCRIPT "' " + args + " 2>/dev/null";
  FILE *pipe = ::popen(cmd.c_str(), "r");
  if (!pipe)
    return values;
  std::array<char, 512> line;
  while (std::fgets(line.data(), line.size(), pipe)) {
    std::istringstream is(line.data());
    std::string key;
    double v;
    if (is >> key >> v)
      values[key] = v;
  }
  ::pclose(pipe);
  return values;
}

d2lrt::Options runtimeOptions() {
  d2lrt::Options o;
  o.device = backend == "cuda" ? d2lrt::Device::Cuda : d2lrt::Device::Host;
  return o;
}

/// Median seconds of `entry` over `repeat` runs (after one warm-up run).
double timeEntry(d2lrt::Model &model, const std::string &entry,
                 const d2lrt::TensorFile &in) {
  model.run(entry, in, d2lrt::Fetch::Outputs);
  std::vector<double> t;
  for (unsigned i = 0; i < std::max(1u, repeat.getValue()); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    model.run(entry, in, d2lrt::Fetch::Outputs);
    t.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  return median(t);
}

d2lrt::HostTensor randomTensor(d2lrt::DType dtype, std::vector<int64_t> shape,
                               std::mt19937 &rng, int64_t classes = 10) {
  d2lrt::HostTensor t = d2lrt::HostTensor::zeros(dtype, shape);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == d2lrt::DType::F32)
      t.data<float>()[i] = u(rng);
    else if (dtype == d2lrt::DType::I64)
      t.data<int64_t>()[i] = int64_t(rng() % uint64_t(classes));
  }
  return t;
}

/// The memory of a model's train_step under `options` (and its remat
/// record), or failure.
struct StepMemory {
  d2l::FunctionMemory m;
  double extraFlops = 0;
  int64_t recomputed = 0;
  bool optimal = false;
};
FailureOr<StepMemory> stepMemory(StringRef text, StringRef name,
                                 d2l::PipelineOptions options) {
  auto context = makeContext();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, ParserConfig(context.get()));
  if (!module)
    return failure();
  options.train = true;
  options.loss = name == "linear_regression" ? "mse" : "cross_entropy";
  if (failed(d2l::runPipeline(*module, options)))
    return failure();
  auto step = module->lookupSymbol<func::FuncOp>("train_step");
  auto m = d2l::analyzeMemory(step);
  if (failed(m))
    return failure();
  StepMemory r{*m};
  if (auto remat = step->getAttrOfType<DictionaryAttr>("d2l.remat")) {
    r.extraFlops = cast<FloatAttr>(remat.get("extra_flops")).getValueAsDouble();
    r.recomputed = cast<IntegerAttr>(remat.get("recomputed")).getInt();
    if (auto o = remat.getAs<BoolAttr>("optimal"))
      r.optimal = o.getValue();
  }
  return r;
}

std::string readFile(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int benchMemory() {
  llvm::outs() << "train_step memory (bytes), batch "
               << (batch ? std::to_string(batch)
                         : std::string("as in the model"))
               << "\n";
  llvm::outs() << "model                       saved        arena        "
                  "bound        naive saved nofuse arena nofuse  arena early "
                  "     PyTorch  /torch\n";
  for (const std::string &path : inputs) {
    std::string name = llvm::sys::path::stem(path).str();
    std::string text = readFile(path);
    d2l::PipelineOptions o;
    o.batch = batch;
    auto fused = stepMemory(text, name, o);
    o.earlyUpdate = true;
    auto early = stepMemory(text, name, o);
    o.earlyUpdate = false;
    o.fuse = false;
    auto unfused = stepMemory(text, name, o);
    if (failed(fused) || failed(unfused) || failed(early))
      return fail("cannot compile " + path);
    // The batch the model ran with, for PyTorch.
    int64_t n = batch;
    if (!n) {
      auto pos = text.find("{d2l.input = \"X\"}");
      auto open = text.rfind("tensor<", pos);
      n = std::atoll(text.c_str() + open + 7);
    }
    auto torch = runTorch("saved " + name + " " + std::to_string(n));
    double t = torch.count("saved_bytes") ? torch["saved_bytes"] : 0;
    llvm::outs() << llvm::format(
        "%-20s %12lld %12llu %12llu %12llu %12lld %12llu %12llu %12.0f "
        "%7.2f\n",
        name.c_str(), (long long)fused->m.savedBytes,
        (unsigned long long)fused->m.arena,
        (unsigned long long)fused->m.lowerBound,
        (unsigned long long)fused->m.naive, (long long)unfused->m.savedBytes,
        (unsigned long long)unfused->m.arena,
        (unsigned long long)early->m.arena, t,
        t > 0 ? double(fused->m.savedBytes) / t : 0.0);
  }
  llvm::outs() << "(arena early: fused, with --early-update; saved: bytes "
                  "kept for the backward pass; PyTorch: "
                  "saved_tensors_hooks, one count per storage, without "
                  "parameters and input)\n";
  return 0;
}

int benchRematCurve() {
  for (const std::string &path : inputs) {
    std::string name = llvm::sys::path::stem(path).str();
    std::string text = readFile(path);
    d2l::PipelineOptions o;
    o.batch = batch;
    auto base = stepMemory(text, name, o);
    if (failed(base))
      return fail("cannot compile " + path);
    llvm::outs() << name << " train_step, recomputation to a budget on the "
                 << "saved bytes (" << base->m.savedBytes << " without)\n";
    llvm::outs() << "  policy   budget        saved        arena recomputed "
                    "   extra FLOPs  planned in  proven optimal\n";
    llvm::outs() << llvm::format("  %-8s %5.0f%% %12lld %12llu %10d %14.4g\n",
                                 (const char *)"none", 100.0,
                                 (long long)base->m.savedBytes,
                                 (unsigned long long)base->m.arena, 0, 0.0);
    for (const char *policy : {"exact", "greedy", "sqrt"})
      for (double fraction : {0.75, 0.5, 0.25}) {
        if (std::string(policy) == "sqrt" && fraction != 0.75)
          continue;
        d2l::PipelineOptions r = o;
        r.rematPolicy = policy;
        r.rematObjective = "saved";
        r.rematBudget =
            std::string(policy) == "sqrt" ? "" : std::to_string(fraction);
        auto t0 = std::chrono::steady_clock::now();
        auto m = stepMemory(text, name, r);
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count();
        if (failed(m)) {
          llvm::outs() << llvm::format("  %-8s %5.0f%% ", policy,
                                       fraction * 100)
                       << "(no solution, see the error above)\n";
          continue;
        }
        llvm::outs() << llvm::format(
            "  %-8s %5.0f%% %12lld %12llu %10lld %14.4g %10.2fs  %s\n", policy,
            std::string(policy) == "sqrt" ? 0.0 : fraction * 100,
            (long long)m->m.savedBytes, (unsigned long long)m->m.arena,
            (long long)m->recomputed, m->extraFlops, seconds,
            m->optimal ? "yes" : "no");
      }
  }
  return 0;
}

int benchMatmul() {
  int64_t m, k, n;
  if (std::sscanf(matmul.c_str(), "%ldx%ldx%ld", &m, &k, &n) != 3 || m < 1 ||
      k < 1 || n < 1)
    return fail("--matmul expects MxKxN, e.g. 10000x1000x2000");
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "func.func @forward(%a: tensor<" << m << "x" << k
     << "xf32> {d2l.input = \"A\"}, %b: tensor<" << k << "x" << n
     << "xf32> {d2l.input = \"B\"}) -> (tensor<" << m << "x" << n
     << "xf32> {d2l.output = \"C\"}) {\n  %c = d2l.matmul %a, %b : (tensor<"
     << m << "x" << k << "xf32>, tensor<" << k << "x" << n
     << "xf32>) -> tensor<" << m << "x" << n << "xf32>\n  return %c : tensor<"
     << m << "x" << n << "xf32>\n}\n";
  std::string cu = tempDir() + "/matmul.cu";
  if (failed(compileModel(text, "matmul", false, 0, cu)))
    return fail("cannot compile the matmul");
  d2lrt::Model model(cu, runtimeOptions());
  std::mt19937 rng(1);
  d2lrt::TensorFile in;
  in.set("A", randomTensor(d2lrt::DType::F32, {m, k}, rng));
  in.set("B", randomTensor(d2lrt::DType::F32, {k, n}, rng));
  double ours = timeEntry(model, "forward", in);
  double flops = 2.0 * double(m) * double(k) * double(n);
  auto torch =
      runTorch("matmul " + std::to_string(m) + " " + std::to_string(k) + " " +
               std::to_string(n) + " " + (backend == "cuda" ? "cuda" : "cpu") +
               " " + std::to_string(repeat));
  llvm::outs() << "matmul " << m << "x" << k << " by " << k << "x" << n
               << " (f32) on " << model.deviceName() << "\n";
  llvm::outs() << llvm::format("  d2lc GEMM kernel   %9.4f s  %8.1f GFLOP/s\n",
                               ours, flops / ours / 1e9);
  if (torch.count("median_seconds")) {
    double t = torch["median_seconds"];
    llvm::outs() << llvm::format(
        "  torch.matmul       %9.4f s  %8.1f GFLOP/s  (d2lc/torch time "
        "%.2fx; torch %d threads)\n",
        t, flops / t / 1e9, ours / t, int(torch["threads"]));
  }
  return 0;
}

int benchCompile() {
  llvm::outs() << "model                   kernels NVRTC cold  warm load"
                  "        arena  lower bound        naive   ratio\n";
  for (const std::string &path : inputs) {
    std::string name = llvm::sys::path::stem(path).str();
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string cu = tempDir() + "/" + name + "_train.cu";
    if (failed(compileModel(ss.str(), name, true, batch, cu)))
      return fail("cannot compile " + path);
    std::string source = d2lrt::readTextFile(cu);
    d2lrt::Manifest manifest = d2lrt::parseManifest(source, cu);
    d2lrt::CompileCache cache(tempDir() + "/cache-" + name);
    std::string cmd = "rm -rf '" + cache.dir() + "'/*";
    (void)std::system(cmd.c_str());
    d2lrt::NvrtcCompiler nvrtc;
    auto cold = nvrtc.compile(source, cu, "sm_90", cache);
    auto t0 = std::chrono::steady_clock::now();
    auto warm = nvrtc.compile(source, cu, "sm_90", cache);
    double warmSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    d2lrt::EntryPlan plan = d2lrt::planEntry(*manifest.entry("train_step"));
    llvm::outs() << llvm::format(
        "%-22s %8zu %9.2fs %9.4fs %12llu %12llu %12llu %7.3f\n", name.c_str(),
        manifest.kernels.size(), cold.seconds, warmSeconds,
        (unsigned long long)plan.plan.arenaBytes,
        (unsigned long long)plan.plan.lowerBound,
        (unsigned long long)plan.plan.naiveBytes,
        double(plan.plan.arenaBytes) / double(plan.plan.lowerBound));
    (void)warm;
  }
  llvm::outs() << "(NVRTC for sm_90; the train_step entry's plan)\n";
  return 0;
}

/// One compiled variant of a model's train_step, measured.
struct Variant {
  std::string label, cu;
  int64_t launches = 0;
  uint64_t savedBytes = 0, arenaBytes = 0;
  double seconds = 0;
  d2lrt::TensorFile first; // the results of the first step
};

/// The largest difference between two runs' results, relative to the
/// largest magnitude of each result (at least 1e-3).
double maxRelativeDifference(const d2lrt::TensorFile &a,
                             const d2lrt::TensorFile &b, std::string &worst) {
  double maxRel = 0;
  for (const auto &[name, ta] : a.tensors) {
    const d2lrt::HostTensor *tb = b.find(name);
    if (!tb || tb->shape != ta.shape || ta.dtype != tb->dtype) {
      worst = name;
      return INFINITY;
    }
    if (ta.dtype != d2lrt::DType::F32)
      continue;
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < ta.numel(); ++i) {
      double x = ta.data<float>()[i], y = tb->data<float>()[i];
      diff = std::max(diff, std::fabs(x - y));
      scale = std::max(scale, std::fabs(y));
    }
    // Relative to the result's magnitude, but no finer than 1e-3: a bias
    // whose gradient is zero up to f32 noise (before a BatchNorm) differs
    // by noise only.
    double rel = diff / std::max(scale, 1e-3);
    if (rel > maxRel) {
      maxRel = rel;
      worst = name;
    }
  }
  return maxRel;
}

int benchModel(const std::string &path) {
  std::string name = llvm::sys::path::stem(path).str();
  std::ifstream f(path);
  if (!f)
    return fail("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::vector<Variant> variants(2);
  variants[0].label = "d2lc fused";
  variants[1].label = "d2lc unfused";
  std::string device;
  int64_t n = 0;
  for (auto [i, v] : llvm::enumerate(variants)) {
    v.cu =
        tempDir() + "/" + name + (i == 0 ? "_fused" : "_unfused") + "_train.cu";
    if (failed(compileModel(ss.str(), name, true, batch, v.cu, i == 0)))
      return fail("cannot compile " + path);
    d2lrt::Model model(v.cu, runtimeOptions());
    device = model.deviceName();
    model.initialize(0); // the same seed: the same initial weights
    const d2lrt::EntrySpec *step = model.manifest().entry("train_step");
    v.launches = int64_t(step->launches.size());
    for (const d2lrt::BufferSpec &b : step->buffers)
      if (b.kind == d2lrt::BufferKind::Saved)
        v.savedBytes += b.bytes;
    v.arenaBytes = model.plan("train_step").plan.arenaBytes;
    // The same inputs for both variants.
    std::mt19937 rng(2);
    d2lrt::TensorFile in;
    for (const d2lrt::BindingSpec &a : step->arguments) {
      if (a.kind != d2lrt::BufferKind::Input)
        continue;
      const d2lrt::BufferSpec &b = step->buffers[a.buffer];
      if (a.name == "lr") {
        d2lrt::HostTensor t = d2lrt::HostTensor::zeros(d2lrt::DType::F32, {});
        t.data<float>()[0] = float(lr);
        in.set(a.name, t);
      } else {
        in.set(a.name, randomTensor(b.dtype, b.shape, rng));
        if (a.name == "X")
          n = b.shape[0];
      }
    }
    v.first = model.run("train_step", in);
    v.seconds = timeEntry(model, "train_step", in);
  }
  std::string torchDevice = backend == "cuda" ? "cuda" : "cpu";
  auto torch =
      runTorch("step " + name + " " + std::to_string(n) + " " + torchDevice +
               " " + std::to_string(repeat) + " " + std::to_string(lr) +
               (backend == "cuda" ? " --compile" : ""));

  llvm::outs() << name << " train_step, batch " << n << ", on " << device
               << " (median of " << repeat << " steps)\n";
  llvm::outs() << "                    launches    saved bytes    arena bytes"
                  "       s/step\n";
  for (const Variant &v : variants)
    llvm::outs() << llvm::format("  %-16s %9lld %14llu %14llu %12.5f\n",
                                 v.label.c_str(), (long long)v.launches,
                                 (unsigned long long)v.savedBytes,
                                 (unsigned long long)v.arenaBytes, v.seconds);
  const Variant &fu = variants[0], &un = variants[1];
  llvm::outs() << llvm::format(
      "  %-16s %9.2f %14.2f %14.2f %12.2f\n", (const char *)"fused/unfused",
      double(fu.launches) / double(un.launches),
      double(fu.savedBytes) / double(std::max<uint64_t>(un.savedBytes, 1)),
      double(fu.arenaBytes) / double(std::max<uint64_t>(un.arenaBytes, 1)),
      fu.seconds / un.seconds);
  for (auto [key, label] :
       {std::pair{"median_seconds", "PyTorch eager"},
        std::pair{"compiled_median_seconds", "torch.compile"}})
    if (torch.count(key))
      llvm::outs() << llvm::format(
          "  %-16s %51.5f  (d2lc fused/PyTorch time %.2fx)\n", label,
          torch[key], fu.seconds / torch[key]);
  if (torch.count("threads"))
    llvm::outs() << "  (PyTorch with " << int(torch["threads"])
                 << " threads, SGD without momentum as d2lc's step)\n";
  // The loss of the first step must agree; the updated weights are a
  // figure only: in deep BatchNorm nets with small feature maps (ResNet-18's
  // 3x3 stage at small batches) a ReLU mask flipped by a last-bit
  // difference moves some gradients by percents, fused or not.
  std::string worst;
  double diff = maxRelativeDifference(fu.first, un.first, worst);
  const d2lrt::HostTensor *lf = fu.first.find("loss"),
                          *lu = un.first.find("loss");
  double lossDiff = INFINITY;
  if (lf && lu && lf->numel() == 1 && lf->dtype == d2lrt::DType::F32)
    lossDiff = std::fabs(lf->data<float>()[0] - lu->data<float>()[0]) /
               std::max(std::fabs(double(lu->data<float>()[0])), 1e-30);
  bool agree = lossDiff <= 1e-4;
  llvm::outs() << "  first step: loss " << (agree ? "agrees" : "DISAGREES")
               << llvm::format(" (relative difference %.1e)", lossDiff)
               << "; updated tensors differ by at most "
               << llvm::format("%.1e", diff) << " ('" << worst << "')\n";
  return agree ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "d2lc-bench: d2lc against PyTorch\n");
  if (backend != "host" && backend != "cuda")
    return fail("unknown --backend '" + backend + "' (host or cuda)");
  try {
    if (!matmul.empty())
      return benchMatmul();
    if (compileTimes)
      return benchCompile();
    if (memory)
      return benchMemory();
    if (rematCurve)
      return benchRematCurve();
    if (inputs.empty())
      return fail("give --matmul MxKxN, --compile MODELS, or a model");
    for (const std::string &p : inputs)
      if (int rc = benchModel(p))
        return rc;
    return 0;
  } catch (const d2lrt::Error &e) {
    return fail(e.what());
  }
}
