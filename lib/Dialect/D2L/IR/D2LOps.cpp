//===- D2LOps.cpp - shape rules and folders of the d2l ops ----------------===//
//
// Each op's inferReturnTypes is its complete shape rule: it checks ranks,
// sizes, element types and attributes, and says what it expected and what it
// found. It runs during verification (trait::ShapeChecked) and whenever a
// builder or a pass re-infers a type, so it never asserts.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/SmallPtrSet.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::d2l;

std::string mlir::d2l::formatLocation(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
       << loc.getColumn();
  return s;
}

std::string mlir::d2l::formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

/// Emits "'d2l.op' op <message>" at the location, when there is one.
struct ShapeError {
  std::optional<Location> loc;
  StringRef opName;

  template <typename... Args> LogicalResult operator()(Args &&...args) const {
    return emitOptionalError(loc, "'", opName, "' op ",
                             std::forward<Args>(args)...);
  }
};

/// A ranked, statically shaped tensor type or null.
RankedTensorType tensorOf(Type type) {
  auto t = dyn_cast_or_null<RankedTensorType>(type);
  return t && t.hasStaticShape() ? t : RankedTensorType();
}

/// Checks that `type` is a static tensor of one of `ranks`.
LogicalResult expectRank(const ShapeError &err, Type type, StringRef what,
                         ArrayRef<int64_t> ranks, StringRef layout = "") {
  auto t = tensorOf(type);
  if (t && llvm::is_contained(ranks, t.getRank()))
    return success();
  std::string expected;
  for (size_t i = 0; i < ranks.size(); ++i)
    expected += (i ? (i + 1 == ranks.size() ? " or " : ", ") : "") +
                std::to_string(ranks[i]);
  return err("expects ", what, " of rank ", expected, layout.empty() ? "" : " ",
             layout, " but got ", type);
}

LogicalResult expectSameElementType(const ShapeError &err, Type expected,
                                    Type found, StringRef what) {
  Type a = getElementTypeOrSelf(expected), b = getElementTypeOrSelf(found);
  if (a == b)
    return success();
  return err("expects ", what, " to have element type ", a, " but got ", found);
}

LogicalResult expectPair(const ShapeError &err, ArrayRef<int64_t> values,
                         StringRef name, int64_t minimum) {
  if (values.size() != 2)
    return err("expects '", name, "' to have 2 values (height, width) but got ",
               formatShape(values));
  for (int64_t v : values)
    if (v < minimum)
      return err("expects '", name, "' values to be at least ", minimum,
                 " but got ", formatShape(values));
  return success();
}

/// Normalises a possibly negative dimension index.
FailureOr<int64_t> normaliseDim(const ShapeError &err, int64_t dim,
                                int64_t rank, StringRef name) {
  int64_t lo = rank == 0 ? -1 : -rank, hi = rank == 0 ? 0 : rank - 1;
  if (dim < lo || dim > hi)
    return err("expects '", name, "' in [", lo, ", ", hi, "] for rank ", rank,
               " but got ", dim);
  return dim < 0 ? dim + std::max<int64_t>(rank, 1) : dim;
}

RankedTensorType tensor(ArrayRef<int64_t> shape, Type elementType) {
  return RankedTensorType::get(shape, elementType);
}

/// Checks a per-channel vector ([C]) operand.
LogicalResult expectVector(const ShapeError &err, Type type, StringRef what,
                           int64_t size, Type elementType) {
  auto t = tensorOf(type);
  if (!t || t.getRank() != 1 || t.getDimSize(0) != size)
    return err("expects ", what, " of shape [", size, "] but got ", type);
  return expectSameElementType(err, elementType, type, what);
}

/// The shape rule shared by max_pool2d and avg_pool2d.
LogicalResult inferPool(const ShapeError &err, Type inputType,
                        ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                        ArrayRef<int64_t> padding,
                        SmallVectorImpl<Type> &results) {
  if (failed(expectRank(err, inputType, "input", {4}, "[N, C, H, W]")) ||
      failed(expectPair(err, kernel, "kernel_size", 1)) ||
      failed(expectPair(err, stride, "stride", 1)) ||
      failed(expectPair(err, padding, "padding", 0)))
    return failure();
  auto input = tensorOf(inputType);
  SmallVector<int64_t> shape(input.getShape());
  for (int i = 0; i < 2; ++i) {
    if (padding[i] * 2 > kernel[i])
      return err("expects padding at most half the kernel size, but got "
                 "padding ",
                 formatShape(padding), " for kernel ", formatShape(kernel));
    int64_t span = shape[2 + i] + 2 * padding[i] - kernel[i];
    if (span < 0)
      return err("expects the kernel ", formatShape(kernel),
                 " to fit in the padded input, but the input is ", inputType,
                 " with padding ", formatShape(padding));
    shape[2 + i] = span / stride[i] + 1;
  }
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

/// The shape rule shared by batch_norm and batch_norm_inference.
LogicalResult checkBatchNormOperands(const ShapeError &err, Type inputType,
                                     Type weight, Type bias, Type mean,
                                     Type var, double eps) {
  if (failed(expectRank(err, inputType, "input", {2, 3, 4},
                        "([N, C], [N, C, L] or [N, C, H, W])")))
    return failure();
  auto input = tensorOf(inputType);
  int64_t c = input.getDimSize(1);
  Type et = input.getElementType();
  if (failed(expectVector(err, weight, "weight", c, et)) ||
      failed(expectVector(err, bias, "bias", c, et)) ||
      failed(expectVector(err, mean, "running_mean", c, et)) ||
      failed(expectVector(err, var, "running_var", c, et)))
    return failure();
  if (!(eps > 0))
    return err("expects 'eps' > 0 but got ", eps);
  return success();
}

} // namespace

LogicalResult mlir::d2l::trait::verifyResultTypes(Operation *op,
                                                  TypeRange inferred) {
  if (inferred.size() != op->getNumResults())
    return op->emitOpError()
           << "has " << op->getNumResults() << " results but its operands give "
           << inferred.size();
  for (auto [i, declared, expected] :
       llvm::enumerate(op->getResultTypes(), inferred))
    if (declared != expected)
      return op->emitOpError()
             << "result " << i << " has type " << declared
             << " but the operands and attributes give " << expected;
  return success();
}

FailureOr<SmallVector<int64_t>>
mlir::d2l::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return failure();
    out[i] = da == 1 ? db : da;
  }
  return out;
}

LogicalResult mlir::d2l::inferBroadcastResult(std::optional<Location> loc,
                                              StringRef opName, Type lhs,
                                              Type rhs,
                                              SmallVectorImpl<Type> &results) {
  ShapeError err{loc, opName};
  auto l = tensorOf(lhs), r = tensorOf(rhs);
  if (!l || !r)
    return err("expects statically shaped tensors but got ", lhs, " and ", rhs);
  if (failed(expectSameElementType(err, lhs, rhs, "rhs")))
    return failure();
  auto shape = broadcastShapes(l.getShape(), r.getShape());
  if (failed(shape))
    return err("expects broadcastable shapes but got ", lhs, " and ", rhs,
               " (a dimension must match or be 1, aligned from the last)");
  results.push_back(tensor(*shape, l.getElementType()));
  return success();
}

