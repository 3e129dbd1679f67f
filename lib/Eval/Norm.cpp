//===- Norm.cpp - batch normalisation of the evaluator --------------------===//

#include "Kernels.h"

#include <cmath>

namespace mlir::d2l::eval {

namespace {
/// Calls f(channel, index) for every element, channel = dimension 1.
template <typename F> void forEachByChannel(const Shape &shape, F f) {
  int64_t n = shape[0], c = shape[1];
  int64_t inner = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    inner *= shape[i];
  for (int64_t in = 0; in < n; ++in)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t k = 0; k < inner; ++k)
        f(ic, (in * c + ic) * inner + k);
}
} // namespace

template <typename T>
std::array<Tensor<T>, 5>
batchNormTrain(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> &b,
               const Tensor<T> &runningMean, const Tensor<T> &runningVar,
               double eps, double momentum) {
  int64_t c = x.dim(1);
  double count = double(x.numel() / c);
  // Two passes: the mean, then the biased variance around it.
  std::vector<double> sum(c, 0.0), sq(c, 0.0);
  forEachByChannel(
      x.shape, [&](int64_t ch, int64_t i) { sum[ch] += double(x.data[i]); });
  std::vector<double> mean(c);
  for (int64_t ch = 0; ch < c; ++ch)
    mean[ch] = sum[ch] / count;
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    double d = double(x.data[i]) - mean[ch];
    sq[ch] += d * d;
  });
  std::array<Tensor<T>, 5> r;
  r[0] = Tensor<T>::zeros(x.shape);
  for (int k = 1; k < 5; ++k)
    r[k] = Tensor<T>::zeros({c});
  std::vector<double> invstd(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    double var = sq[ch] / count;
    invstd[ch] = 1.0 / std::sqrt(var + eps);
    r[1].data[ch] = T(mean[ch]);
    r[2].data[ch] = T(invstd[ch]);
    r[3].data[ch] =
        T((1 - momentum) * double(runningMean.data[ch]) + momentum * mean[ch]);
    r[4].data[ch] = T((1 - momentum) * double(runningVar.data[ch]) +
                      momentum * sq[ch] / (count - 1));
  }
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    r[0].data[i] =
        T((double(x.data[i]) - mean[ch]) * invstd[ch] * double(w.data[ch]) +
          double(b.data[ch]));
  });
  return r;
}

template <typename T>
Tensor<T> batchNormInference(const Tensor<T> &x, const Tensor<T> &w,
                             const Tensor<T> &b, const Tensor<T> &runningMean,
                             const Tensor<T> &runningVar, double eps) {
  Tensor<T> y = Tensor<T>::zeros(x.shape);
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    double invstd = 1.0 / std::sqrt(double(runningVar.data[ch]) + eps);
    y.data[i] = T((double(x.data[i]) - double(runningMean.data[ch])) * invstd *
                      double(w.data[ch]) +
                  double(b.data[ch]));
  });
  return y;
}

template <typename T>
std::array<Tensor<T>, 3>
batchNormBackward(const Tensor<T> &dy, const Tensor<T> &x, const Tensor<T> &w,
                  const Tensor<T> &mean, const Tensor<T> &invstd) {
  int64_t c = x.dim(1);
  double count = double(x.numel() / c);
  std::vector<double> sumDy(c, 0.0), sumDyXhat(c, 0.0);
  auto xhat = [&](int64_t ch, int64_t i) {
    return (double(x.data[i]) - double(mean.data[ch])) *
           double(invstd.data[ch]);
  };
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    sumDy[ch] += double(dy.data[i]);
    sumDyXhat[ch] += double(dy.data[i]) * xhat(ch, i);
  });
  std::array<Tensor<T>, 3> r{Tensor<T>::zeros(x.shape), Tensor<T>::zeros({c}),
                             Tensor<T>::zeros({c})};
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    double k = double(w.data[ch]) * double(invstd.data[ch]) / count;
    r[0].data[i] = T(k * (count * double(dy.data[i]) - sumDy[ch] -
                          xhat(ch, i) * sumDyXhat[ch]));
  });
  for (int64_t ch = 0; ch < c; ++ch) {
    r[1].data[ch] = T(sumDyXhat[ch]);
    r[2].data[ch] = T(sumDy[ch]);
  }
  return r;
}

template <typename T>
Tensor<T> batchNormApply(const Tensor<T> &x, const Tensor<T> &w,
                         const Tensor<T> &b, const Tensor<T> &mean,
                         const Tensor<T> &invstd) {
  Tensor<T> z = Tensor<T>::zeros(x.shape);
  forEachByChannel(x.shape, [&](int64_t ch, int64_t i) {
    z.data[i] = T((double(x.data[i]) - double(mean.data[ch])) *
                      double(invstd.data[ch]) * double(w.data[ch]) +
                  double(b.data[ch]));
  });
  return z;
}

#define INSTANTIATE(T)                                                         \
  template std::array<Tensor<T>, 5> batchNormTrain(                            \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &,                 \
      const Tensor<T> &, const Tensor<T> &, double, double);                   \
  template Tensor<T> batchNormInference(const Tensor<T> &, const Tensor<T> &,  \
                                        const Tensor<T> &, const Tensor<T> &,  \
                                        const Tensor<T> &, double);            \
  template std::array<Tensor<T>, 3> batchNormBackward(                         \
      const Tensor<T> &, const Tensor<T> &, const Tensor<T> &,                 \
      const Tensor<T> &, const Tensor<T> &);                                   \
  template Tensor<T> batchNormApply(const Tensor<T> &, const Tensor<T> &,      \
                                    const Tensor<T> &, const Tensor<T> &,      \
                                    const Tensor<T> &);
INSTANTIATE(float)
INSTANTIATE(double)

} // namespace mlir::d2l::eval
