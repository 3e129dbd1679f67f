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
#include "d2lrt/Runner.h"
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

#include <sstream>

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
static cl::opt<bool> timeRuns("time",
                              cl::desc("Time each run after a warm-up run "
                                       "(compiled models)"),
                              cl::cat(category));
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

/// Runs an entry of a compiled model.cu with the d2lrt runtime.
static int runCompiled() {
  d2lrt::RunRequest r;
  r.model = modelFile;
  r.entry = entry;
  r.device = backend.empty() ? std::string("host") : backend.getValue();
  r.inputs = inputsFile;
  r.output = outputFile;
  r.seed = seed;
  r.repeat = repeat;
  r.threads = threads;
  r.plan = printPlan;
  r.profile = profile;
  r.time = timeRuns;
  try {
    std::ostringstream out, err;
    d2lrt::runCompiledModel(r, out, err);
    llvm::outs() << out.str();
    llvm::errs() << err.str();
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