LogicalResult mlir::d2l::inferReduceResult(std::optional<Location> loc,
                                           StringRef opName, Type inputType,
                                           ArrayRef<int64_t> dims, bool keepdim,
                                           SmallVectorImpl<Type> &results) {
  ShapeError err{loc, opName};
  auto input = tensorOf(inputType);
  if (!input)
    return err("expects a statically shaped tensor but got ", inputType);
  int64_t rank = input.getRank();
  SmallVector<bool> reduced(rank, dims.empty());
  for (int64_t d : dims) {
    if (rank == 0)
      return err("expects no 'dims' for a 0-d input but got ",
                 formatShape(dims));
    auto n = normaliseDim(err, d, rank, "dims");
    if (failed(n))
      return failure();
    if (reduced[*n])
      return err("expects distinct 'dims' but got ", formatShape(dims));
    reduced[*n] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      shape.push_back(input.getDimSize(i));
    else if (keepdim)
      shape.push_back(1);
  }
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult DropoutOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  double p = adaptor.getP().convertToDouble();
  if (!(p >= 0 && p < 1))
    return err("expects 'p' in [0, 1) but got ", p);
  if (!tensorOf(adaptor.getInput().getType()))
    return err("expects a statically shaped input but got ",
               adaptor.getInput().getType());
  results.push_back(adaptor.getInput().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution and linear algebra
//===----------------------------------------------------------------------===//

/// The result type of a 2-D convolution (conv2d, conv2d_batch_stats).
static FailureOr<RankedTensorType>
inferConv2d(const ShapeError &err, Type inputType, Type weightType, Value bias,
            ArrayRef<int64_t> stride, ArrayRef<int64_t> padding,
            ArrayRef<int64_t> dilation, int64_t groups) {
  if (failed(expectRank(err, inputType, "input", {4}, "[N, C_in, H, W]")) ||
      failed(expectRank(err, weightType, "weight", {4},
                        "[C_out, C_in / groups, kH, kW]")) ||
      failed(expectSameElementType(err, inputType, weightType, "weight")))
    return failure();
  if (failed(expectPair(err, stride, "stride", 1)) ||
      failed(expectPair(err, padding, "padding", 0)) ||
      failed(expectPair(err, dilation, "dilation", 1)))
    return failure();
  auto input = tensorOf(inputType), weight = tensorOf(weightType);
  int64_t cin = input.getDimSize(1), cout = weight.getDimSize(0);
  if (groups < 1)
    return err("expects 'groups' >= 1 but got ", groups);
  if (cin % groups != 0 || cout % groups != 0)
    return err("expects in_channels (", cin, ") and out_channels (", cout,
               ") divisible by groups (", groups, ")");
  if (weight.getDimSize(1) * groups != cin)
    return err("expects weight dimension 1 to be in_channels / groups = ",
               cin / groups, " but got weight ", weightType);
  if (bias)
    if (failed(expectVector(err, bias.getType(), "bias", cout,
                            input.getElementType())))
      return failure();
  SmallVector<int64_t, 4> shape{input.getDimSize(0), cout, 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t k = weight.getDimSize(2 + i);
    int64_t span =
        input.getDimSize(2 + i) + 2 * padding[i] - dilation[i] * (k - 1) - 1;
    if (span < 0)
      return err("expects the kernel ", formatShape(weight.getShape()),
                 " (dilation ", formatShape(dilation),
                 ") to fit in the padded input, but the input is ", inputType,
                 " with padding ", formatShape(padding));
    shape[2 + i] = span / stride[i] + 1;
  }
  return tensor(shape, input.getElementType());
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto type = inferConv2d(err, adaptor.getInput().getType(),
                          adaptor.getWeight().getType(), adaptor.getBias(),
                          adaptor.getStride(), adaptor.getPadding(),
                          adaptor.getDilation(), adaptor.getGroups());
  if (failed(type))
    return failure();
  results.push_back(*type);
  return success();
}

LogicalResult
Conv2dBatchStatsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                     Adaptor adaptor,
                                     SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto type = inferConv2d(err, adaptor.getInput().getType(),
                          adaptor.getWeight().getType(), adaptor.getBias(),
                          adaptor.getStride(), adaptor.getPadding(),
                          adaptor.getDilation(), adaptor.getGroups());
  if (failed(type))
    return failure();
  int64_t c = type->getDimSize(1);
  Type et = type->getElementType();
  if (failed(expectVector(err, adaptor.getRunningMean().getType(),
                          "running_mean", c, et)) ||
      failed(expectVector(err, adaptor.getRunningVar().getType(), "running_var",
                          c, et)))
    return failure();
  double eps = adaptor.getEps().convertToDouble();
  double momentum = adaptor.getMomentum().convertToDouble();
  if (!(eps > 0))
    return err("expects 'eps' > 0 but got ", eps);
  if (!(momentum >= 0 && momentum <= 1))
    return err("expects 'momentum' in [0, 1] but got ", momentum);
  if (type->getNumElements() / c <= 1)
    return err("expects more than one value per channel, but the output ",
               *type, " has ", type->getNumElements() / c);
  auto vec = tensor({c}, et);
  results.append({*type, vec, vec, vec, vec});
  return success();
}

LogicalResult ConvBnReluPoolBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto conv = inferConv2d(err, adaptor.getInput().getType(),
                          adaptor.getWeight().getType(), adaptor.getBias(),
                          adaptor.getStride(), adaptor.getPadding(),
                          ArrayRef<int64_t>{1, 1}, 1);
  if (failed(conv))
    return failure();
  SmallVector<Type, 1> pooled;
  if (failed(inferPool(err, *conv, adaptor.getPoolKernelSize(),
                       adaptor.getPoolStride(), adaptor.getPoolPadding(),
                       pooled)))
    return failure();
  if (adaptor.getGradOutput().getType() != pooled[0])
    return err("expects grad_output of the pooled type ", pooled[0],
               " but got ", adaptor.getGradOutput().getType());
  int64_t c = conv->getDimSize(1);
  Type et = conv->getElementType();
  for (auto [v, name] : {std::pair{adaptor.getBnWeight(), "bn_weight"},
                         std::pair{adaptor.getBnBias(), "bn_bias"},
                         std::pair{adaptor.getBatchMean(), "batch_mean"},
                         std::pair{adaptor.getBatchInvstd(), "batch_invstd"}})
    if (failed(expectVector(err, v.getType(), name, c, et)))
      return failure();
  auto vec = tensor({c}, et);
  results.append({adaptor.getWeight().getType(), vec, vec, vec});
  return success();
}

