//===- Conv.cpp - convolution and matrix products of the evaluator --------===//

#include "Kernels.h"

namespace mlir::d2l::eval {

template <typename T>
Tensor<T> conv2d(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> *b,
                 const ConvParams &p, const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
  int64_t cout = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  int64_t oh = outShape[2], ow = outShape[3];
  int64_t cinG = cin / p.groups, coutG = cout / p.groups;
  std::vector<double> acc(size_t(oh * ow));
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t oc = 0; oc < cout; ++oc) {
      int64_t g = oc / coutG;
      std::fill(acc.begin(), acc.end(), b ? double(b->data[oc]) : 0.0);
      for (int64_t icl = 0; icl < cinG; ++icl) {
        int64_t ic = g * cinG + icl;
        const T *plane = &x.data[((in * cin + ic) * h) * wd];
        for (int64_t ki = 0; ki < kh; ++ki) {
          for (int64_t kj = 0; kj < kw; ++kj) {
            double wv = w.data[((oc * cinG + icl) * kh + ki) * kw + kj];
            for (int64_t i = 0; i < oh; ++i) {
              int64_t ih = i * p.stride[0] - p.padding[0] + ki * p.dilation[0];
              if (ih < 0 || ih >= h)
                continue;
              for (int64_t j = 0; j < ow; ++j) {
                int64_t iw =
                    j * p.stride[1] - p.padding[1] + kj * p.dilation[1];
                if (iw >= 0 && iw < wd)
                  acc[i * ow + j] += wv * double(plane[ih * wd + iw]);
              }
            }
          }
        }
      }
      T *out = &y.data[((in * cout + oc) * oh) * ow];
      for (int64_t k = 0; k < oh * ow; ++k)
        out[k] = T(acc[k]);
    }
  }
  return y;
}

template <typename T>
Tensor<T> convTranspose2d(const Tensor<T> &x, const Tensor<T> &w,
                          const Tensor<T> *b, const ConvParams &p,
                          const Shape &outShape) {
  Tensor<T> y = Tensor<T>::zeros(outShape);
  int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
  int64_t coutG = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  int64_t cout = outShape[1], oh = outShape[2], ow = outShape[3];
  int64_t cinG = cin / p.groups;
  std::vector<double> acc(size_t(cout * oh * ow));
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t oc = 0; oc < cout; ++oc)
      std::fill(acc.begin() + oc * oh * ow, acc.begin() + (oc + 1) * oh * ow,
                b ? double(b->data[oc]) : 0.0);
    // Scatter: input pixel (i, j) of channel ic reaches output
    // (i stride - padding + ki dilation, ...) of every channel of its group.
    for (int64_t ic = 0; ic < cin; ++ic) {
      int64_t g = ic / cinG;
      const T *plane = &x.data[((in * cin + ic) * h) * wd];
      for (int64_t ocl = 0; ocl < coutG; ++ocl) {
        int64_t oc = g * coutG + ocl;
        double *out = &acc[oc * oh * ow];
        for (int64_t ki = 0; ki < kh; ++ki) {
          for (int64_t kj = 0; kj < kw; ++kj) {
            double wv = w.data[((ic * coutG + ocl) * kh + ki) * kw + kj];
            for (int64_t i = 0; i < h; ++i) {
              int64_t o = i * p.stride[0] - p.padding[0] + ki * p.dilation[0];
              if (o < 0 || o >= oh)
                continue;
              for (int64_t j = 0; j < wd; ++j) {
                int64_t q = j * p.stride[1] - p.padding[1] + kj * p.dilation[1];
                if (q >= 0 && q < ow)
                  out[o * ow + q] += wv * double(plane[i * wd + j]);
              }
            }
          }
        }
      }
    }
    T *dst = &y.data[in * cout * oh * ow];
    for (int64_t k = 0; k < cout * oh * ow; ++k)
      dst[k] = T(acc[k]);
  }
  return y;
}

template <typename T>
Tensor<T> linear(const Tensor<T> &x, const Tensor<T> &w, const Tensor<T> *b) {
  int64_t in = w.dim(1), out = w.dim(0);
  int64_t rows = x.numel() / in;
  Shape shape = x.shape;
  shape.back() = out;
  Tensor<T> y = Tensor<T>::zeros(shape);
  for (int64_t r = 0; r < rows; ++r) {
    const T *xr = &x.data[r * in];
    for (int64_t o = 0; o < out; ++o) {
      const T *wr = &w.data[o * in];
      double acc = b ? double(b->data[o]) : 0.0;
      for (int64_t k = 0; k < in; ++k)
        acc += double(xr[k]) * double(wr[k]);
      y.data[r * out + o] = T(acc);
    }
  }
  return y;
}

