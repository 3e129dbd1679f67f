//===- d2lc.cpp - the compiler driver: model.mlir to model.cu -------------===//
//
//   d2lc MODEL.mlir -o MODEL.cu [--train] [--batch N] [--arch sm_80|sm_90]
//
// Runs the standard pipeline (Pipeline.h): --d2l-set-batch (with --batch),
// then with --train --d2l-train-step (@train_step and @eval_step, @forward
// dropped), --d2l-simplify, the fusion passes (unless --no-fuse),
// --d2l-schedule, and prints one self-contained CUDA file.
//
//===----------------------------------------------------------------------===//

#include "d2l/Analysis/MemoryReport.h"
#include "d2l/Dialect/D2L/IR/D2L.h"
#include "d2l/Dialect/D2L/Transforms/Pipeline.h"
#include "d2l/Target/CUDA/CUDAEmitter.h"

#include "d2lrt/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("d2lc options");
static cl::opt<std::string> input(cl::Positional, cl::desc("<model.mlir>"),
                                  cl::Required, cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output file (- for stdout)"),
                                   cl::value_desc("model.cu"),
                                   cl::cat(category));
static cl::opt<bool> train("train",
                           cl::desc("Compile @train_step and @eval_step "
                                    "instead of @forward"),
                           cl::cat(category));
static cl::opt<int64_t> batch("batch", cl::desc("Set the batch size"),
                              cl::init(0), cl::cat(category));
static cl::opt<std::string> arch("arch",
                                 cl::desc("GPU architecture recorded in the "
                                          "manifest: sm_80 or sm_90"),
                                 cl::init("sm_80"), cl::cat(category));
static cl::opt<std::string> loss("loss",
                                 cl::desc("With --train: cross_entropy or mse"),
                                 cl::init("cross_entropy"), cl::cat(category));
static cl::opt<double> momentum("momentum", cl::desc("With --train: momentum"),
                                cl::init(0.0), cl::cat(category));
static cl::opt<std::string> optimizer("optimizer",
                                      cl::desc("With --train: sgd or adam"),
                                      cl::init("sgd"), cl::cat(category));
static cl::opt<double> beta1("beta1", cl::desc("With --optimizer adam: β1"),
                             cl::init(0.9), cl::cat(category));
static cl::opt<double> beta2("beta2", cl::desc("With --optimizer adam: β2"),
                             cl::init(0.999), cl::cat(category));
static cl::opt<double> adamEps("eps", cl::desc("With --optimizer adam: ε"),
                               cl::init(1e-8), cl::cat(category));
static cl::opt<double> weightDecay("weight-decay",
                                   cl::desc("With --train: weight decay"),
                                   cl::init(0.0), cl::cat(category));
static cl::opt<double> l1("l1", cl::desc("With --train: L1 penalty"),
                          cl::init(0.0), cl::cat(category));
static cl::opt<double>
    clipNorm("clip-norm",
             cl::desc("With --train: clip the gradients to this global norm, "
                      "as torch.nn.utils.clip_grad_norm_"),
             cl::init(0.0), cl::cat(category));
static cl::opt<double> lossScale(
    "loss-scale",
    cl::desc("With --train: differentiate this multiple of the loss (the "
             "book's train_seq2seq: the batch size)"),
    cl::init(1.0), cl::cat(category));
static cl::opt<bool> emitGrads("emit-grads",
                               cl::desc("With --train: return the gradients"),
                               cl::cat(category));
static cl::opt<bool>
    emitMlir("emit-mlir", cl::desc("Print the scheduled IR instead of CUDA"),
             cl::cat(category));

static cl::opt<bool>
    noFuse("no-fuse",
           cl::desc("Do not fuse: one kernel per op (the unfused variant)"),
           cl::cat(category));

static cl::opt<bool>
    noReorder("no-reorder",
              cl::desc("Keep the program order of the ops (no "
                       "--d2l-reorder, which otherwise reorders them when "
                       "that lowers the estimated peak)"),
              cl::cat(category));

static cl::opt<bool> fuseStem(
    "fuse-stem-backward",
    cl::desc("With --train: the backward pass of a conv-BN-ReLU-max-pool "
             "stem as one kernel that recomputes its activations "
             "(--d2l-fuse-stem-backward): its conv output is not saved"),
    cl::cat(category));

static cl::opt<bool> earlyUpdate(
    "early-update",
    cl::desc("With --train: update each parameter right after its gradient "
             "is complete, in place (--d2l-early-update): a lower peak, one "
             "launch per parameter instead of one for all"),
    cl::cat(category));

static cl::opt<bool>
    report("report",
           cl::desc("Print, per function, the kernel launches, the distinct "
                    "kernels and the bytes saved for the backward pass "
                    "instead of CUDA"),
           cl::cat(category));

static cl::opt<bool> memReport(
    "mem-report",
    cl::desc("Print, per function, the values saved for the backward pass "
             "and the memory totals and plan instead of CUDA"),
    cl::cat(category));

static cl::opt<std::string> rematBudget(
    "remat-budget",
    cl::desc("With --train: recompute saved activations so that the step's "
             "memory fits this many bytes (or this fraction, < 1, of it "
             "without recomputation); see --d2l-remat"),
    cl::init(""), cl::cat(category));
