//===- FuseStemBackward.cpp - a stem's backward without its activations ---===//
//
// A network's first conv + BatchNorm + ReLU + max-pool (ResNet's stem) works at
// the input's resolution, so its activations are the largest of the step: the
// convolution's output, saved for BatchNorm's backward, and, in the backward
// pass, the max-pool's input (recomputed), the pooled gradient scattered back
// to it and BatchNorm's input gradient. When the stem's input needs no
// gradient, none of them has to exist: d2l.conv_bn_relu_pool_backward
// recomputes each pooling window from the input inside the kernel and assembles
// the parameter gradients from per-channel sums. fuseStemBackward rewrites
//
//   %a  = relu((%y - mean) * invstd * gamma + beta)   (the backward's copy)
//   %da = max_pool2d_backward %g, %a
//   %dy, %dgamma, %dbeta = batch_norm_act_backward %da, %y, ... {relu}
//   %dw = conv2d_backward_filter %x, %dy
//   %db = sum %dy {dims = [0, 2, 3]}
//
// with %y from conv2d_batch_stats %x, ... and %dy read by nothing else,
// into that one op; %y is then no longer saved. --d2l-remat uses it when
// it recomputes the stem (it evaluates the step both ways); the pass
// --d2l-fuse-stem-backward applies it alone, for tests.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LFUSESTEMBACKWARD
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"
} // namespace mlir::d2l

using namespace mlir;
using namespace mlir::d2l;

namespace {

/// The most C_in kH kW the kernel takes (its per-thread sums: 3 per tap).
constexpr int64_t kMaxStemTaps = 340;

/// `v` is the per-channel vector `source` viewed as [C, 1, 1], as
/// FuseConvBnRelu writes it (any other shape would broadcast otherwise).
bool isViewOf(Value v, Value source) {
  auto r = v.getDefiningOp<ReshapeOp>();
  auto t = dyn_cast<RankedTensorType>(v.getType());
  auto st = dyn_cast<RankedTensorType>(source.getType());
  return r && r.getInput() == source && t && st && st.getRank() == 1 &&
         t.getShape() == ArrayRef<int64_t>{st.getDimSize(0), 1, 1};
}

/// `a` is relu((y - mean) * invstd * gamma + beta) as FuseConvBnRelu
/// writes it (the kernel recomputes exactly this).
bool isBnRelu(Value a, Value y, BatchNormActBackwardOp bn) {
  auto relu = a.getDefiningOp<ReluOp>();
  auto add = relu ? relu.getInput().getDefiningOp<AddOp>() : AddOp();
  auto mulG = add ? add.getLhs().getDefiningOp<MulOp>() : MulOp();
  auto mulS = mulG ? mulG.getLhs().getDefiningOp<MulOp>() : MulOp();
  auto sub = mulS ? mulS.getLhs().getDefiningOp<SubOp>() : SubOp();
  return sub && sub.getLhs() == y &&
         isViewOf(sub.getRhs(), bn.getBatchMean()) &&
         isViewOf(mulS.getRhs(), bn.getBatchInvstd()) &&
         isViewOf(mulG.getRhs(), bn.getWeight()) &&
         isViewOf(add.getRhs(), bn.getBias());
}

bool fuse(BatchNormActBackwardOp bn) {
  if (bn.getActivation() != "relu")
    return false;
  auto conv = bn.getInput().getDefiningOp<Conv2dBatchStatsOp>();
  if (!conv || conv.getResult() != bn.getInput() || conv.getGroups() != 1 ||
      llvm::any_of(conv.getDilation(), [](int64_t d) { return d != 1; }) ||
      bn.getBatchMean() != conv.getBatchMean() ||
      bn.getBatchInvstd() != conv.getBatchInvstd())
    return false;
  auto pool = bn.getGradOutput().getDefiningOp<MaxPool2dBackwardOp>();
  if (!pool || !bn.getGradOutput().hasOneUse() ||
      !isBnRelu(pool.getInput(), conv.getResult(), bn))
    return false;
  // The input gradient only makes the weight and bias gradients.
  Conv2dBackwardFilterOp wgrad;
  SumOp bias;
  for (Operation *user : bn.getGradInput().getUsers()) {
    if (auto w = dyn_cast<Conv2dBackwardFilterOp>(user);
        w && !wgrad && w.getGradOutput() == bn.getGradInput() &&
        w.getInput() == conv.getInput() && w.getStride() == conv.getStride() &&
        w.getPadding() == conv.getPadding() &&
        w.getDilation() == conv.getDilation() && w.getGroups() == 1 &&
        w.getType() == conv.getWeight().getType()) {
      wgrad = w;
      continue;
    }
    if (auto s = dyn_cast<SumOp>(user);
        s && !bias && s.getDims() == ArrayRef<int64_t>{0, 2, 3} &&
        s.getType() == bn.getGradWeight().getType()) {
      bias = s;
      continue;
    }
    return false;
  }
  if (!wgrad)
    return false;
  // The kernel keeps 3 C_in kH kW + 3 sums per thread (in double): refuse
  // wide convolutions (a stem reads few channels: ResNet's 49 taps).
  auto w = cast<RankedTensorType>(conv.getWeight().getType());
  if (w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3) > kMaxStemTaps)
    return false;