LogicalResult BatchNormActBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type inputType = adaptor.getInput().getType();
  if (failed(checkBatchNormOperands(
          err, inputType, adaptor.getWeight().getType(),
          adaptor.getBias().getType(), adaptor.getBatchMean().getType(),
          adaptor.getBatchInvstd().getType(), 1.0)))
    return failure();
  if (adaptor.getGradOutput().getType() != inputType)
    return err("expects grad_output of the input's type ", inputType,
               " but got ", adaptor.getGradOutput().getType());
  StringRef act = adaptor.getActivation();
  if (act != "none" && act != "relu" && act != "sigmoid" && act != "tanh")
    return err("expects 'activation' none, relu, sigmoid or tanh but got '",
               act, "'");
  auto input = tensorOf(inputType);
  auto vec = tensor({input.getDimSize(1)}, input.getElementType());
  results.append({inputType, vec, vec});
  return success();
}

LogicalResult
ConvTranspose2dOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type inputType = adaptor.getInput().getType();
  Type weightType = adaptor.getWeight().getType();
  if (failed(expectRank(err, inputType, "input", {4}, "[N, C_in, H, W]")) ||
      failed(expectRank(err, weightType, "weight", {4},
                        "[C_in, C_out / groups, kH, kW]")) ||
      failed(expectSameElementType(err, inputType, weightType, "weight")))
    return failure();
  auto stride = adaptor.getStride(), padding = adaptor.getPadding(),
       outputPadding = adaptor.getOutputPadding(),
       dilation = adaptor.getDilation();
  int64_t groups = adaptor.getGroups();
  if (failed(expectPair(err, stride, "stride", 1)) ||
      failed(expectPair(err, padding, "padding", 0)) ||
      failed(expectPair(err, outputPadding, "output_padding", 0)) ||
      failed(expectPair(err, dilation, "dilation", 1)))
    return failure();
  auto input = tensorOf(inputType), weight = tensorOf(weightType);
  int64_t cin = input.getDimSize(1);
  if (groups < 1)
    return err("expects 'groups' >= 1 but got ", groups);
  if (weight.getDimSize(0) != cin)
    return err("expects weight dimension 0 to be in_channels = ", cin,
               " but got weight ", weightType);
  if (cin % groups != 0)
    return err("expects in_channels (", cin, ") divisible by groups (", groups,
               ")");
  int64_t cout = weight.getDimSize(1) * groups;
  if (Value bias = adaptor.getBias())
    if (failed(expectVector(err, bias.getType(), "bias", cout,
                            input.getElementType())))
      return failure();
  SmallVector<int64_t, 4> shape{input.getDimSize(0), cout, 0, 0};
  for (int i = 0; i < 2; ++i) {
    if (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i])
      return err("expects output_padding smaller than stride or dilation, "
                 "but got output_padding ",
                 formatShape(outputPadding), " with stride ",
                 formatShape(stride), " and dilation ", formatShape(dilation));
    int64_t k = weight.getDimSize(2 + i);
    int64_t size = (input.getDimSize(2 + i) - 1) * stride[i] - 2 * padding[i] +
                   dilation[i] * (k - 1) + outputPadding[i] + 1;
    if (size < 1)
      return err("expects a positive output size, but input ", inputType,
                 " with padding ", formatShape(padding), " gives ", size);
    shape[2 + i] = size;
  }
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type inputType = adaptor.getInput().getType();
  Type weightType = adaptor.getWeight().getType();
  auto input = tensorOf(inputType);
  if (!input || input.getRank() < 1)
    return err("expects input of rank 1 or more [..., in_features] but got ",
               inputType);
  if (failed(expectRank(err, weightType, "weight", {2},
                        "[out_features, in_features]")) ||
      failed(expectSameElementType(err, inputType, weightType, "weight")))
    return failure();
  auto weight = tensorOf(weightType);
  int64_t in = input.getShape().back(), out = weight.getDimSize(0);
  if (weight.getDimSize(1) != in)
    return err("expects weight [out_features, ", in,
               "] to match the input's last dimension, but got weight ",
               weightType, " for input ", inputType);
  if (Value bias = adaptor.getBias())
    if (failed(expectVector(err, bias.getType(), "bias", out,
                            input.getElementType())))
      return failure();
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = out;
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

/// The shape rule of matmul (rank 2) and batch_matmul (rank 3).
static LogicalResult inferMatmul(const ShapeError &err, Type lhsType,
                                 Type rhsType, bool tl, bool tr, int64_t rank,
                                 SmallVectorImpl<Type> &results) {
  StringRef layoutL = rank == 2 ? "[M, K]" : "[B, M, K]";
  StringRef layoutR = rank == 2 ? "[K, N]" : "[B, K, N]";
  if (failed(expectRank(err, lhsType, "lhs", {rank}, layoutL)) ||
      failed(expectRank(err, rhsType, "rhs", {rank}, layoutR)) ||
      failed(expectSameElementType(err, lhsType, rhsType, "rhs")))
    return failure();
  auto l = tensorOf(lhsType), r = tensorOf(rhsType);
  int64_t b = rank - 2;
  int64_t m = l.getDimSize(b + (tl ? 1 : 0)),
          kl = l.getDimSize(b + (tl ? 0 : 1));
  int64_t kr = r.getDimSize(b + (tr ? 1 : 0)),
          n = r.getDimSize(b + (tr ? 0 : 1));
  if (rank == 3 && l.getDimSize(0) != r.getDimSize(0))
    return err("expects equal batch sizes but got ", lhsType, " and ", rhsType);
  if (kl != kr)
    return err("expects the contracted dimensions to match, but lhs ", lhsType,
               tl ? " (transposed)" : "", " has K = ", kl, " and rhs ", rhsType,
               tr ? " (transposed)" : "", " has K = ", kr);
  SmallVector<int64_t> shape;
  if (rank == 3)
    shape.push_back(l.getDimSize(0));
  shape.append({m, n});
  results.push_back(tensor(shape, l.getElementType()));
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  return inferMatmul(ShapeError{loc, getOperationName()},
                     adaptor.getLhs().getType(), adaptor.getRhs().getType(),
                     adaptor.getTransposeLhs(), adaptor.getTransposeRhs(), 2,
                     results);
}

LogicalResult BatchMatmulOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  return inferMatmul(ShapeError{loc, getOperationName()},
                     adaptor.getLhs().getType(), adaptor.getRhs().getType(),
                     adaptor.getTransposeLhs(), adaptor.getTransposeRhs(), 3,
                     results);
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  if (failed(checkBatchNormOperands(
          err, adaptor.getInput().getType(), adaptor.getWeight().getType(),
          adaptor.getBias().getType(), adaptor.getRunningMean().getType(),
          adaptor.getRunningVar().getType(),
          adaptor.getEps().convertToDouble())))
    return failure();
  double momentum = adaptor.getMomentum().convertToDouble();
  if (!(momentum >= 0 && momentum <= 1))
    return err("expects 'momentum' in [0, 1] but got ", momentum);
  auto input = tensorOf(adaptor.getInput().getType());
  int64_t c = input.getDimSize(1);
  if (input.getNumElements() / c <= 1)
    return err("expects more than one value per channel in training, but "
               "input ",
               input, " has ", input.getNumElements() / c,
               " (as PyTorch, the batch variance needs two)");
  auto vec = tensor({c}, input.getElementType());
  results.append({input, vec, vec, vec, vec});
  return success();
}

