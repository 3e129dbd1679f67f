//===- Pool.cpp - pooling of the evaluator
//---------------------------------===//

#include "Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlir::d2l::eval {

template <typename T>
Tensor<T> maxPool2d(const Tensor<T> &x, Pair kernel, Pair stride, Pair padding,
                    const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t oh = outShape[2], ow = outShape[3];
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = &x.data[p * h * w];
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t h0 = i * stride[0] - padding[0],
                w0 = j * stride[1] - padding[1];
        // Padding is -inf: only real elements compete. NaN propagates.
        T best = -std::numeric_limits<T>::infinity();
        for (int64_t a = std::max<int64_t>(h0, 0);
             a < std::min(h0 + kernel[0], h); ++a)
          for (int64_t b = std::max<int64_t>(w0, 0);
               b < std::min(w0 + kernel[1], w); ++b) {
            T v = in[a * w + b];
            if (v > best || std::isnan(v))
              best = v;
          }
        y.data[(p * oh + i) * ow + j] = best;
      }
    }
  }
  return y;
}

template <typename T>
Tensor<T> avgPool2d(const Tensor<T> &x, Pair kernel, Pair stride, Pair padding,
                    bool countIncludePad, const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t oh = outShape[2], ow = outShape[3];
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = &x.data[p * h * w];
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        // PyTorch: the window is clipped to the padded input for the divisor
        // with count_include_pad, and to the input for the sum.
        int64_t hs = i * stride[0] - padding[0],
                ws = j * stride[1] - padding[1];
        int64_t he = std::min(hs + kernel[0], h + padding[0]);
        int64_t we = std::min(ws + kernel[1], w + padding[1]);
        int64_t poolSize = (he - hs) * (we - ws);
        hs = std::max<int64_t>(hs, 0);
        ws = std::max<int64_t>(ws, 0);
        he = std::min(he, h);
        we = std::min(we, w);
        double sum = 0;
        for (int64_t a = hs; a < he; ++a)
          for (int64_t b = ws; b < we; ++b)
            sum += double(in[a * w + b]);
        int64_t divisor = countIncludePad ? poolSize : (he - hs) * (we - ws);
        y.data[(p * oh + i) * ow + j] = T(sum / double(divisor));
      }
    }
  }
  return y;
}

template <typename T>
Tensor<T> adaptiveAvgPool2d(const Tensor<T> &x, Pair outputSize) {
  int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  int64_t oh = outputSize[0], ow = outputSize[1];
  Tensor<T> y = Tensor<T>::zeros({x.dim(0), x.dim(1), oh, ow});
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = &x.data[p * h * w];
    for (int64_t i = 0; i < oh; ++i) {
      int64_t hs = (i * h) / oh, he = ((i + 1) * h + oh - 1) / oh;
      for (int64_t j = 0; j < ow; ++j) {
        int64_t ws = (j * w) / ow, we = ((j + 1) * w + ow - 1) / ow;
        double sum = 0;
        for (int64_t a = hs; a < he; ++a)
          for (int64_t b = ws; b < we; ++b)
            sum += double(in[a * w + b]);
        y.data[(p * oh + i) * ow + j] = T(sum / double((he - hs) * (we - ws)));
      }
    }
  }
  return y;
}

namespace {
/// Calls f(outIndex, inIndex) for each pooling window of plane p, with
/// inIndex the window's first maximum (row-major), or -1 if empty.
template <typename T, typename F>
void forEachArgmax(const Tensor<T> &x, Pair kernel, Pair stride, Pair padding,
                   int64_t oh, int64_t ow, F f) {
  int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  for (int64_t p = 0; p < planes; ++p) {
    const T *in = &x.data[p * h * w];
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t h0 = i * stride[0] - padding[0],
                w0 = j * stride[1] - padding[1];
        int64_t best = -1;
        for (int64_t a = std::max<int64_t>(h0, 0);
             a < std::min(h0 + kernel[0], h); ++a)
          for (int64_t b = std::max<int64_t>(w0, 0);
               b < std::min(w0 + kernel[1], w); ++b) {
            int64_t k = a * w + b;
            if (best < 0 || in[k] > in[best] ||
                (std::isnan(in[k]) && !std::isnan(in[best])))
              best = k;
          }
        f((p * oh + i) * ow + j, best < 0 ? -1 : p * h * w + best);
      }
    }
  }
}
} // namespace

