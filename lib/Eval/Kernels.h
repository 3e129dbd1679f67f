//===- Kernels.h - the reference evaluator's kernels ------------*- C++ -*-===//
//
// Plain, obviously correct C++ loops with PyTorch semantics. Every sum
// accumulates in double, so the f32 evaluator rounds once per stored value;
// the f64 evaluator is accurate enough for finite differences. Shapes are
// trusted: the ops' verifiers have checked them.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_LIB_EVAL_KERNELS_H
#define D2L_LIB_EVAL_KERNELS_H

#include "d2l/Eval/Tensor.h"

#include <array>
#include <string>

namespace mlir::d2l::eval {

using Pair = std::array<int64_t, 2>;

struct ConvParams {
  Pair stride{1, 1}, padding{0, 0}, dilation{1, 1}, outputPadding{0, 0};
  int64_t groups = 1;
};

// Convolution and linear algebra.
template <typename T>
Tensor<T> conv2d(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> *b,
                 const ConvParams &p, const Shape &outShape);
template <typename T>
Tensor<T> convTranspose2d(const Tensor<T> &x, const Tensor<T> &w,
                          const Tensor<T> *b, const ConvParams &p,
                          const Shape &outShape);
template <typename T>
Tensor<T> linear(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> *b);
template <typename T>
Tensor<T> matmul(const Tensor<T> &a, const Tensor<T> &b, bool ta, bool tb,
                 const Shape &outShape);

// Normalisation: results y, mean, invstd, new running mean, new running var.
template <typename T>
std::array<Tensor<T>, 5>
batchNormTrain(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> &b,
               const Tensor<T> &runningMean, const Tensor<T> &runningVar,
               double eps, double momentum);
/// (x - mean) invstd w + b with the given (batch) statistics.
template <typename T>
Tensor<T> batchNormApply(const Tensor<T> &x, const Tensor<T> &w,
                         const Tensor<T> &b, const Tensor<T> &mean,
                         const Tensor<T> &invstd);
template <typename T>
Tensor<T> batchNormInference(const Tensor<T> &x, const Tensor<T> &w,
                             const Tensor<T> &b, const Tensor<T> &runningMean,
                             const Tensor<T> &runningVar, double eps);

// Pooling.
template <typename T>
Tensor<T> maxPool2d(const Tensor<T> &x, Pair kernel, Pair stride, Pair padding,
                    const Shape &outShape);
template <typename T>
Tensor<T> avgPool2d(const Tensor<T> &x, Pair kernel, Pair stride, Pair padding,
                    bool countIncludePad, const Shape &outShape);
template <typename T>
Tensor<T> adaptiveAvgPool2d(const Tensor<T> &x, Pair outputSize);

// Elementwise.
enum class UnaryKind { Relu, Sigmoid, Tanh, Exp, Log, Sqrt, Neg, Abs, Sign };
enum class BinaryKind { Add, Sub, Mul, Div };
template <typename T> Tensor<T> unary(UnaryKind kind, const Tensor<T> &x);
template <typename T>
Tensor<T> binary(BinaryKind kind, const Tensor<T> &a, const Tensor<T> &b,
                 const Shape &outShape);
template <typename T>
Tensor<T> dropout(const Tensor<T> &x, uint64_t seed, double p, uint64_t salt);

// Data movement.
template <typename T>
Tensor<T> transpose(const Tensor<T> &x, const std::vector<int64_t> &perm);
template <typename T>
Tensor<T> concat(const std::vector<const Tensor<T> *> &xs, int64_t dim,
                 const Shape &outShape);
template <typename T>
Tensor<T> slice(const Tensor<T> &x, int64_t dim, int64_t start, int64_t step,
                const Shape &outShape);
template <typename T>
Tensor<T> broadcastTo(const Tensor<T> &x, const Shape &outShape);

// Reductions, softmax, losses.
template <typename T>
Tensor<T> reduce(const Tensor<T> &x, const std::vector<bool> &reduced,
                 bool mean, const Shape &outShape);
template <typename T>
Tensor<T> softmax(const Tensor<T> &x, int64_t dim, bool log);
/// Fails (returns a message) on a label outside [0, C).
template <typename T>
std::string crossEntropy(const Tensor<T> &logits, const Tensor<T> &labels,
                         Tensor<T> &out);
template <typename T> Tensor<T> mseLoss(const Tensor<T> &a, const Tensor<T> &b);

// Gradient ops.
enum class ActivationKind { Relu, Sigmoid, Tanh };
template <typename T>
Tensor<T> activationBackward(ActivationKind kind, const Tensor<T> &dy,
                             const Tensor<T> &y);
template <typename T>
Tensor<T> softmaxBackward(const Tensor<T> &dy, const Tensor<T> &y, int64_t dim,
                          bool log);
template <typename T>
std::string crossEntropyBackward(const Tensor<T> &gradLoss,
                                 const Tensor<T> &logits,
                                 const Tensor<T> &labels, Tensor<T> &out);
template <typename T>
Tensor<T> conv2dBackwardFilter(const Tensor<T> &x, const Tensor<T> &dy,
                               const ConvParams &p, const Shape &weightShape);
template <typename T>
Tensor<T> maxPool2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                            Pair kernel, Pair stride, Pair padding);
template <typename T>
Tensor<T> maxPool2dSelect(const Tensor<T> &x, const Tensor<T> &values,
                          Pair kernel, Pair stride, Pair padding,
                          const Shape &outShape);
template <typename T>
Tensor<T> avgPool2dBackward(const Tensor<T> &dy, const Shape &inputShape,
                            Pair kernel, Pair stride, Pair padding,
                            bool countIncludePad);
template <typename T>
Tensor<T> adaptiveAvgPool2dBackward(const Tensor<T> &dy,
                                    const Shape &inputShape);
template <typename T>
std::array<Tensor<T>, 3>
batchNormBackward(const Tensor<T> &dy, const Tensor<T> &x, const Tensor<T> &w,
                  const Tensor<T> &mean, const Tensor<T> &invstd);
template <typename T>
Tensor<T> sliceBackward(const Tensor<T> &dy, const Shape &inputShape,
                        int64_t dim, int64_t start, int64_t step);
template <typename T> Tensor<T> argmax(const Tensor<T> &x, int64_t dim);

/// Row-major strides of a shape.
inline Shape stridesOf(const Shape &shape) {
  Shape s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// Strides of `in` read as if broadcast to `out` (0 on stretched dims).
inline Shape broadcastStrides(const Shape &in, const Shape &out) {
  Shape s(out.size(), 0);
  Shape inStrides = stridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    s[off + i] = in[i] == 1 ? 0 : inStrides[i];
  return s;
}

} // namespace mlir::d2l::eval

#endif // D2L_LIB_EVAL_KERNELS_H