/// layer_norm's operands: an input of rank >= 1 normalised over its last
/// dimension D, weight and bias [D]; returns the statistics' type (the
/// input's shape without the last dimension).
static FailureOr<RankedTensorType> checkLayerNorm(const ShapeError &err,
                                                  Type inputType, Type weight,
                                                  Type bias, double eps) {
  auto input = tensorOf(inputType);
  if (!input || input.getRank() < 1)
    return err("expects an input of rank 1 or more but got ", inputType);
  int64_t d = input.getShape().back();
  Type et = input.getElementType();
  if (failed(expectVector(err, weight, "weight", d, et)) ||
      failed(expectVector(err, bias, "bias", d, et)))
    return failure();
  if (!(eps > 0))
    return err("expects 'eps' > 0 but got ", eps);
  return tensor(input.getShape().drop_back(), et);
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type x = adaptor.getInput().getType();
  auto stats = checkLayerNorm(err, x, adaptor.getWeight().getType(),
                              adaptor.getBias().getType(),
                              adaptor.getEps().convertToDouble());
  if (failed(stats))
    return failure();
  results.append({x, *stats, *stats});
  return success();
}

LogicalResult LayerNormBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type x = adaptor.getInput().getType();
  Type w = adaptor.getWeight().getType();
  auto stats = checkLayerNorm(err, x, w, w, 1.0);
  if (failed(stats))
    return failure();
  if (adaptor.getGradOutput().getType() != x)
    return err("expects grad_output of the input's type ", x, " but got ",
               adaptor.getGradOutput().getType());
  if (adaptor.getMean().getType() != *stats ||
      adaptor.getRstd().getType() != *stats)
    return err("expects mean and rstd of type ", *stats, " but got ",
               adaptor.getMean().getType(), " and ",
               adaptor.getRstd().getType());
  results.append({x, w, w});
  return success();
}

LogicalResult BatchNormInferenceOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  if (failed(checkBatchNormOperands(
          err, adaptor.getInput().getType(), adaptor.getWeight().getType(),
          adaptor.getBias().getType(), adaptor.getRunningMean().getType(),
          adaptor.getRunningVar().getType(),
          adaptor.getEps().convertToDouble())))
    return failure();
  results.push_back(adaptor.getInput().getType());
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferPool(ShapeError{loc, getOperationName()},
                   adaptor.getInput().getType(), adaptor.getKernelSize(),
                   strideOrKernel(adaptor.getStride(), adaptor.getKernelSize()),
                   adaptor.getPadding(), results);
}

LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferPool(ShapeError{loc, getOperationName()},
                   adaptor.getInput().getType(), adaptor.getKernelSize(),
                   strideOrKernel(adaptor.getStride(), adaptor.getKernelSize()),
                   adaptor.getPadding(), results);
}

LogicalResult AdaptiveAvgPool2dOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type inputType = adaptor.getInput().getType();
  auto size = adaptor.getOutputSize();
  if (failed(expectRank(err, inputType, "input", {4}, "[N, C, H, W]")) ||
      failed(expectPair(err, size, "output_size", 1)))
    return failure();
  auto input = tensorOf(inputType);
  results.push_back(
      tensor({input.getDimSize(0), input.getDimSize(1), size[0], size[1]},
             input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

LogicalResult FlattenOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input)
    return err("expects a statically shaped input but got ",
               adaptor.getInput().getType());
  int64_t rank = input.getRank();
  if (rank == 0) {
    results.push_back(tensor({1}, input.getElementType()));
    return success();
  }
  auto start = normaliseDim(err, adaptor.getStartDim(), rank, "start_dim");
  if (failed(start))
    return failure();
  auto end = normaliseDim(err, adaptor.getEndDim(), rank, "end_dim");
  if (failed(end))
    return failure();
  if (*start > *end)
    return err("expects start_dim <= end_dim but got ", *start, " > ", *end,
               " for input ", input);
  SmallVector<int64_t> shape(input.getShape().take_front(*start));
  int64_t merged = 1;
  for (int64_t i = *start; i <= *end; ++i)
    merged *= input.getDimSize(i);
  shape.push_back(merged);
  llvm::append_range(shape, input.getShape().drop_front(*end + 1));
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input)
    return err("expects a statically shaped input but got ",
               adaptor.getInput().getType());
  SmallVector<int64_t> shape(adaptor.getShape());
  int64_t known = 1, inferred = -1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == -1) {
      if (inferred >= 0)
        return err("expects at most one -1 in 'shape' but got ",
                   formatShape(shape));
      inferred = i;
    } else if (d < 1) {
      return err("expects 'shape' entries >= 1 or -1 but got ",
                 formatShape(shape));
    } else {
      known *= d;
    }
  }
  int64_t n = input.getNumElements();
  if (inferred >= 0) {
    if (n % known != 0)
      return err("cannot infer the -1 in 'shape' ", formatShape(shape), ": ", n,
                 " elements of ", input, " are not a multiple of ", known);
    shape[inferred] = n / known;
  } else if (known != n) {
    return err("expects 'shape' ", formatShape(shape), " to have ", n,
               " elements like the input ", input, " but it has ", known);
  }
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input)
    return err("expects a statically shaped input but got ",
               adaptor.getInput().getType());
  auto perm = adaptor.getPermutation();
  int64_t rank = input.getRank();
  SmallVector<bool> seen(rank, false);
  bool ok = int64_t(perm.size()) == rank;
  for (int64_t p : perm) {
    if (!ok || p < 0 || p >= rank || seen[p]) {
      ok = false;
      break;
    }
    seen[p] = true;
  }
  if (!ok)
    return err("expects 'permutation' to be a permutation of 0..", rank - 1,
               " but got ", formatShape(perm), " for input ", input);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(input.getDimSize(p));
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto inputs = adaptor.getInputs();
  if (inputs.empty())
    return err("expects at least one input");
  auto first = tensorOf(inputs.front().getType());
  if (!first || first.getRank() == 0)
    return err("expects inputs of rank 1 or more but got ",
               inputs.front().getType());
  auto dim = normaliseDim(err, adaptor.getDim(), first.getRank(), "dim");
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  shape[*dim] = 0;
  for (auto [i, v] : llvm::enumerate(inputs)) {
    auto t = tensorOf(v.getType());
    if (!t || t.getRank() != first.getRank() ||
        t.getElementType() != first.getElementType())
      return err("expects every input to be a tensor of rank ", first.getRank(),
                 " and element type ", first.getElementType(), " but input ", i,
                 " is ", v.getType());
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *dim && t.getDimSize(d) != first.getDimSize(d))
        return err("expects inputs to agree on every dimension but ", *dim,
                   ", but input 0 is ", first, " and input ", i, " is ", t);
    shape[*dim] += t.getDimSize(*dim);
  }
  results.push_back(tensor(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input || input.getRank() == 0)
    return err("expects an input of rank 1 or more but got ",
               adaptor.getInput().getType());
  auto dim = normaliseDim(err, adaptor.getDim(), input.getRank(), "dim");
  if (failed(dim))
    return failure();
  int64_t step = adaptor.getStep();
  if (step < 1)
    return err("expects 'step' >= 1 but got ", step);
  int64_t size = input.getDimSize(*dim);
  auto clampIndex = [&](int64_t v) {
    if (v < 0)
      v += size;
    return std::clamp<int64_t>(v, 0, size);
  };
  int64_t start = clampIndex(adaptor.getStart()),
          end = clampIndex(adaptor.getEnd());
  if (end <= start)
    return err("expects a non-empty slice, but [", adaptor.getStart(), ":",
               adaptor.getEnd(), "] of dimension ", *dim, " (size ", size,
               ") selects nothing");
  SmallVector<int64_t> shape(input.getShape());
  shape[*dim] = (end - start + step - 1) / step;
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult BroadcastToOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input)
    return err("expects a statically shaped input but got ",
               adaptor.getInput().getType());
  auto shape = adaptor.getShape();
  auto in = input.getShape();
  bool ok = shape.size() >= in.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    if (shape[i] < 1)
      ok = false;
    else if (i >= shape.size() - in.size()) {
      int64_t d = in[i - (shape.size() - in.size())];
      ok = d == shape[i] || d == 1;
    }
  }
  if (!ok)
    return err("cannot broadcast ", input, " to ", formatShape(shape),
               " (a dimension must match or be 1, aligned from the last)");
  results.push_back(tensor(shape, input.getElementType()));
  return success();
}

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           ValueRange, DictionaryAttr attrs,
                                           OpaqueProperties properties,
                                           RegionRange,
                                           SmallVectorImpl<Type> &results) {
  ConstantOp::Adaptor adaptor(ValueRange(), attrs, properties);
  auto value = dyn_cast_or_null<ElementsAttr>(adaptor.getValueAttr());
  if (!value)
    return emitOptionalError(loc, "'d2l.constant' op expects a 'value'");
  results.push_back(value.getType());
  return success();
}