template <typename T>
Tensor<T> maxPool2dBackward(const Tensor<T> &dy, const Tensor<T> &x,
                            Pair kernel, Pair stride, Pair padding) {
  Tensor<T> dx = Tensor<T>::zeros(x.shape);
  std::vector<double> acc(dx.data.size(), 0.0);
  forEachArgmax(x, kernel, stride, padding, dy.dim(2), dy.dim(3),
                [&](int64_t o, int64_t i) {
                  if (i >= 0)
                    acc[i] += double(dy.data[o]);
                });
  for (size_t i = 0; i < acc.size(); ++i)
    dx.data[i] = T(acc[i]);
  return dx;
}

template <typename T>
Tensor<T> maxPool2dSelect(const Tensor<T> &x, const Tensor<T> &values,
                          Pair kernel, Pair stride, Pair padding,
                          const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  forEachArgmax(x, kernel, stride, padding, outShape[2], outShape[3],
                [&](int64_t o, int64_t i) {
                  y.data[o] = i >= 0 ? values.data[i] : T(0);
                });
  return y;
}

template <typename T>
Tensor<T> avgPool2dBackward(const Tensor<T> &dy, const Shape &inputShape,
                            Pair kernel, Pair stride, Pair padding,
                            bool countIncludePad) {
  Tensor<T> dx = Tensor<T>::zeros(inputShape);
  int64_t planes = inputShape[0] * inputShape[1], h = inputShape[2],
          w = inputShape[3];
  int64_t oh = dy.dim(2), ow = dy.dim(3);
  std::vector<double> acc(dx.data.size(), 0.0);
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t hs = i * stride[0] - padding[0],
                ws = j * stride[1] - padding[1];
        int64_t he = std::min(hs + kernel[0], h + padding[0]);
        int64_t we = std::min(ws + kernel[1], w + padding[1]);
        int64_t poolSize = (he - hs) * (we - ws);
        hs = std::max<int64_t>(hs, 0);
        ws = std::max<int64_t>(ws, 0);
        he = std::min(he, h);
        we = std::min(we, w);
        int64_t divisor = countIncludePad ? poolSize : (he - hs) * (we - ws);
        double g = double(dy.data[(p * oh + i) * ow + j]) / double(divisor);
        for (int64_t a = hs; a < he; ++a)
          for (int64_t b = ws; b < we; ++b)
            acc[p * h * w + a * w + b] += g;
      }
    }
  }
  for (size_t i = 0; i < acc.size(); ++i)
    dx.data[i] = T(acc[i]);
  return dx;
}

template <typename T>
Tensor<T> adaptiveAvgPool2dBackward(const Tensor<T> &dy,
                                    const Shape &inputShape) {
  Tensor<T> dx = Tensor<T>::zeros(inputShape);
  int64_t planes = inputShape[0] * inputShape[1], h = inputShape[2],
          w = inputShape[3];
  int64_t oh = dy.dim(2), ow = dy.dim(3);
  std::vector<double> acc(dx.data.size(), 0.0);
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      int64_t hs = (i * h) / oh, he = ((i + 1) * h + oh - 1) / oh;
      for (int64_t j = 0; j < ow; ++j) {
        int64_t ws = (j * w) / ow, we = ((j + 1) * w + ow - 1) / ow;
        double g = double(dy.data[(p * oh + i) * ow + j]) /
                   double((he - hs) * (we - ws));
        for (int64_t a = hs; a < he; ++a)
          for (int64_t b = ws; b < we; ++b)
            acc[p * h * w + a * w + b] += g;
      }
    }
  }
  for (size_t i = 0; i < acc.size(); ++i)
    dx.data[i] = T(acc[i]);
  return dx;
}

#define INSTANTIATE(T)                                                         \
  template Tensor<T> maxPool2d(const Tensor<T> &, Pair, Pair, Pair,            \
                               const Shape &);                                 \
  template Tensor<T> avgPool2d(const Tensor<T> &, Pair, Pair, Pair, bool,      \
                               const Shape &);                                 \
  template Tensor<T> adaptiveAvgPool2d(const Tensor<T> &, Pair);               \
  template Tensor<T> maxPool2dBackward(const Tensor<T> &, const Tensor<T> &,   \
                                       Pair, Pair, Pair);                      \
  template Tensor<T> maxPool2dSelect(const Tensor<T> &, const Tensor<T> &,     \
                                     Pair, Pair, Pair, const Shape &);         \
  template Tensor<T> avgPool2dBackward(const Tensor<T> &, const Shape &, Pair, \
                                       Pair, Pair, bool);                      \
  template Tensor<T> adaptiveAvgPool2dBackward(const Tensor<T> &,              \
                                               const Shape &);
INSTANTIATE(float)
INSTANTIATE(double)

} // namespace mlir::d2l::eval
