//===- Reduce.cpp - reductions, softmax and losses of the evaluator -------===//

#include "Kernels.h"

#include <cmath>

namespace mlir::d2l::eval {

template <typename T>
Tensor<T> reduce(const Tensor<T> &x, const std::vector<bool> &reduced,
                 bool mean, const Shape &outShape) {
  // Accumulate every element into its output slot (strides 0 on reduced dims).
  Shape outStrides(x.shape.size(), 0);
  int64_t stride = 1, count = 1;
  for (int64_t d = int64_t(x.shape.size()) - 1; d >= 0; --d) {
    if (reduced[d]) {
      count *= x.shape[d];
      continue;
    }
    outStrides[d] = stride;
    stride *= x.shape[d];
  }
  std::vector<double> acc(size_t(numElements(outShape)), 0.0);
  int64_t rank = x.rank();
  std::vector<int64_t> idx(rank, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    acc[o] += double(x.data[i]);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < x.shape[d]) {
        o += outStrides[d];
        break;
      }
      o -= outStrides[d] * (x.shape[d] - 1);
      idx[d] = 0;
    }
  }
  Tensor<T> y = Tensor<T>::zeros(outShape);
  for (size_t i = 0; i < acc.size(); ++i)
    y.data[i] = T(mean ? acc[i] / double(count) : acc[i]);
  return y;
}

template <typename T>
Tensor<T> softmax(const Tensor<T> &x, int64_t dim, bool log) {
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  int64_t outer = 1, inner = 1, len = x.shape[dim];
  for (int64_t d = 0; d < dim; ++d)
    outer *= x.shape[d];
  for (int64_t d = dim + 1; d < x.rank(); ++d)
    inner *= x.shape[d];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      const T *px = &x.data[o * len * inner + in];
      T *py = &y.data[o * len * inner + in];
      double mx = -INFINITY;
      for (int64_t k = 0; k < len; ++k)
        mx = std::max(mx, double(px[k * inner]));
      double sum = 0;
      for (int64_t k = 0; k < len; ++k)
        sum += std::exp(double(px[k * inner]) - mx);
      double lse = std::log(sum);
      for (int64_t k = 0; k < len; ++k) {
        double v = double(px[k * inner]) - mx;
        py[k * inner] = T(log ? v - lse : std::exp(v) / sum);
      }
    }
  }
  return y;
}

template <typename T>
std::string crossEntropy(const Tensor<T> &logits, const Tensor<T> &labels,
                         Tensor<T> &out) {
  int64_t n = logits.dim(0), c = logits.dim(1);
  int64_t inner = logits.numel() / (n * c);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < inner; ++k) {
      int64_t label = labels.ints[i * inner + k];
      if (label == -1)
        continue; // padding: no loss
      if (label < 0 || label >= c)
        return "label " + std::to_string(label) + " at position " +
               std::to_string(i * inner + k) + " is outside [0, " +
               std::to_string(c) + ") (and is not -1, padding)";
      const T *px = &logits.data[i * c * inner + k];
      double mx = -INFINITY;
      for (int64_t j = 0; j < c; ++j)
        mx = std::max(mx, double(px[j * inner]));
      double sum = 0;
      for (int64_t j = 0; j < c; ++j)
        sum += std::exp(double(px[j * inner]) - mx);
      total += mx + std::log(sum) - double(px[label * inner]);
    }
  }
  out = Tensor<T>::scalar(T(total / double(n * inner)));
  return "";
}

template <typename T>
Tensor<T> mseLoss(const Tensor<T> &a, const Tensor<T> &b) {
  double sum = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    double d = double(a.data[i]) - double(b.data[i]);
    sum += d * d;
  }
  return Tensor<T>::scalar(T(sum / double(a.numel())));
}

template <typename T>
Tensor<T> softmaxBackward(const Tensor<T> &dy, const Tensor<T> &y, int64_t dim,
                          bool log) {
  Tensor<T> dx = Tensor<T>::zeros(y.shape);
  int64_t outer = 1, inner = 1, len = y.shape[dim];
  for (int64_t d = 0; d < dim; ++d)
    outer *= y.shape[d];
  for (int64_t d = dim + 1; d < y.rank(); ++d)
    inner *= y.shape[d];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      int64_t base = o * len * inner + in;
      double s = 0;
      for (int64_t k = 0; k < len; ++k) {
        double g = double(dy.data[base + k * inner]);
        s += log ? g : g * double(y.data[base + k * inner]);
      }
      for (int64_t k = 0; k < len; ++k) {
        int64_t i = base + k * inner;
        double g = double(dy.data[i]), v = double(y.data[i]);
        dx.data[i] = T(log ? g - std::exp(v) * s : v * (g - s));
      }
    }
  }
  return dx;
}

template <typename T>
std::string crossEntropyBackward(const Tensor<T> &gradLoss,
                                 const Tensor<T> &logits,
                                 const Tensor<T> &labels, Tensor<T> &out) {
  int64_t n = logits.dim(0), c = logits.dim(1);
  int64_t inner = logits.numel() / (n * c);
  double scale = double(gradLoss.data[0]) / double(n * inner);
  out = Tensor<T>::zeros(logits.shape);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < inner; ++k) {
      int64_t label = labels.ints[i * inner + k];
      if (label == -1)
        continue; // padding: zero gradient
      if (label < 0 || label >= c)
        return "label " + std::to_string(label) + " at position " +
               std::to_string(i * inner + k) + " is outside [0, " +
               std::to_string(c) + ") (and is not -1, padding)";
      const T *px = &logits.data[i * c * inner + k];
      double mx = -INFINITY;
      for (int64_t j = 0; j < c; ++j)
        mx = std::max(mx, double(px[j * inner]));
      double sum = 0;
      for (int64_t j = 0; j < c; ++j)
        sum += std::exp(double(px[j * inner]) - mx);
      T *po = &out.data[i * c * inner + k];
      for (int64_t j = 0; j < c; ++j) {
        double p = std::exp(double(px[j * inner]) - mx) / sum;
        po[j * inner] = T(scale * (p - (j == label ? 1.0 : 0.0)));
      }
    }
  }
  return "";
}

template <typename T> Tensor<T> argmax(const Tensor<T> &x, int64_t dim) {
  int64_t outer = 1, inner = 1, len = x.shape[dim];
  Shape shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < dim)
      outer *= x.shape[d];
    if (d > dim)
      inner *= x.shape[d];
    if (d != dim)
      shape.push_back(x.shape[d]);
  }
  Tensor<T> r = Tensor<T>::integers(shape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const T *p = &x.data[o * len * inner + in];
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k)
        if (p[k * inner] > p[best * inner])
          best = k;
      r.ints[o * inner + in] = best;
    }
  return r;
}

#define INSTANTIATE(T)                                                         \
  template Tensor<T> reduce(const Tensor<T> &, const std::vector<bool> &,      \
                            bool, const Shape &);                              \
  template Tensor<T> softmax(const Tensor<T> &, int64_t, bool);                \
  template std::string crossEntropy(const Tensor<T> &, const Tensor<T> &,      \
                                    Tensor<T> &);                              \
  template Tensor<T> mseLoss(const Tensor<T> &, const Tensor<T> &);            \
  template Tensor<T> softmaxBackward(const Tensor<T> &, const Tensor<T> &,     \
                                     int64_t, bool);                           \
  template std::string crossEntropyBackward(                                   \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &, Tensor<T> &);   \
  template Tensor<T> argmax(const Tensor<T> &, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

} // namespace mlir::d2l::eval
