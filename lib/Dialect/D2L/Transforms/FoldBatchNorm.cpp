//===- FoldBatchNorm.cpp - BatchNorm's running statistics into weights ----===//
//
// Inference: batch_norm_inference(conv2d(x, w, b), gamma, beta, mean, var)
// is conv2d(x, w', b') with, per output channel c,
//   scale_c = gamma_c / sqrt(var_c + eps),
//   w'_c    = w_c scale_c,
//   b'_c    = (b_c - mean_c) scale_c + beta_c      (b_c = 0 without bias),
// and the same for linear followed by a BatchNorm1d. The folded weights of
// every such pair in a function are computed by one `d2l.fused "multi"` at
// its entry (the weights are arguments, so this is one launch per call, the
// work TensorRT does once at build time); the activation after the BN then
// becomes the convolution's epilogue under --d2l-fuse-elementwise.
//
// A conv output read by anything else than the BN is not folded: the
// unnormalised value is needed.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LFOLDBATCHNORM
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

struct Candidate {
  BatchNormInferenceOp bn;
  Operation *producer; // conv2d or linear
  Value weight, bias;  // bias may be null
};

/// The conv2d or linear whose only use is `bn`, with its weights and the
/// BN's operands all function arguments (so they can be folded at entry).
std::optional<Candidate> match(BatchNormInferenceOp bn) {
  Operation *producer = bn.getInput().getDefiningOp();
  if (!producer || !bn.getInput().hasOneUse())
    return std::nullopt;
  Candidate c{bn, producer, {}, {}};
  if (auto conv = dyn_cast<Conv2dOp>(producer)) {
    c.weight = conv.getWeight();
    c.bias = conv.getBias();
  } else if (auto lin = dyn_cast<LinearOp>(producer)) {
    // BatchNorm1d normalises dimension 1: the linear's features only when
    // the output is [N, C].
    if (cast<RankedTensorType>(lin.getType()).getRank() != 2)
      return std::nullopt;
    c.weight = lin.getWeight();
    c.bias = lin.getBias();
  } else {
    return std::nullopt;
  }
  SmallVector<Value> folded{c.weight, bn.getWeight(), bn.getBias(),
                            bn.getRunningMean(), bn.getRunningVar()};
  if (c.bias)
    folded.push_back(c.bias);
  for (Value v : folded)
    if (!isa<BlockArgument>(v))
      return std::nullopt;
  return c;
}

void foldFunction(func::FuncOp func) {
  SmallVector<Candidate> candidates;
  func.walk([&](BatchNormInferenceOp bn) {
    if (auto c = match(bn))
      candidates.push_back(*c);
  });
  if (candidates.empty())
    return;
  Block &entry = func.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  Location loc = func.getLoc();

  // Outside the group: eps constants and the per-channel vectors reshaped
  // to broadcast over the weight ([C, 1, 1, 1] or [C, 1]); views, no work.
  SmallVector<Value> inputs;
  auto input = [&](Value v) {
    inputs.push_back(v);
    return unsigned(inputs.size() - 1);
  };
  struct Slots {
    unsigned w, gammaW, varW, eps, gamma, beta, mean, var, bias;
    bool hasBias;
  };
  SmallVector<Slots> slots;
  for (Candidate &c : candidates) {
    auto wt = cast<RankedTensorType>(c.weight.getType());
    Type et = wt.getElementType();
    SmallVector<int64_t> shape(wt.getRank(), 1);
    shape[0] = wt.getDimSize(0);
    auto vt = RankedTensorType::get(shape, et);
    auto view = [&](Value v) -> Value {
      return b.create<ReshapeOp>(loc, vt, v, b.getDenseI64ArrayAttr(shape));
    };
    Value eps = b.create<ConstantOp>(
        loc, DenseElementsAttr::get(
                 RankedTensorType::get({}, et),
                 b.getFloatAttr(et, c.bn.getEps().convertToDouble())));
    Slots s;
    s.w = input(c.weight);
    s.gammaW = input(view(c.bn.getWeight()));
    s.varW = input(view(c.bn.getRunningVar()));
    s.eps = input(eps);
    s.gamma = input(c.bn.getWeight());
    s.beta = input(c.bn.getBias());
    s.mean = input(c.bn.getRunningMean());
    s.var = input(c.bn.getRunningVar());
    s.hasBias = bool(c.bias);
    s.bias = s.hasBias ? input(c.bias) : 0;
    slots.push_back(s);
  }

  // The group: w' and b' of every candidate.
  SmallVector<Type> types;
  for (Candidate &c : candidates) {
    types.push_back(c.weight.getType());
    types.push_back(c.bn.getWeight().getType());
  }
  auto fused = b.create<FusedOp>(loc, types, b.getStringAttr("multi"), inputs);
  Block *body = new Block();
  fused.getBody().push_back(body);
  for (Value v : inputs)
    body->addArgument(v.getType(), loc);
  OpBuilder inner = OpBuilder::atBlockEnd(body);
  SmallVector<Value> yielded;
  for (Slots &s : slots) {
    auto arg = [&](unsigned i) -> Value { return body->getArgument(i); };
    // w' = w gamma / sqrt(var + eps), the vectors broadcast over w.
    Value scaleW = inner.create<DivOp>(
        loc, arg(s.gammaW),
        inner.create<SqrtOp>(
            loc, inner.create<AddOp>(loc, arg(s.varW), arg(s.eps))));
    yielded.push_back(inner.create<MulOp>(loc, arg(s.w), scaleW));
    // b' = (b - mean) scale + beta.
    Value scale = inner.create<DivOp>(
        loc, arg(s.gamma),
        inner.create<SqrtOp>(loc,
                             inner.create<AddOp>(loc, arg(s.var), arg(s.eps))));
    Value centered = s.hasBias
                         ? inner.create<SubOp>(loc, arg(s.bias), arg(s.mean))
                         : inner.create<NegOp>(loc, arg(s.mean)).getResult();
    yielded.push_back(inner.create<AddOp>(
        loc, inner.create<MulOp>(loc, centered, scale), arg(s.beta)));
  }
  inner.create<YieldOp>(loc, yielded);

  // The producers read the folded weights; the BNs disappear.
  for (auto [i, c] : llvm::enumerate(candidates)) {
    Value w = fused.getResult(2 * i), bias = fused.getResult(2 * i + 1);
    // The same op reading w' and b' (the bias is its last operand).
    OpBuilder at(c.producer);
    Operation *clone = at.clone(*c.producer);
    clone->setOperand(1, w);
    if (c.bias)
      clone->setOperand(2, bias);
    else
      clone->insertOperands(2, bias);
    Value y = clone->getResult(0);
    c.bn.getResult().replaceAllUsesWith(y);
    c.bn.erase();
    c.producer->erase();
  }
}

struct FoldBatchNormPass : impl::D2LFoldBatchNormBase<FoldBatchNormPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        foldFunction(func);
  }
};

} // namespace
} // namespace mlir::d2l