LogicalResult ConstantOp::verify() {
  auto type = tensorOf(getValue().getType());
  if (!type)
    return emitOpError() << "expects a statically shaped tensor value but got "
                         << getValue().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions, softmax and losses
//===----------------------------------------------------------------------===//

static LogicalResult inferSoftmax(const ShapeError &err, Type inputType,
                                  int64_t dim, SmallVectorImpl<Type> &results) {
  auto input = tensorOf(inputType);
  if (!input || input.getRank() == 0)
    return err("expects an input of rank 1 or more but got ", inputType);
  if (failed(normaliseDim(err, dim, input.getRank(), "dim")))
    return failure();
  results.push_back(input);
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferSoftmax(ShapeError{loc, getOperationName()},
                      adaptor.getInput().getType(), adaptor.getDim(), results);
}

LogicalResult LogSoftmaxOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &results) {
  return inferSoftmax(ShapeError{loc, getOperationName()},
                      adaptor.getInput().getType(), adaptor.getDim(), results);
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type logitsType = adaptor.getLogits().getType();
  Type labelsType = adaptor.getLabels().getType();
  auto logits = tensorOf(logitsType);
  auto labels = tensorOf(labelsType);
  if (!logits || logits.getRank() < 2)
    return err("expects logits of rank 2 or more [N, C, ...] but got ",
               logitsType);
  SmallVector<int64_t> expected{logits.getDimSize(0)};
  llvm::append_range(expected, logits.getShape().drop_front(2));
  if (!labels || labels.getShape() != ArrayRef<int64_t>(expected) ||
      !labels.getElementType().isSignlessInteger())
    return err("expects integer labels of shape ", formatShape(expected),
               " (the logits without the class dimension) but got ",
               labelsType);
  results.push_back(tensor({}, logits.getElementType()));
  return success();
}

/// Scores [B, Q, K] and valid lengths [B] or [B, Q].
static LogicalResult checkMaskedScores(const ShapeError &err, Type scoresType,
                                       Type lensType) {
  auto scores = tensorOf(scoresType);
  auto lens = tensorOf(lensType);
  if (!scores || scores.getRank() != 3)
    return err("expects scores of shape [B, Q, K] but got ", scoresType);
  if (!lens || !lens.getElementType().isSignlessInteger() ||
      !(lens.getShape() == scores.getShape().take_front(1) ||
        lens.getShape() == scores.getShape().take_front(2)))
    return err("expects integer valid_lens of shape ",
               formatShape(scores.getShape().take_front(1)), " or ",
               formatShape(scores.getShape().take_front(2)), " but got ",
               lensType);
  return success();
}

LogicalResult
MaskedSoftmaxOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type x = adaptor.getInput().getType();
  if (failed(checkMaskedScores(err, x, adaptor.getValidLens().getType())))
    return failure();
  results.push_back(x);
  return success();
}

LogicalResult MaskedSoftmaxBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type y = adaptor.getOutput().getType();
  if (failed(checkMaskedScores(err, y, adaptor.getValidLens().getType())))
    return failure();
  if (adaptor.getGradOutput().getType() != y)
    return err("expects grad_output of the output's type ", y, " but got ",
               adaptor.getGradOutput().getType());
  results.push_back(y);
  return success();
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type indicesType = adaptor.getIndices().getType();
  Type weightType = adaptor.getWeight().getType();
  auto indices = tensorOf(indicesType);
  auto weight = tensorOf(weightType);
  if (!indices || !indices.getElementType().isSignlessInteger())
    return err("expects integer indices but got ", indicesType);
  if (!weight || weight.getRank() != 2)
    return err("expects a weight table [num_embeddings, dim] but got ",
               weightType);
  SmallVector<int64_t> shape(indices.getShape());
  shape.push_back(weight.getDimSize(1));
  results.push_back(tensor(shape, weight.getElementType()));
  return success();
}

LogicalResult MseLossOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type a = adaptor.getInput().getType(), b = adaptor.getTarget().getType();
  if (!tensorOf(a) || a != b)
    return err("expects input and target of the same type but got ", a, " and ",
               b);
  results.push_back(tensor({}, getElementTypeOrSelf(a)));
  return success();
}

//===----------------------------------------------------------------------===//
// Non-differentiable ops
//===----------------------------------------------------------------------===//

LogicalResult ArgmaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = tensorOf(adaptor.getInput().getType());
  if (!input || input.getRank() == 0)
    return err("expects an input of rank 1 or more but got ",
               adaptor.getInput().getType());
  auto dim = normaliseDim(err, adaptor.getDim(), input.getRank(), "dim");
  if (failed(dim))
    return failure();
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < input.getRank(); ++i)
    if (i != *dim)
      shape.push_back(input.getDimSize(i));
    else if (adaptor.getKeepdim())
      shape.push_back(1);
  results.push_back(tensor(shape, IntegerType::get(context, 64)));
  return success();
}

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

