//===- Elementwise.cpp - elementwise ops and data movement ----------------===//

#include "Kernels.h"

#include "d2lrt/Philox.h"

#include <algorithm>
#include <cmath>

namespace mlir::d2l::eval {

namespace {
/// Calls f(outIndex, inIndex) over `out`'s elements, with `inStrides` the
/// (possibly broadcast or permuted) strides of the input per output dim.
template <typename F>
void forEachIndex(const Shape &out, const Shape &inStrides, F f) {
  int64_t n = numElements(out), rank = int64_t(out.size());
  std::vector<int64_t> idx(rank, 0);
  int64_t in = 0;
  for (int64_t o = 0; o < n; ++o) {
    f(o, in);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < out[d]) {
        in += inStrides[d];
        break;
      }
      in -= inStrides[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}
} // namespace

template <typename T> Tensor<T> unary(UnaryKind kind, const Tensor<T> &x) {
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  for (size_t i = 0; i < x.data.size(); ++i) {
    double v = double(x.data[i]), r = 0;
    switch (kind) {
    case UnaryKind::Relu:
      r = v > 0 ? v : (std::isnan(v) ? v : 0.0);
      break;
    case UnaryKind::Sigmoid:
      r = v >= 0 ? 1.0 / (1.0 + std::exp(-v))
                 : std::exp(v) / (1.0 + std::exp(v));
      break;
    case UnaryKind::Tanh:
      r = std::tanh(v);
      break;
    case UnaryKind::Exp:
      r = std::exp(v);
      break;
    case UnaryKind::Log:
      r = std::log(v);
      break;
    case UnaryKind::Sqrt:
      r = std::sqrt(v);
      break;
    case UnaryKind::Neg:
      r = -v;
      break;
    case UnaryKind::Abs:
      r = std::fabs(v);
      break;
    case UnaryKind::Sign:
      r = v > 0 ? 1.0 : (v < 0 ? -1.0 : (std::isnan(v) ? v : 0.0));
      break;
    }
    y.data[i] = T(r);
  }
  return y;
}

template <typename T>
Tensor<T> binary(BinaryKind kind, const Tensor<T> &a, const Tensor<T> &b,
                 const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  Shape sa = broadcastStrides(a.shape, outShape);
  Shape sb = broadcastStrides(b.shape, outShape);
  std::vector<int64_t> ia(size_t(y.numel()));
  forEachIndex(outShape, sa, [&](int64_t o, int64_t i) { ia[o] = i; });
  forEachIndex(outShape, sb, [&](int64_t o, int64_t ib) {
    double x = double(a.data[ia[o]]), z = double(b.data[ib]);
    double r = kind == BinaryKind::Add   ? x + z
               : kind == BinaryKind::Sub ? x - z
               : kind == BinaryKind::Mul ? x * z
                                         : x / z;
    y.data[o] = T(r);
  });
  return y;
}

template <typename T>
Tensor<T> dropout(const Tensor<T> &x, uint64_t seed, double p, uint64_t salt) {
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  double scale = 1.0 / (1.0 - p);
  for (size_t i = 0; i < x.data.size(); ++i)
    if (d2lrt::dropoutUniform(seed, i, salt) >= p)
      y.data[i] = T(double(x.data[i]) * scale);
  return y;
}

template <typename T>
Tensor<T> transpose(const Tensor<T> &x, const std::vector<int64_t> &perm) {
  Shape out, inStrides = stridesOf(x.shape), strides;
  for (int64_t p : perm) {
    out.push_back(x.shape[p]);
    strides.push_back(inStrides[p]);
  }
  Tensor<T> y = Tensor<T>::zeros(out);
  forEachIndex(out, strides,
               [&](int64_t o, int64_t i) { y.data[o] = x.data[i]; });
  return y;
}

template <typename T>
Tensor<T> concat(const std::vector<const Tensor<T> *> &xs, int64_t dim,
                 const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d)
    outer *= outShape[d];
  for (size_t d = dim + 1; d < outShape.size(); ++d)
    inner *= outShape[d];
  int64_t offset = 0;
  for (const Tensor<T> *x : xs) {
    int64_t len = x->shape[dim] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(&x->data[o * len], len,
                  &y.data[o * outShape[dim] * inner + offset]);
    offset += len;
  }
  return y;
}

template <typename T>
Tensor<T> slice(const Tensor<T> &x, int64_t dim, int64_t start, int64_t step,
                const Shape &outShape) {
  Shape strides = stridesOf(x.shape);
  int64_t base = start * strides[dim];
  strides[dim] *= step;
  Tensor<T> y = Tensor<T>::zeros(outShape);
  forEachIndex(outShape, strides,
               [&](int64_t o, int64_t i) { y.data[o] = x.data[base + i]; });
  return y;
}

template <typename T>
Tensor<T> broadcastTo(const Tensor<T> &x, const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  forEachIndex(outShape, broadcastStrides(x.shape, outShape),
               [&](int64_t o, int64_t i) { y.data[o] = x.data[i]; });
  return y;
}

template <typename T>
Tensor<T> activationBackward(ActivationKind kind, const Tensor<T> &dy,
                             const Tensor<T> &y) {
  Tensor<T> dx = Tensor<T>::zeros(dy.shape);
  for (size_t i = 0; i < dy.data.size(); ++i) {
    double g = double(dy.data[i]), v = double(y.data[i]);
    double r = kind == ActivationKind::Relu      ? (v > 0 ? g : 0.0)
               : kind == ActivationKind::Sigmoid ? g * v * (1 - v)
                                                 : g * (1 - v * v);
    dx.data[i] = T(r);
  }
  return dx;
}

template <typename T>
Tensor<T> sliceBackward(const Tensor<T> &dy, const Shape &inputShape,
                        int64_t dim, int64_t start, int64_t step) {
  Tensor<T> dx = Tensor<T>::zeros(inputShape);
  Shape strides = stridesOf(inputShape);
  int64_t base = start * strides[dim];
  strides[dim] *= step;
  forEachIndex(dy.shape, strides,
               [&](int64_t o, int64_t i) { dx.data[base + i] = dy.data[o]; });
  return dx;
}

#define INSTANTIATE(T)                                                         \
  template Tensor<T> unary(UnaryKind, const Tensor<T> &);                      \
  template Tensor<T> binary(BinaryKind, const Tensor<T> &, const Tensor<T> &,  \
                            const Shape &);                                    \
  template Tensor<T> dropout(const Tensor<T> &, uint64_t, double, uint64_t);   \
  template Tensor<T> transpose(const Tensor<T> &,                              \
                               const std::vector<int64_t> &);                  \
  template Tensor<T> concat(const std::vector<const Tensor<T> *> &, int64_t,   \
                            const Shape &);                                    \
  template Tensor<T> slice(const Tensor<T> &, int64_t, int64_t, int64_t,       \
                           const Shape &);                                     \
  template Tensor<T> broadcastTo(const Tensor<T> &, const Shape &);            \
  template Tensor<T> activationBackward(ActivationKind, const Tensor<T> &,     \
                                        const Tensor<T> &);                    \
  template Tensor<T> sliceBackward(const Tensor<T> &, const Shape &, int64_t,  \
                                   int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

} // namespace mlir::d2l::eval