static cl::opt<std::string>
    rematPolicy("remat-policy",
                cl::desc("With --remat-budget: auto or exact (branch and "
                         "bound), greedy, exhaustive (every subset, up to 20 "
                         "saved values), or sqrt (Chen et al.'s "
                         "checkpointing, no budget needed)"),
                cl::init("auto"), cl::cat(category));

static cl::opt<std::string> rematObjective(
    "remat-objective",
    cl::desc("With --remat-budget: what it bounds, peak (the step's memory) "
             "or saved (the bytes kept for the backward pass)"),
    cl::init("peak"), cl::cat(category));

static int fail(const std::string &message) {
  llvm::errs() << "d2lc: error: " << message << "\n";
  return 1;
}

/// The schedule's figures of each function: launches per call, distinct
/// kernels, and the bytes of the values kept for the backward pass.
static void printReport(ModuleOp module, llvm::raw_ostream &os) {
  os << llvm::formatv("{0,-12} {1,9} {2,8} {3,8} {4,14}\n", "function",
                      "launches", "kernels", "saved", "saved_bytes");
  for (auto func : module.getOps<func::FuncOp>()) {
    int64_t launches = 0, saved = 0, savedBytes = 0;
    std::set<std::string> kernels;
    for (Operation &op : func.getBody().front())
      if (auto list = op.getAttrOfType<ArrayAttr>("d2l.launches"))
        for (Attribute a : list) {
          ++launches;
          kernels.insert(cast<StringAttr>(cast<DictionaryAttr>(a).get("kernel"))
                             .getValue()
                             .str());
        }
    if (auto buffers = func->getAttrOfType<ArrayAttr>("d2l.buffers"))
      for (Attribute a : buffers) {
        auto d = cast<DictionaryAttr>(a);
        if (cast<StringAttr>(d.get("kind")).getValue() != "saved")
          continue;
        auto t =
            cast<RankedTensorType>(cast<TypeAttr>(d.get("type")).getValue());
        ++saved;
        savedBytes +=
            t.getNumElements() * int64_t(t.getElementTypeBitWidth() / 8);
      }
    os << llvm::formatv("{0,-12} {1,9} {2,8} {3,8} {4,14}\n", func.getSymName(),
                        launches, kernels.size(), saved, savedBytes);
  }
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "d2lc: compile a d2l model to CUDA\n");
  if (arch != "sm_80" && arch != "sm_90")
    return fail("unknown --arch '" + arch + "' (expected sm_80 or sm_90)");
  if (batch < 0)
    return fail("--batch must be positive");
  // Options of the training step: an error without --train rather than
  // silently compiling something else.
  for (cl::Option *o : std::initializer_list<cl::Option *>{
           &earlyUpdate, &fuseStem, &rematBudget, &rematPolicy,
           &rematObjective})
    if (o->getNumOccurrences() && !train)
      return fail("--" + o->ArgStr.str() + " needs --train");
  if (fuseStem && noFuse)
    return fail("--fuse-stem-backward rewrites the fused conv-BN-ReLU "
                "backward pass; it cannot be used with --no-fuse");

  DialectRegistry registry;
  registry.insert<d2l::D2LDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  std::string error;
  auto file = openInputFile(input, &error);
  if (!file)
    return fail(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  if (!module->lookupSymbol<func::FuncOp>("forward"))
    return fail(input + " has no @forward function");

  d2l::PipelineOptions options;
  options.batch = batch;
  options.train = train;
  options.loss = loss;
  options.momentum = momentum;
  options.optimizer = optimizer;
  options.beta1 = beta1;
  options.beta2 = beta2;
  options.eps = adamEps;
  options.weightDecay = weightDecay;
  options.clipNorm = clipNorm;
  options.lossScale = lossScale;
  options.l1 = l1;
  options.emitGrads = emitGrads;
  options.fuse = !noFuse;
  options.earlyUpdate = earlyUpdate;
  options.fuseStem = fuseStem;
  options.reorder = !noReorder;
  options.rematBudget = rematBudget;
  options.rematPolicy = rematPolicy;
  options.rematObjective = rematObjective;
  if (failed(d2l::runPipeline(*module, options)))
    return 1;

  std::string text;
  llvm::raw_string_ostream os(text);
  if (emitMlir) {
    module->print(os);
  } else if (report) {
    printReport(*module, os);
  } else if (memReport) {
    if (failed(d2l::printMemoryReport(*module, os)))
      return 1;
  } else {
    d2l::CUDAEmitOptions emitOptions;
    emitOptions.modelName = llvm::sys::path::stem(input).str();
    emitOptions.arch = arch;
    if (failed(d2l::emitCUDA(*module, os, emitOptions)))
      return 1;
  }
  if (output.empty() || output == "-") {
    llvm::outs() << text;
    return 0;
  }
  std::string err = d2lrt::writeFileAtomically(
      output, std::vector<uint8_t>(text.begin(), text.end()));
  if (!err.empty())
    return fail(err);
  return 0;
}
