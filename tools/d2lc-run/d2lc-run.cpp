//===- d2lc-run.cpp - run a function of a d2l model
//-------------------------===//
//
//   d2lc-run --backend=eval MODEL.mlir --entry forward --inputs IN.safetensors
//            -o OUT.safetensors [--seed S] [--f64] [--save-args
//            ARGS.safetensors]
//
// Reads named tensors from a safetensors file, initialises the parameters it
// lacks from their d2l.init attributes, runs the entry function with the
// reference evaluator and writes the named results.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/IR/D2L.h"
#include "d2l/Eval/Evaluator.h"

#include "d2lrt/Idx.h"
#include "d2lrt/Runtime.h"
#include "d2lrt/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::d2l;
namespace cl = llvm::cl;

static cl::OptionCategory category("d2lc-run options");
static cl::opt<std::string> modelFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::Required, cl::cat(category));
static cl::opt<std::string> backend(
    "backend",
    cl::desc("Where to run: eval (the reference evaluator, .mlir), host or "
             "cuda (a compiled .cu)"),
    cl::init(""), cl::cat(category));
static cl::opt<bool> printPlan("plan",
                               cl::desc("Print the memory plan of the entry "
                                        "(compiled models; without --inputs, "
                                        "only the plan)"),
                               cl::cat(category));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Run the entry K times (compiled "
                                         "models; results of the last run)"),
                                cl::init(1), cl::cat(category));
static cl::opt<bool> profile("profile",
                             cl::desc("Time every kernel launch (compiled "
                                      "models) and print the slowest"),
                             cl::cat(category));
static cl::opt<unsigned> threads("host-threads",
                                 cl::desc("Host backend worker threads (0: "
                                          "one per core)"),
                                 cl::init(0), cl::cat(category));
static cl::opt<std::string> entry("entry", cl::desc("Function to run"),
                                  cl::init("forward"), cl::cat(category));
static cl::opt<std::string> inputsFile("inputs",
                                       cl::desc("Named input tensors "
                                                "(.safetensors)"),
                                       cl::cat(category));
static cl::opt<std::string> outputFile("o",
                                       cl::desc("Write the named results here "
                                                "(.safetensors)"),
                                       cl::value_desc("file"),
                                       cl::cat(category));
static cl::opt<std::string> saveArgs("save-args",
                                     cl::desc("Also write every argument, "
                                              "initialised ones included"),
                                     cl::value_desc("file"), cl::cat(category));
static cl::opt<uint64_t> seed("seed",
                              cl::desc("Seed of the parameter initialisers"),
                              cl::init(0), cl::cat(category));
static cl::opt<bool> useF64("f64", cl::desc("Evaluate in double precision"),
                            cl::cat(category));
static cl::opt<bool> classify(
    "classify",
    cl::desc("Print the class predicted by each row of every [N, C] result "
             "(and the accuracy against the integer input named by --labels)"),
    cl::cat(category));
static cl::opt<std::string> labelsName("labels",
                                       cl::desc("Input tensor with the true "
                                                "classes, for --classify"),
                                       cl::init("labels"), cl::cat(category));
static cl::opt<unsigned> showRows("show", cl::desc("Rows --classify lists"),
                                  cl::init(10), cl::cat(category));

static int fail(const std::string &message) {
  llvm::errs() << "d2lc-run: error: " << message << "\n";
  return 1;
}