/// Checks that `type` is a static float tensor of exactly `shape`.
static LogicalResult expectShape(const ShapeError &err, Type type,
                                 StringRef what, ArrayRef<int64_t> shape,
                                 Type elementType) {
  auto t = tensorOf(type);
  if (!t || t.getShape() != shape)
    return err("expects ", what, " of shape ", formatShape(shape), " but got ",
               type);
  return expectSameElementType(err, elementType, type, what);
}

LogicalResult
SoftmaxBackwardOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type g = adaptor.getGradOutput().getType();
  if (g != adaptor.getOutput().getType())
    return err("expects grad_output and output of the same type but got ", g,
               " and ", adaptor.getOutput().getType());
  return inferSoftmax(err, g, adaptor.getDim(), results);
}

LogicalResult LogSoftmaxBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type g = adaptor.getGradOutput().getType();
  if (g != adaptor.getOutput().getType())
    return err("expects grad_output and output of the same type but got ", g,
               " and ", adaptor.getOutput().getType());
  return inferSoftmax(err, g, adaptor.getDim(), results);
}

LogicalResult CrossEntropyBackwardOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  SmallVector<Type, 1> loss;
  // The logits and labels follow cross_entropy's rule.
  CrossEntropyOp::Adaptor forward(
      ValueRange{adaptor.getLogits(), adaptor.getLabels()});
  if (failed(CrossEntropyOp::inferReturnTypes(context, loc, forward, loss)))
    return failure();
  if (adaptor.getGradLoss().getType() != loss.front())
    return err("expects grad_loss of type ", loss.front(), " but got ",
               adaptor.getGradLoss().getType());
  results.push_back(adaptor.getLogits().getType());
  return success();
}

LogicalResult Conv2dBackwardInputOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto inputShape = adaptor.getInputShape();
  Type g = adaptor.getGradOutput().getType();
  if (inputShape.size() != 4 ||
      llvm::any_of(inputShape, [](int64_t d) { return d < 1; }))
    return err("expects 'input_shape' of 4 positive sizes [N, C_in, H, W] "
               "but got ",
               formatShape(inputShape));
  if (failed(expectRank(err, g, "grad_output", {4}, "[N, C_out, H, W]")))
    return failure();
  Type et = tensorOf(g).getElementType();
  auto input = tensor(inputShape, et);
  Type weightType = adaptor.getWeight().getType();
  if (failed(expectRank(err, weightType, "weight", {4},
                        "[C_out, C_in / groups, kH, kW]")) ||
      failed(expectSameElementType(err, g, weightType, "weight")) ||
      failed(expectPair(err, adaptor.getStride(), "stride", 1)) ||
      failed(expectPair(err, adaptor.getPadding(), "padding", 0)) ||
      failed(expectPair(err, adaptor.getDilation(), "dilation", 1)))
    return failure();
  auto weight = tensorOf(weightType);
  int64_t groups = adaptor.getGroups();
  if (groups < 1 || inputShape[1] % groups != 0 ||
      weight.getDimSize(1) * groups != inputShape[1])
    return err("expects weight ", weightType, " to match input_shape ",
               formatShape(inputShape), " with groups ", groups);
  // The forward convolution of an input of `input_shape` must produce
  // grad_output's shape.
  SmallVector<int64_t, 4> expected{inputShape[0], weight.getDimSize(0), 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t span = inputShape[2 + i] + 2 * adaptor.getPadding()[i] -
                   adaptor.getDilation()[i] * (weight.getDimSize(2 + i) - 1) -
                   1;
    expected[2 + i] = span < 0 ? 0 : span / adaptor.getStride()[i] + 1;
  }
  if (failed(expectShape(err, g, "grad_output", expected, et)))
    return failure();
  results.push_back(input);
  return success();
}

LogicalResult Conv2dBackwardFilterOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type inputType = adaptor.getInput().getType();
  Type g = adaptor.getGradOutput().getType();
  auto kernel = adaptor.getKernelSize();
  if (failed(expectRank(err, inputType, "input", {4}, "[N, C_in, H, W]")) ||
      failed(expectRank(err, g, "grad_output", {4}, "[N, C_out, H, W]")) ||
      failed(expectSameElementType(err, inputType, g, "grad_output")) ||
      failed(expectPair(err, kernel, "kernel_size", 1)) ||
      failed(expectPair(err, adaptor.getStride(), "stride", 1)) ||
      failed(expectPair(err, adaptor.getPadding(), "padding", 0)) ||
      failed(expectPair(err, adaptor.getDilation(), "dilation", 1)))
    return failure();
  auto input = tensorOf(inputType), grad = tensorOf(g);
  int64_t groups = adaptor.getGroups();
  int64_t cin = input.getDimSize(1), cout = grad.getDimSize(1);
  if (groups < 1 || cin % groups != 0 || cout % groups != 0)
    return err("expects in_channels (", cin, ") and out_channels (", cout,
               ") divisible by groups (", groups, ")");
  SmallVector<int64_t, 4> expected{input.getDimSize(0), cout, 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t span = input.getDimSize(2 + i) + 2 * adaptor.getPadding()[i] -
                   adaptor.getDilation()[i] * (kernel[i] - 1) - 1;
    if (span < 0)
      return err("expects the kernel ", formatShape(kernel),
                 " to fit in the padded input ", inputType);
    expected[2 + i] = span / adaptor.getStride()[i] + 1;
  }
  if (failed(
          expectShape(err, g, "grad_output", expected, input.getElementType())))
    return failure();
  results.push_back(tensor({cout, cin / groups, kernel[0], kernel[1]},
                           input.getElementType()));
  return success();
}

/// The shape rule of the pooling gradient ops: `pooled` must be what pooling
/// `input` (of `inputType`) gives.
static LogicalResult checkPooled(const ShapeError &err, Type inputType,
                                 Type pooled, StringRef what,
                                 ArrayRef<int64_t> kernel,
                                 ArrayRef<int64_t> stride,
                                 ArrayRef<int64_t> padding) {
  SmallVector<Type, 1> expected;
  if (failed(inferPool(err, inputType, kernel, stride, padding, expected)))
    return failure();
  if (pooled != expected.front())
    return err("expects ", what, " of type ", expected.front(),
               " (the pooled input) but got ", pooled);
  return success();
}

LogicalResult MaxPool2dBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  if (failed(checkPooled(
          err, adaptor.getInput().getType(), adaptor.getGradOutput().getType(),
          "grad_output", adaptor.getKernelSize(),
          strideOrKernel(adaptor.getStride(), adaptor.getKernelSize()),
          adaptor.getPadding())))
    return failure();
  results.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult
MaxPool2dSelectOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type input = adaptor.getInput().getType();
  if (adaptor.getValues().getType() != input)
    return err("expects values of the input's type ", input, " but got ",
               adaptor.getValues().getType());
  return inferPool(err, input, adaptor.getKernelSize(),
                   strideOrKernel(adaptor.getStride(), adaptor.getKernelSize()),
                   adaptor.getPadding(), results);
}