  OpBuilder b(pool);
  SmallVector<Value> operands{pool.getGradOutput(), conv.getInput(),
                              conv.getWeight(),     bn.getWeight(),
                              bn.getBias(),         bn.getBatchMean(),
                              bn.getBatchInvstd()};
  if (conv.getBias())
    operands.push_back(conv.getBias());
  auto fused = b.create<ConvBnReluPoolBackwardOp>(
      bn.getLoc(), operands,
      ArrayRef<NamedAttribute>{
          b.getNamedAttr("stride", conv.getStrideAttr()),
          b.getNamedAttr("padding", conv.getPaddingAttr()),
          b.getNamedAttr("pool_kernel_size", pool.getKernelSizeAttr()),
          b.getNamedAttr("pool_stride",
                         b.getDenseI64ArrayAttr(pool.getEffectiveStride())),
          b.getNamedAttr("pool_padding", pool.getPaddingAttr())});
  wgrad.getResult().replaceAllUsesWith(fused.getGradWeight());
  bn.getGradWeight().replaceAllUsesWith(fused.getGradBnWeight());
  bn.getGradBias().replaceAllUsesWith(fused.getGradBnBias());
  if (bias)
    bias.getResult().replaceAllUsesWith(fused.getGradBias());
  Value a = pool.getInput();
  if (bias)
    bias.erase();
  wgrad.erase();
  bn.erase();
  pool.erase();
  // The backward's copy of the activation chain, now unread (an op may be
  // reached twice: erased ones are skipped; nothing is allocated here).
  SmallVector<Operation *> stack{a.getDefiningOp()};
  llvm::SmallPtrSet<Operation *, 8> erased;
  while (!stack.empty()) {
    Operation *op = stack.pop_back_val();
    if (!op || erased.contains(op) || !op->use_empty())
      continue;
    SmallVector<Operation *> defs;
    for (Value v : op->getOperands())
      defs.push_back(v.getDefiningOp());
    erased.insert(op);
    op->erase();
    llvm::append_range(stack, defs);
  }
  return true;
}

struct FuseStemBackwardPass
    : mlir::d2l::impl::D2LFuseStemBackwardBase<FuseStemBackwardPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() && fuseStemBackward(func))
        markSavedValues(func);
  }
};

} // namespace

unsigned mlir::d2l::fuseStemBackward(func::FuncOp func) {
  SmallVector<BatchNormActBackwardOp> candidates;
  func.walk([&](BatchNormActBackwardOp bn) { candidates.push_back(bn); });
  unsigned count = 0;
  for (BatchNormActBackwardOp bn : candidates)
    count += fuse(bn);
  return count;
}