template <typename T>
static int run(func::FuncOp func, const d2lrt::TensorFile &inputs) {
  std::vector<eval::Tensor<T>> args;
  std::vector<std::string> unused;
  std::string err = eval::bindArguments(func, inputs, seed, args, &unused);
  if (!err.empty())
    return fail(inputsFile.empty() ? err : inputsFile + ": " + err);
  for (const std::string &name : unused)
    if (!(classify && name == labelsName))
      llvm::errs() << "d2lc-run: warning: tensor '" << name << "' in "
                   << inputsFile << " is not an argument of @" << entry
                   << "; ignored\n";
  auto infos = eval::describeArguments(func);
  if (!saveArgs.empty()) {
    d2lrt::TensorFile file;
    for (size_t i = 0; i < args.size(); ++i)
      file.set(infos[i].name, eval::toHost(args[i]));
    std::string e = d2lrt::writeSafetensors(saveArgs, file);
    if (!e.empty())
      return fail(e);
  }
  // Labels for --classify: an integer tensor of the inputs file.
  std::vector<int64_t> labels;
  if (const d2lrt::HostTensor *l = inputs.find(labelsName)) {
    for (int64_t i = 0; i < l->numel(); ++i)
      if (l->dtype == d2lrt::DType::I64)
        labels.push_back(l->data<int64_t>()[i]);
      else if (l->dtype == d2lrt::DType::I32)
        labels.push_back(l->data<int32_t>()[i]);
  }

  auto results = eval::evaluate<T>(func, std::move(args));
  if (failed(results))
    return 1;
  auto names = eval::resultNames(func);
  d2lrt::TensorFile out;
  for (size_t i = 0; i < results->size(); ++i)
    out.set(names[i], eval::toHost((*results)[i]));
  if (!outputFile.empty()) {
    std::string e = d2lrt::writeSafetensors(outputFile, out);
    if (!e.empty())
      return fail(e);
  }

  for (size_t r = 0; r < results->size(); ++r) {
    const eval::Tensor<T> &t = (*results)[r];
    llvm::outs() << names[r] << ": " << formatShape(t.shape);
    if (t.rank() == 0 && !t.isInt)
      llvm::outs() << " = " << double(t.data[0]);
    llvm::outs() << "\n";
    if (!classify || t.rank() != 2 || t.isInt)
      continue;
    int64_t n = t.shape[0], c = t.shape[1], correct = 0;
    bool haveLabels = int64_t(labels.size()) == n;
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (t.data[i * c + j] > t.data[i * c + best])
          best = j;
      if (haveLabels && labels[i] == best)
        ++correct;
      if (i < int64_t(showRows)) {
        llvm::outs() << "  example " << i << ": predicted " << best;
        if (c == 10)
          llvm::outs() << " (" << d2lrt::fashionMnistLabel(best) << ")";
        if (haveLabels) {
          llvm::outs() << ", label " << labels[i];
          if (c == 10)
            llvm::outs() << " (" << d2lrt::fashionMnistLabel(labels[i]) << ")";
        }
        llvm::outs() << "\n";
      }
    }
    if (haveLabels)
      llvm::outs() << "  accuracy " << llvm::format("%.3f", double(correct) / n)
                   << " (" << correct << " of " << n << ")\n";
  }
  return 0;
}

/// Prints the memory plan of an entry of a compiled model.
static void printMemoryPlan(const d2lrt::EntryPlan &p) {
  llvm::outs() << "memory plan of @" << entry << ": arena " << p.plan.arenaBytes
               << " bytes, lower bound " << p.plan.lowerBound
               << " bytes, naive " << p.plan.naiveBytes << " bytes ("
               << llvm::format("%.3f", p.plan.lowerBound
                                           ? double(p.plan.arenaBytes) /
                                                 p.plan.lowerBound
                                           : 1.0)
               << "x the bound)\n";
  for (const d2lrt::PlannedBuffer &b : p.buffers) {
    llvm::outs() << llvm::format("  %4d %-10s %12llu bytes", b.id,
                                 d2lrt::bufferKindName(b.kind),
                                 (unsigned long long)b.bytes);
    if (d2lrt::isArenaKind(b.kind))
      llvm::outs() << llvm::format(" at %12llu", (unsigned long long)b.offset)
                   << llvm::format(" live %d..%d", b.first, b.last);
    llvm::outs() << "  " << b.name << "\n";
  }
}