/// Checks an `input_shape` attribute of rank 4 with positive sizes.
static FailureOr<RankedTensorType>
inputShapeType(const ShapeError &err, ArrayRef<int64_t> shape, Type grad) {
  if (shape.size() != 4 || llvm::any_of(shape, [](int64_t d) { return d < 1; }))
    return err("expects 'input_shape' of 4 positive sizes [N, C, H, W] but "
               "got ",
               formatShape(shape));
  return tensor(shape, getElementTypeOrSelf(grad));
}

LogicalResult AvgPool2dBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto input = inputShapeType(err, adaptor.getInputShape(),
                              adaptor.getGradOutput().getType());
  if (failed(input) ||
      failed(checkPooled(
          err, *input, adaptor.getGradOutput().getType(), "grad_output",
          adaptor.getKernelSize(),
          strideOrKernel(adaptor.getStride(), adaptor.getKernelSize()),
          adaptor.getPadding())))
    return failure();
  results.push_back(*input);
  return success();
}

LogicalResult AdaptiveAvgPool2dBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type g = adaptor.getGradOutput().getType();
  auto input = inputShapeType(err, adaptor.getInputShape(), g);
  if (failed(input) ||
      failed(expectRank(err, g, "grad_output", {4}, "[N, C, oh, ow]")))
    return failure();
  auto grad = tensorOf(g);
  if (grad.getDimSize(0) != input->getDimSize(0) ||
      grad.getDimSize(1) != input->getDimSize(1))
    return err("expects grad_output ", g, " to agree with input_shape ",
               formatShape(input->getShape()), " on N and C");
  results.push_back(*input);
  return success();
}

LogicalResult BatchNormBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type x = adaptor.getInput().getType();
  if (failed(checkBatchNormOperands(err, x, adaptor.getWeight().getType(),
                                    adaptor.getBatchMean().getType(),
                                    adaptor.getBatchMean().getType(),
                                    adaptor.getBatchInvstd().getType(), 1.0)))
    return failure();
  if (adaptor.getGradOutput().getType() != x)
    return err("expects grad_output of the input's type ", x, " but got ",
               adaptor.getGradOutput().getType());
  Type vec = adaptor.getWeight().getType();
  results.append({x, vec, vec});
  return success();
}

LogicalResult EmbeddingBackwardOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  Type g = adaptor.getGradOutput().getType();
  Type indicesType = adaptor.getIndices().getType();
  auto indices = tensorOf(indicesType);
  auto grad = tensorOf(g);
  int64_t v = adaptor.getNumEmbeddings();
  if (v < 1)
    return err("expects num_embeddings >= 1 but got ", v);
  if (!indices || !indices.getElementType().isSignlessInteger())
    return err("expects integer indices but got ", indicesType);
  if (!grad || grad.getRank() != indices.getRank() + 1 ||
      grad.getShape().drop_back() != indices.getShape())
    return err("expects grad_output of the indices' shape ",
               formatShape(indices.getShape()),
               " and one more dimension but got ", g);
  results.push_back(tensor({v, grad.getShape().back()}, grad.getElementType()));
  return success();
}

LogicalResult
SliceBackwardOp::inferReturnTypes(MLIRContext *context,
                                  std::optional<Location> loc, Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  ShapeError err{loc, getOperationName()};
  auto shape = adaptor.getInputShape();
  Type g = adaptor.getGradOutput().getType();
  if (shape.empty() || llvm::any_of(shape, [](int64_t d) { return d < 1; }))
    return err("expects 'input_shape' of positive sizes but got ",
               formatShape(shape));
  auto input = tensor(shape, getElementTypeOrSelf(g));
  // Slicing the input with the same parameters must give grad_output.
  auto dim = normaliseDim(err, adaptor.getDim(), input.getRank(), "dim");
  if (failed(dim))
    return failure();
  int64_t start = adaptor.getStart(), step = adaptor.getStep();
  if (step < 1 || start < 0 || start >= shape[*dim])
    return err("expects 0 <= start < ", shape[*dim],
               " and step >= 1 but got "
               "start ",
               start, " and step ", step);
  SmallVector<int64_t> expected(shape);
  auto grad = tensorOf(g);
  int64_t count =
      grad && grad.getRank() == input.getRank() ? grad.getDimSize(*dim) : 0;
  expected[*dim] = count;
  if (count < 1 || start + (count - 1) * step >= shape[*dim] ||
      failed(
          expectShape(err, g, "grad_output", expected, input.getElementType())))
    return err("expects grad_output to be a slice of ", formatShape(shape),
               " along dimension ", *dim, " from ", start, " by ", step,
               " but got ", g);
  results.push_back(input);
  return success();
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

bool mlir::d2l::isFusibleElementwise(Operation *op) {
  return op->hasTrait<trait::D2LElementwise>() || isa<BroadcastToOp>(op);
}

bool mlir::d2l::isEpilogueRoot(Operation *op) {
  return isa<Conv2dOp, ConvTranspose2dOp, Conv2dBackwardInputOp,
             Conv2dBackwardFilterOp, LinearOp, MatmulOp, BatchMatmulOp>(op);
}

int64_t ScanOp::getLength() {
  auto t = dyn_cast<RankedTensorType>(getSequences().front().getType());
  return t && t.getRank() > 0 ? t.getDimSize(0) : 0;
}

LogicalResult ScanOp::verify() {
  if (getSequences().empty())
    return emitOpError() << "needs at least one sequence (its leading "
                            "dimension is the number of steps)";
  int64_t steps = -1;
  SmallVector<Type> args(getInit().getTypes());
  for (auto [i, s] : llvm::enumerate(getSequences())) {
    auto t = cast<RankedTensorType>(s.getType());
    if (t.getRank() < 1 || t.getDimSize(0) < 1)
      return emitOpError() << "sequence " << i
                           << " needs a leading dimension of 1 or more steps "
                              "but has type "
                           << t;
    if (steps >= 0 && t.getDimSize(0) != steps)
      return emitOpError() << "sequence " << i << " has " << t.getDimSize(0)
                           << " steps but sequence 0 has " << steps;
    steps = t.getDimSize(0);
    args.push_back(
        RankedTensorType::get(t.getShape().drop_front(), t.getElementType()));
  }
  Block &block = getBlock();
  if (TypeRange(block.getArgumentTypes()) != TypeRange(args))
    return emitOpError() << "body must take the carried values and one step "
                            "of each sequence, "
                         << TypeRange(args) << ", but takes "
                         << TypeRange(block.getArgumentTypes());
  auto yield = cast<YieldOp>(block.getTerminator());
  size_t carried = getInit().size();
  TypeRange yielded = yield.getValues().getTypes();
  if (yielded.size() < carried ||
      yielded.take_front(carried) != getInit().getTypes())
    return emitOpError() << "body must yield the carried values "
                         << getInit().getTypes() << " first but yields "
                         << yielded;
  if (getNumResults() != yielded.size())
    return emitOpError() << "has " << getNumResults()
                         << " results but its body yields " << yielded.size();
  for (size_t i = 0; i < yielded.size(); ++i) {
    Type expected = yielded[i];
    if (i >= carried) {
      auto t = cast<RankedTensorType>(yielded[i]);
      SmallVector<int64_t> shape = {steps};
      llvm::append_range(shape, t.getShape());
      expected = RankedTensorType::get(shape, t.getElementType());
    }
    if (getResult(i).getType() != expected)
      return emitOpError() << "result " << i << " must be " << expected
                           << " but is " << getResult(i).getType();
  }
  return success();
}

llvm::SmallSetVector<unsigned, 8> mlir::d2l::multiInputsOf(FusedOp op,
                                                           unsigned r) {
  llvm::SmallSetVector<unsigned, 8> inputs;
  llvm::SmallPtrSet<Operation *, 16> seen;
  auto yield = cast<YieldOp>(op.getBlock().getTerminator());
  SmallVector<Value> work{yield.getValues()[r]};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      inputs.insert(arg.getArgNumber());
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (def && seen.insert(def).second)
      llvm::append_range(work, def->getOperands());
  }
  return inputs;
}