template <typename T>
Tensor<T> matmul(const Tensor<T> &a, const Tensor<T> &b, bool ta, bool tb,
                 const Shape &outShape) {
  Tensor<T> c = Tensor<T>::zeros(outShape);
  int64_t r = a.rank();
  int64_t batch = r == 3 ? a.dim(0) : 1;
  int64_t m = outShape[r - 2], n = outShape[r - 1];
  int64_t k = ta ? a.dim(r - 2) : a.dim(r - 1);
  int64_t aRows = a.dim(r - 2), aCols = a.dim(r - 1);
  int64_t bRows = b.dim(r - 2), bCols = b.dim(r - 1);
  for (int64_t bi = 0; bi < batch; ++bi) {
    const T *pa = &a.data[bi * aRows * aCols];
    const T *pb = &b.data[bi * bRows * bCols];
    T *pc = &c.data[bi * m * n];
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t l = 0; l < k; ++l) {
          double av = ta ? pa[l * aCols + i] : pa[i * aCols + l];
          double bv = tb ? pb[j * bCols + l] : pb[l * bCols + j];
          acc += av * bv;
        }
        pc[i * n + j] = T(acc);
      }
    }
  }
  return c;
}

template <typename T>
Tensor<T> conv2dBackwardFilter(const Tensor<T> &x, const Tensor<T> &dy,
                               const ConvParams &p, const Shape &weightShape) {
  Tensor<T> dw = Tensor<T>::zeros(weightShape);
  int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
  int64_t cout = weightShape[0], kh = weightShape[2], kw = weightShape[3];
  int64_t oh = dy.dim(2), ow = dy.dim(3);
  int64_t cinG = cin / p.groups, coutG = cout / p.groups;
  for (int64_t oc = 0; oc < cout; ++oc) {
    int64_t g = oc / coutG;
    for (int64_t icl = 0; icl < cinG; ++icl) {
      int64_t ic = g * cinG + icl;
      for (int64_t ki = 0; ki < kh; ++ki) {
        for (int64_t kj = 0; kj < kw; ++kj) {
          double acc = 0;
          for (int64_t in = 0; in < n; ++in) {
            const T *plane = &x.data[((in * cin + ic) * h) * wd];
            const T *grad = &dy.data[((in * cout + oc) * oh) * ow];
            for (int64_t i = 0; i < oh; ++i) {
              int64_t ih = i * p.stride[0] - p.padding[0] + ki * p.dilation[0];
              if (ih < 0 || ih >= h)
                continue;
              for (int64_t j = 0; j < ow; ++j) {
                int64_t iw =
                    j * p.stride[1] - p.padding[1] + kj * p.dilation[1];
                if (iw >= 0 && iw < wd)
                  acc += double(grad[i * ow + j]) * double(plane[ih * wd + iw]);
              }
            }
          }
          dw.data[((oc * cinG + icl) * kh + ki) * kw + kj] = T(acc);
        }
      }
    }
  }
  return dw;
}

#define INSTANTIATE(T)                                                         \
  template Tensor<T> conv2d(const Tensor<T> &, const Tensor<T> &,              \
                            const Tensor<T> *, const ConvParams &,             \
                            const Shape &);                                    \
  template Tensor<T> convTranspose2d(const Tensor<T> &, const Tensor<T> &,     \
                                     const Tensor<T> *, const ConvParams &,    \
                                     const Shape &);                           \
  template Tensor<T> linear(const Tensor<T> &, const Tensor<T> &,              \
                            const Tensor<T> *);                                \
  template Tensor<T> matmul(const Tensor<T> &, const Tensor<T> &, bool, bool,  \
                            const Shape &);                                    \
  template Tensor<T> conv2dBackwardFilter(const Tensor<T> &,                   \
                                          const Tensor<T> &,                   \
                                          const ConvParams &, const Shape &);
INSTANTIATE(float)
INSTANTIATE(double)

} // namespace mlir::d2l::eval