/// Runs an entry of a compiled model.cu with the d2lrt runtime.
static int runCompiled() {
  std::string which =
      backend.empty() ? std::string("host") : backend.getValue();
  if (which != "host" && which != "cuda")
    return fail("unknown backend '" + which +
                "' for a compiled model (available: host, cuda)");
  try {
    if (printPlan && inputsFile.empty()) {
      // The plan comes from the manifest alone: nothing is compiled or run.
      d2lrt::Manifest m =
          d2lrt::parseManifest(d2lrt::readTextFile(modelFile), modelFile);
      const d2lrt::EntrySpec *spec = m.entry(entry);
      if (!spec)
        return fail(modelFile + ": no entry point '" + entry + "'");
      printMemoryPlan(d2lrt::planEntry(*spec));
      return 0;
    }
    d2lrt::Options options;
    options.device =
        which == "cuda" ? d2lrt::Device::Cuda : d2lrt::Device::Host;
    options.threads = threads;
    options.profile = profile;
    d2lrt::Model model(modelFile, options);
    d2lrt::TensorFile inputs;
    if (!inputsFile.empty()) {
      std::string err = d2lrt::readSafetensors(inputsFile, inputs);
      if (!err.empty())
        return fail(err);
    }
    // Parameters the inputs lack start from their initialisers.
    bool missing = false;
    for (const d2lrt::TensorSpec &t : model.manifest().tensors)
      missing |= !inputs.find(t.name);
    if (missing)
      model.initialize(seed);
    if (const d2lrt::EntrySpec *spec = model.manifest().entry(entry))
      for (const auto &[name, t] : inputs.tensors) {
        bool known = model.manifest().tensor(name) != nullptr;
        for (const d2lrt::BindingSpec &a : spec->arguments)
          known |= a.name == name;
        if (!known)
          llvm::errs() << "d2lc-run: warning: tensor '" << name << "' in "
                       << inputsFile << " is not an argument of @" << entry
                       << "; ignored\n";
      }
    // Parameters and states are bound once and stay resident: repeated runs
    // continue from the previous run's values.
    d2lrt::TensorFile data;
    for (const auto &[name, t] : inputs.tensors) {
      if (model.manifest().tensor(name))
        model.setTensor(name, t);
      else
        data.set(name, t);
    }
    d2lrt::TensorFile out;
    for (unsigned i = 0; i < std::max(1u, repeat.getValue()); ++i)
      out = model.run(entry, data);
    if (printPlan)
      printMemoryPlan(model.plan(entry));
    if (profile) {
      auto launches = model.profile(entry);
      double total = 0;
      for (const d2lrt::LaunchProfile &p : launches)
        total += p.seconds;
      std::stable_sort(
          launches.begin(), launches.end(),
          [](const auto &a, const auto &b) { return a.seconds > b.seconds; });
      llvm::outs() << llvm::format("profile of @%s: %.4f s per run in %zu "
                                   "launches\n",
                                   entry.c_str(),
                                   total / std::max(1u, repeat.getValue()),
                                   launches.size());
      for (size_t i = 0; i < launches.size() && i < 15; ++i)
        llvm::outs() << llvm::format("  %6.2f%%  %9.5f s  %-22s ",
                                     100 * launches[i].seconds / total,
                                     launches[i].seconds /
                                         std::max(1u, launches[i].runs),
                                     launches[i].kernel.c_str())
                     << launches[i].ops << "\n";
    }
    if (!outputFile.empty()) {
      std::string e = d2lrt::writeSafetensors(outputFile, out);
      if (!e.empty())
        return fail(e);
    }
    for (const auto &[name, t] : out.tensors) {
      llvm::outs() << name << ": " << formatShape(t.shape);
      if (t.shape.empty() && t.dtype == d2lrt::DType::F32)
        llvm::outs() << " = " << double(t.data<float>()[0]);
      llvm::outs() << "\n";
    }
    return 0;
  } catch (const d2lrt::Error &e) {
    return fail(e.what());
  }
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "d2lc-run: run a function of a d2l model\n");
  if (llvm::StringRef(modelFile).ends_with(".cu"))
    return runCompiled();
  if (!backend.empty() && backend != "eval")
    return fail("unknown backend '" + backend +
                "' for a .mlir model (available: eval; compile the model "
                "with d2lc to run it on host or cuda)");

  DialectRegistry registry;
  registry.insert<D2LDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  std::string errorMessage;
  auto file = openInputFile(modelFile, &errorMessage);
  if (!file)
    return fail(errorMessage);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  auto func = module->lookupSymbol<func::FuncOp>(entry);
  if (!func || func.isExternal()) {
    std::string names;
    for (auto f : module->getOps<func::FuncOp>())
      names += (names.empty() ? "@" : ", @") + f.getSymName().str();
    return fail("no function @" + entry + " in " + modelFile +
                " (functions: " + (names.empty() ? "none" : names) + ")");
  }

  d2lrt::TensorFile inputs;
  if (!inputsFile.empty()) {
    std::string err = d2lrt::readSafetensors(inputsFile, inputs);
    if (!err.empty())
      return fail(err);
  }
  return useF64 ? run<double>(func, inputs) : run<float>(func, inputs);
}