SmallVector<SmallVector<unsigned>> mlir::d2l::multiSections(FusedOp op) {
  unsigned n = op.getNumResults();
  // Union-find over the results, joined by shared inputs of more than one
  // element (a learning rate or a step count is read by every chain).
  SmallVector<unsigned> parent(n);
  for (unsigned r = 0; r < n; ++r)
    parent[r] = r;
  auto find = [&](unsigned r) {
    while (parent[r] != r)
      r = parent[r] = parent[parent[r]];
    return r;
  };
  llvm::DenseMap<unsigned, unsigned> reader;
  for (unsigned r = 0; r < n; ++r)
    for (unsigned a : multiInputsOf(op, r)) {
      auto t = cast<RankedTensorType>(op.getBlock().getArgument(a).getType());
      if (t.getNumElements() <= 1)
        continue;
      auto [it, fresh] = reader.try_emplace(a, r);
      if (!fresh)
        parent[find(r)] = find(it->second);
    }
  SmallVector<SmallVector<unsigned>> sections;
  llvm::DenseMap<unsigned, unsigned> sectionOf;
  for (unsigned r = 0; r < n; ++r) {
    auto [it, fresh] = sectionOf.try_emplace(find(r), sections.size());
    if (fresh)
      sections.emplace_back();
    sections[it->second].push_back(r);
  }
  SmallVector<SmallVector<unsigned>> result;
  for (auto &s : sections) {
    bool uniform = llvm::all_of(s, [&](unsigned r) {
      return op.getResult(r).getType() == op.getResult(s.front()).getType();
    });
    if (uniform) {
      result.push_back(s);
      continue;
    }
    for (unsigned r : s)
      result.push_back({r});
  }
  llvm::sort(result, [](auto &a, auto &b) { return a.front() < b.front(); });
  return result;
}

LogicalResult FusedOp::verify() {
  Block &block = getBlock();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError() << "has " << getInputs().size()
                         << " inputs but its body takes "
                         << block.getNumArguments() << " arguments";
  for (auto [i, arg, in] : llvm::enumerate(block.getArguments(), getInputs()))
    if (arg.getType() != in.getType())
      return emitOpError() << "input " << i << " has type " << in.getType()
                           << " but the body's argument " << i << " has "
                           << arg.getType();
  auto yield = cast<YieldOp>(block.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yields " << yield.getValues().getTypes()
                         << " but returns " << getResultTypes();
  StringRef kind = getKind();
  if (kind != "elementwise" && kind != "epilogue" && kind != "multi")
    return emitOpError() << "has unknown kind '" << kind
                         << "' (expected elementwise, epilogue or multi)";
  Type space;
  for (Operation &op : block.without_terminator()) {
    bool first = &op == &block.front();
    if (kind == "epilogue" && first) {
      if (!isEpilogueRoot(&op))
        return op.emitOpError()
               << "cannot start an epilogue group: expected conv2d, "
                  "conv_transpose2d, conv2d_backward_input, "
                  "conv2d_backward_filter, linear, matmul or batch_matmul";
    } else if (!isFusibleElementwise(&op)) {
      return op.emitOpError()
             << "is not elementwise and cannot be in a '" << kind << "' group";
    }
    if (kind == "multi")
      continue;
    if (!space)
      space = op.getResult(0).getType();
    if (op.getResult(0).getType() != space)
      return op.emitOpError() << "has type " << op.getResult(0).getType()
                              << " but the group iterates over " << space;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Folders
//===----------------------------------------------------------------------===//

/// True when `attr` is a splat constant equal to `value`.
static bool isSplatOf(Attribute attr, double value) {
  auto elements = dyn_cast_or_null<DenseFPElementsAttr>(attr);
  return elements && elements.isSplat() &&
         elements.getSplatValue<APFloat>().convertToDouble() == value;
}

/// x op c -> x when c is the identity splat and the result type is x's.
static OpFoldResult foldIdentityRhs(Value lhs, Attribute rhs, Type result,
                                    double identity) {
  if (isSplatOf(rhs, identity) && lhs.getType() == result)
    return lhs;
  return {};
}

OpFoldResult NegOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (auto r = foldIdentityRhs(getLhs(), adaptor.getRhs(), getType(), 0.0))
    return r;
  return foldIdentityRhs(getRhs(), adaptor.getLhs(), getType(), 0.0);
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldIdentityRhs(getLhs(), adaptor.getRhs(), getType(), 0.0);
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (auto r = foldIdentityRhs(getLhs(), adaptor.getRhs(), getType(), 1.0))
    return r;
  return foldIdentityRhs(getRhs(), adaptor.getLhs(), getType(), 1.0);
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldIdentityRhs(getLhs(), adaptor.getRhs(), getType(), 1.0);
}

OpFoldResult FlattenOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) and reshape(flatten(x)) read x directly.
  Operation *def = getInput().getDefiningOp();
  if (isa_and_nonnull<ReshapeOp, FlattenOp>(def)) {
    getInputMutable().assign(def->getOperand(0));
    return getResult();
  }
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  auto perm = getPermutation();
  if (llvm::all_of(llvm::enumerate(perm),
                   [](auto p) { return int64_t(p.index()) == p.value(); }))
    return getInput();
  // transpose(transpose(x, p), q) == transpose(x, p∘q).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    auto innerPerm = inner.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(innerPerm[p]);
    setPermutation(composed);
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  return {};
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult BroadcastToOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // A splat stays a splat.
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  return {};
}

OpFoldResult SumOp::fold(FoldAdaptor) {
  // Summing dimensions of size 1 while keeping them changes nothing.
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

#define GET_OP_CLASSES
#include "d2l/Dialect/D2L/IR/D2LOps.cpp.inc"
