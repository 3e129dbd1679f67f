//===- Norm.cpp - batch normalisation kernels -----------------------------===//
//
// Statistics: one block per channel, two passes (the mean, then the squared
// deviations around it: numerically sound), each a block-level tree
// reduction accumulated in double (a channel holds up to millions of
// values, and the gradient's sums cancel). Normalisation and the gradient's
// final step are pointwise.
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

struct Layout {
  int64_t n, c, inner; // [N, C, inner...]
  int64_t count() const { return n * inner; }
  int64_t total() const { return n * c * inner; }
};

Layout layoutOf(RankedTensorType t) {
  Layout l{t.getDimSize(0), t.getDimSize(1), 1};
  for (int64_t d = 2; d < t.getRank(); ++d)
    l.inner *= t.getDimSize(d);
  return l;
}

/// A block-wide tree sum of red[0..255] into red[0].
void printTreeSum(llvm::raw_ostream &os, StringRef arrays) {
  os << "  D2L_BARRIER;\n"
     << "  for (int w = 128; w > 0; w >>= 1) {\n"
     << "    D2L_THREADS {\n"
     << "      if (threadIdx.x < w) {\n";
  for (StringRef a : llvm::split(arrays, ','))
    os << "        " << a << "[threadIdx.x] += " << a << "[threadIdx.x + w];\n";
  os << "      }\n    }\n    D2L_BARRIER;\n  }\n";
}

/// The channel loop: `body` sees `x` offsets as `at`.
void printChannelLoop(llvm::raw_ostream &os, const Layout &l, StringRef body) {
  os << "    for (long long j = threadIdx.x; j < " << str(l.count())
     << "; j += 256) {\n"
     << "      const long long at = ((j / " << str(l.inner) << ") * "
     << str(l.c) << " + c) * " << str(l.inner) << " + j % " << str(l.inner)
     << ";\n"
     << body << "    }\n";
}

void printPointwiseHead(llvm::raw_ostream &os, const Layout &l) {
  os << "  const long long base = (long long)blockIdx.x * 1024;\n"
     << "  D2L_THREADS {\n"
     << "    for (int e = 0; e < 4; ++e) {\n"
     << "      const long long i = base + e * 256 + threadIdx.x;\n"
     << "      if (i >= " << str(l.total()) << ")\n        break;\n"
     << "      const long long c = (i / " << str(l.inner) << ") % " << str(l.c)
     << ";\n";
}

} // namespace

/// d2l.conv_bn_relu_pool_backward: one block per output channel c. a0 =
/// the pooled gradient, a1 = the input, a2 = the conv weight, a3, a4 =
/// BatchNorm's weight and bias, a5, a6 = the batch mean and invstd, [a7 =
/// the conv bias] -> the weight, BN weight, BN bias and bias gradients.
/// Pass 1 recomputes each pooling window (conv products in the forward
/// GEMM's order, then the forward's normalisation chain, so the same
/// maximum is found), and adds the window's gradient where its maximum's
/// pre-activation is positive: S1 = Σ dz, S2 = Σ dz x̂, T1 = Σ dz patch.
/// Pass 2 visits every conv output: X1 = Σ x̂, T3 = Σ x̂ patch, P = Σ patch.
/// Then, with k = gamma invstd and M values per channel, BatchNorm's
/// dx = k (dz - S1/M - x̂ S2/M) gives dW = k (T1 - S1/M P - S2/M T3) and
/// db = Σ dx = -k S2 X1 / M, without dx ever being stored.
static LogicalResult printStemBackward(llvm::raw_ostream &os, const Launch &l) {
  auto op = cast<ConvBnReluPoolBackwardOp>(l.op);
  RankedTensorType g = l.params[0], x = l.params[1], w = l.params[2];
  bool bias = op.getBias() != nullptr;
  Type et = x.getElementType();
  std::string T = scalarType(et);
  auto lit = [&](double v) { return literal(v, et); };
  int64_t n = x.getDimSize(0), ci = x.getDimSize(1), h = x.getDimSize(2),
          wd = x.getDimSize(3);
  int64_t c = w.getDimSize(0), kh = w.getDimSize(2), kw = w.getDimSize(3);
  int64_t k = ci * kh * kw;
  auto st = op.getStride(), pad = op.getPadding();
  int64_t yh = (h + 2 * pad[0] - kh) / st[0] + 1;
  int64_t yw = (wd + 2 * pad[1] - kw) / st[1] + 1;
  int64_t oh = g.getDimSize(2), ow = g.getDimSize(3);
  auto pk = op.getPoolKernelSize(), ps = op.getPoolStride(),
       pp = op.getPoolPadding();
  int64_t nk = 3 + 3 * k;
  size_t o = l.numInputs();
  std::string dW = l.paramName(o), dG = l.paramName(o + 1),
              dB = l.paramName(o + 2), dBias = l.paramName(o + 3);
  // The patch of conv output (ya, yb) of image im into pv[] (0 at padded
  // taps), and its convolution into xv, as the forward GEMM sums it (which
  // also adds w * 0 at padded taps).
  auto patchAndConv = [&](StringRef ind, StringRef im, StringRef ya,
                          StringRef yb) {
    std::string s;
    llvm::raw_string_ostream ss(s);
    ss << ind << T << " xv = 0;\n"
       << ind << "for (long long q = 0; q < " << str(k) << "; ++q) {\n"
       << ind << "  const long long ic = q / " << str(kh * kw) << ", ky = (q / "
       << str(kw) << ") % " << str(kh) << ", kx = q % " << str(kw) << ";\n"
       << ind << "  const long long ih = " << ya << " * " << str(st[0]) << " - "
       << str(pad[0]) << " + ky, iw = " << yb << " * " << str(st[1]) << " - "
       << str(pad[1]) << " + kx;\n"
       << ind << "  pv[q] = (ih >= 0 && ih < " << str(h)
       << " && iw >= 0 && iw < " << str(wd) << ") ? a1[((" << im << " * "
       << str(ci) << " + ic) * " << str(h) << " + ih) * " << str(wd)
       << " + iw] : (" << T << ")0;\n"
       << ind << "  xv += a2[c * " << str(k) << " + q] * pv[q];\n"
       << ind << "}\n";
    if (bias)
      ss << ind << "xv = xv + cb;\n";
    // The forward's chain: t0 = x - mean, t1 = t0 invstd (x̂), t2 = t1
    // gamma, t3 = t2 + beta (the pre-activation).
    ss << ind << "const " << T << " t0 = (xv) - (mean);\n"
       << ind << "const " << T << " t1 = (t0) * (invstd);\n"
       << ind << "const " << T << " t2 = (t1) * (gw);\n"
       << ind << "const " << T << " t3 = (t2) + (gb);\n";
    return s;
  };
  os << "  const long long c = blockIdx.x;\n"
     << "  const " << T << " mean = a5[c], invstd = a6[c], gw = a3[c], gb = "
     << "a4[c];\n";
  if (bias)
    os << "  const " << T << " cb = a7[c];\n";
  os << "  D2L_SHARED double red[256];\n"
     << "  D2L_SHARED double tot[" << nk << "];\n"
     << "  D2L_PRIVATE(double, acc, " << nk << ", 256);\n"
     << "  D2L_THREADS {\n"
     << "    double *s = D2L_P(acc);\n"
     << "    for (int i = 0; i < " << nk << "; ++i)\n"
     << "      s[i] = 0;\n"
     << "    " << T << " pv[" << k
     << "];\n"
     // Pass 1: the windows.
     << "    for (long long j = threadIdx.x; j < " << str(n * oh * ow)
     << "; j += 256) {\n"
     << "      const long long im = j / " << str(oh * ow) << ", r = j % "
     << str(oh * ow) << ", oy = r / " << str(ow) << ", ox = r % " << str(ow)
     << ";\n"
     << "      const long long h0 = oy * " << str(ps[0]) << " - " << str(pp[0])
     << ", w0 = ox * " << str(ps[1]) << " - " << str(pp[1]) << ";\n"
     << "      long long best = -1, bestA = 0, bestB = 0;\n"
     << "      " << T << " bestValue = 0, bestZ = 0, bestXhat = 0;\n"
     << "      for (long long ya = h0 < 0 ? 0 : h0; ya < h0 + " << str(pk[0])
     << " && ya < " << str(yh) << "; ++ya)\n"
     << "        for (long long yb = w0 < 0 ? 0 : w0; yb < w0 + " << str(pk[1])
     << " && yb < " << str(yw) << "; ++yb) {\n"
     << patchAndConv("          ", "im", "ya", "yb") << "          const " << T
     << " v = " << reluExpr("t3", et) << ";\n"
     << "          if (" << firstMaxCondition("v") << ") {\n"
     << "            best = ya * " << str(yw) << " + yb;\n"
     << "            bestA = ya;\n            bestB = yb;\n"
     << "            bestValue = v;\n            bestZ = t3;\n"
     << "            bestXhat = t1;\n"
     << "          }\n"
     << "        }\n"
     << "      if (best < 0 || !(bestZ > " << lit(0) << "))\n"
     << "        continue;\n"
     << "      const double gv = a0[(im * " << str(c) << " + c) * "
     << str(oh * ow) << " + r];\n"
     << "      s[0] += gv;\n      s[1] += gv * (double)bestXhat;\n"
     << "      for (long long q = 0; q < " << str(k) << "; ++q) {\n"
     << "        const long long ic = q / " << str(kh * kw) << ", ky = (q / "
     << str(kw) << ") % " << str(kh) << ", kx = q % " << str(kw) << ";\n"
     << "        const long long ih = bestA * " << str(st[0]) << " - "
     << str(pad[0]) << " + ky, iw = bestB * " << str(st[1]) << " - "
     << str(pad[1]) << " + kx;\n"
     << "        if (ih >= 0 && ih < " << str(h) << " && iw >= 0 && iw < "
     << str(wd) << ")\n"
     << "          s[3 + q] += gv * (double)a1[((im * " << str(ci)
     << " + ic) * " << str(h) << " + ih) * " << str(wd) << " + iw];\n"
     << "      }\n"
     << "    }\n"
     // Pass 2: every conv output.
     << "    for (long long j = threadIdx.x; j < " << str(n * yh * yw)
     << "; j += 256) {\n"
     << "      const long long im = j / " << str(yh * yw) << ", ya = (j / "
     << str(yw) << ") % " << str(yh) << ", yb = j % " << str(yw) << ";\n"
     << patchAndConv("      ", "im", "ya", "yb") << "      (void)t3;\n"
     << "      s[2] += (double)t1;\n"
     << "      for (long long q = 0; q < " << str(k) << "; ++q) {\n"
     << "        s[" << 3 + k << " + q] += (double)t1 * (double)pv[q];\n"
     << "        s[" << 3 + 2 * k << " + q] += (double)pv[q];\n"
     << "      }\n"
     << "    }\n"
     << "  }\n"
     << "  for (int i = 0; i < " << nk << "; ++i) {\n"
     << "    D2L_THREADS {\n      red[threadIdx.x] = D2L_P(acc)[i];\n    }\n";
  printTreeSum(os, "red");
  os << "    D2L_THREADS {\n"
     << "      if (threadIdx.x == 0)\n        tot[i] = red[0];\n"
     << "    }\n"
     << "    D2L_BARRIER;\n"
     << "  }\n"
     << "  D2L_THREADS {\n"
     << "    if (threadIdx.x == 0) {\n"
     << "      const double m = " << str(n * yh * yw) << ";\n"
     << "      const double kk = (double)gw * (double)invstd;\n"
     << "      const double s1 = tot[0], s2 = tot[1], x1 = tot[2];\n"
     << "      for (long long q = 0; q < " << str(k) << "; ++q)\n"
     << "        " << dW << "[c * " << str(k) << " + q] = (" << T
     << ")(kk * (tot[3 + q] - s1 / m * tot[" << 3 + 2 * k
     << " + q] - s2 / m * tot[" << 3 + k << " + q]));\n"
     << "      " << dG << "[c] = (" << T << ")s2;\n"
     << "      " << dB << "[c] = (" << T << ")s1;\n"
     << "      " << dBias << "[c] = (" << T << ")(-kk * s2 / m * x1);\n"
     << "    }\n  }\n";
  return success();
}

LogicalResult mlir::d2l::cuda::printNorm(llvm::raw_ostream &os,
                                         const Launch &l) {
  StringRef f = l.family();
  Layout lay = layoutOf(l.params[0]);
  Type et = l.params[0].getElementType();
  std::string T = scalarType(et);
  auto lit = [&](double v) { return literal(v, et); };

  if (f == "bn_stats") {
    auto bn = cast<BatchNormOp>(l.op);
    double eps = bn.getEps().convertToDouble();
    double m = bn.getMomentum().convertToDouble();
    double count = double(lay.count());
    os << "  const long long c = blockIdx.x;\n"
       << "  D2L_SHARED double red[256];\n"
       << "  D2L_THREADS {\n    double s = 0;\n";
    printChannelLoop(os, lay, "      s += a0[at];\n");
    os << "    red[threadIdx.x] = s;\n  }\n";
    printTreeSum(os, "red");
    os << "  const " << T << " mean = red[0] / " << lit(count) << ";\n"
       << "  D2L_BARRIER;\n"
       << "  D2L_THREADS {\n    double s = 0;\n";
    printChannelLoop(os, lay,
                     "      const " + T +
                         " d = a0[at] - mean;\n      s += d * d;\n");
    os << "    red[threadIdx.x] = s;\n  }\n";
    printTreeSum(os, "red");
    os << "  D2L_THREADS {\n"
       << "    if (threadIdx.x == 0) {\n"
       << "      const " << T << " var = red[0] / " << lit(count) << ";\n"
       << "      a3[c] = mean;\n"
       << "      a4[c] = " << lit(1) << " / " << mathFn("sqrt", et) << "(var + "
       << lit(eps) << ");\n"
       << "      a5[c] = " << lit(1 - m) << " * a1[c] + " << lit(m)
       << " * mean;\n"
       << "      a6[c] = " << lit(1 - m) << " * a2[c] + "
       << lit(m * count / (count - 1)) << " * var;\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "bn_apply") {
    printPointwiseHead(os, lay);
    os << "      a5[i] = (a0[i] - a3[c]) * a4[c] * a1[c] + a2[c];\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "bn_infer") {
    double eps = cast<BatchNormInferenceOp>(l.op).getEps().convertToDouble();
    printPointwiseHead(os, lay);
    os << "      a5[i] = (a0[i] - a3[c]) * (" << lit(1) << " / "
       << mathFn("sqrt", et) << "(a4[c] + " << lit(eps)
       << ")) * a1[c] + a2[c];\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "bn_bwd_reduce") {
    // a0 = dy, a1 = x, a2 = mean, a3 = invstd -> a4 = Σ dy x̂, a5 = Σ dy.
    os << "  const long long c = blockIdx.x;\n"
       << "  D2L_SHARED double sdx[256];\n"
       << "  D2L_SHARED double sd[256];\n"
       << "  const " << T << " mean = a2[c], invstd = a3[c];\n"
       << "  D2L_THREADS {\n    double s = 0, t = 0;\n";
    printChannelLoop(os, lay,
                     "      const " + T +
                         " g = a0[at];\n      s += g;\n      t += g * (a1[at] "
                         "- mean) * invstd;\n");
    os << "    sd[threadIdx.x] = s;\n    sdx[threadIdx.x] = t;\n  }\n";
    printTreeSum(os, "sd,sdx");
    os << "  D2L_THREADS {\n"
       << "    if (threadIdx.x == 0) {\n"
       << "      a4[c] = sdx[0];\n      a5[c] = sd[0];\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "bn_bwd_apply") {
    // a0 = dy, a1 = x, a2 = w, a3 = mean, a4 = invstd, a5 = Σ dy x̂,
    // a6 = Σ dy -> a7 = dx.
    double count = double(lay.count());
    printPointwiseHead(os, lay);
    os << "      const " << T << " xhat = (a1[i] - a3[c]) * a4[c];\n"
       << "      a7[i] = a2[c] * a4[c] / " << lit(count) << " * (" << lit(count)
       << " * a0[i] - a6[c] - xhat * a5[c]);\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "ln_fwd" || f == "ln_bwd_input" || f == "ln_bwd_params") {
    // layer_norm over rows of D (the last dimension), in double: a thread
    // per row (forward, grad_input) or per column (grad_weight, grad_bias).
    RankedTensorType x = l.params[f == "ln_fwd" ? 0 : 1];
    int64_t d = x.getShape().back(), rows = x.getNumElements() / d;
    std::string dd = literal(double(d), Float64Type::get(l.op->getContext()));
    os << "  D2L_THREADS {\n"
       << "    const long long k = (long long)blockIdx.x * 256 + "
          "threadIdx.x;\n";
    if (f == "ln_fwd") {
      // a0 = x, a1 = w, a2 = b -> a3 = y, a4 = mean, a5 = rstd.
      double eps = cast<LayerNormOp>(l.op).getEps().convertToDouble();
      os << "    if (k < " << str(rows) << ") {\n"
         << "      const long long base = k * " << str(d) << ";\n"
         << "      double m = 0, v = 0;\n"
         << "      for (long long j = 0; j < " << str(d) << "; ++j)\n"
         << "        m += a0[base + j];\n"
         << "      m /= " << dd << ";\n"
         << "      for (long long j = 0; j < " << str(d) << "; ++j) {\n"
         << "        const double c = (double)a0[base + j] - m;\n"
         << "        v += c * c;\n      }\n"
         << "      const double r = 1.0 / sqrt(v / " << dd << " + "
         << literal(eps, Float64Type::get(l.op->getContext())) << ");\n"
         << "      for (long long j = 0; j < " << str(d) << "; ++j)\n"
         << "        a3[base + j] = (" << T
         << ")(((double)a0[base + j] - m) * r * (double)a1[j] + "
            "(double)a2[j]);\n"
         << "      a4[k] = (" << T << ")m;\n"
         << "      a5[k] = (" << T << ")r;\n"
         << "    }\n  }\n";
    } else if (f == "ln_bwd_input") {
      // a0 = dy, a1 = x, a2 = w, a3 = mean, a4 = rstd -> a5 = dx.
      os << "    if (k < " << str(rows) << ") {\n"
         << "      const long long base = k * " << str(d) << ";\n"
         << "      const double m = a3[k], r = a4[k];\n"
         << "      double s1 = 0, s2 = 0;\n"
         << "      for (long long j = 0; j < " << str(d) << "; ++j) {\n"
         << "        const double g = (double)a0[base + j] * a2[j];\n"
         << "        s1 += g;\n"
         << "        s2 += g * ((double)a1[base + j] - m) * r;\n      }\n"
         << "      for (long long j = 0; j < " << str(d) << "; ++j) {\n"
         << "        const double g = (double)a0[base + j] * a2[j];\n"
         << "        const double xhat = ((double)a1[base + j] - m) * r;\n"
         << "        a5[base + j] = (" << T << ")(r / " << dd << " * (" << dd
         << " * g - s1 - xhat * s2));\n      }\n"
         << "    }\n  }\n";
    } else {
      // a0 = dy, a1 = x, a2 = mean, a3 = rstd -> a4 = Σ dy x̂, a5 = Σ dy.
      os << "    if (k < " << str(d) << ") {\n"
         << "      double sw = 0, sb = 0;\n"
         << "      for (long long row = 0; row < " << str(rows)
         << "; ++row) {\n"
         << "        const double dy = a0[row * " << str(d) << " + k];\n"
         << "        sw += dy * ((double)a1[row * " << str(d)
         << " + k] - a2[row]) * a3[row];\n"
         << "        sb += dy;\n      }\n"
         << "      a4[k] = (" << T << ")sw;\n"
         << "      a5[k] = (" << T << ")sb;\n"
         << "    }\n  }\n";
    }
    return success();
  }
  if (f == "bn_finalize") {
    // a0 = partial sums [2, tiles, C] (double), a1 = running mean, a2 =
    // running var -> a3 = mean, a4 = invstd, a5, a6 = new running stats.
    auto conv = cast<Conv2dBatchStatsOp>(l.op);
    auto y = cast<RankedTensorType>(conv.getResult().getType());
    Type vt = l.params[1].getElementType();
    std::string V = scalarType(vt);
    int64_t c = y.getDimSize(1), tiles = l.params[0].getDimSize(1);
    double count = double(y.getNumElements() / c);
    double eps = conv.getEps().convertToDouble();
    double m = conv.getMomentum().convertToDouble();
    auto d = [&](double v) {
      return literal(v, Float64Type::get(conv.getContext()));
    };
    os << "  D2L_THREADS {\n"
       << "    const long long c = (long long)blockIdx.x * 256 + threadIdx.x;\n"
       << "    if (c < " << str(c) << ") {\n"
       << "      double s = 0, q = 0;\n"
       << "      for (long long t = 0; t < " << str(tiles) << "; ++t) {\n"
       << "        s += a0[t * " << str(c) << " + c];\n"
       << "        q += a0[" << str(tiles * c) << " + t * " << str(c)
       << " + c];\n"
       << "      }\n"
       << "      const double mean = s / " << d(count) << ";\n"
       << "      double var = q / " << d(count) << " - mean * mean;\n"
       << "      var = var > 0 ? var : 0;\n"
       << "      a3[c] = (" << V << ")mean;\n"
       << "      a4[c] = (" << V << ")(1.0 / sqrt(var + " << d(eps) << "));\n"
       << "      a5[c] = (" << V << ")(" << d(1 - m) << " * (double)a1[c] + "
       << d(m) << " * mean);\n"
       << "      a6[c] = (" << V << ")(" << d(1 - m) << " * (double)a2[c] + "
       << d(m * count / (count - 1)) << " * var);\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "bn_act_bwd") {
    // a0 = da, a1 = x, a2 = w, a3 = b, a4 = mean, a5 = invstd -> a6 = dx,
    // a7 = Σ dz x̂, a8 = Σ dz, with dz = da act'(x̂ w + b) recomputed.
    StringRef act = cast<BatchNormActBackwardOp>(l.op).getActivation();
    double count = double(lay.count());
    std::string dz = "const " + T + " xhat = (a1[at] - mean) * invstd;\n";
    if (act == "none")
      dz += "      const " + T + " dz = a0[at];\n";
    else {
      dz += "      const " + T + " z = xhat * w + b;\n";
      if (act == "relu")
        dz += "      const " + T + " dz = z > " + lit(0) +
              " ? a0[at] : " + lit(0) + ";\n";
      else if (act == "sigmoid")
        dz += "      const " + T + " sg = " + lit(1) + " / (" + lit(1) + " + " +
              mathFn("exp", et) + "(-z));\n      const " + T +
              " dz = a0[at] * sg * (" + lit(1) + " - sg);\n";
      else
        dz += "      const " + T + " th = " + mathFn("tanh", et) +
              "(z);\n      const " + T + " dz = a0[at] * (" + lit(1) +
              " - th * th);\n";
    }
    os << "  const long long c = blockIdx.x;\n"
       << "  D2L_SHARED double sdx[256];\n"
       << "  D2L_SHARED double sd[256];\n"
       << "  const " << T << " mean = a4[c], invstd = a5[c], w = a2[c], b = "
       << "a3[c];\n"
       << "  (void)b;\n"
       << "  D2L_THREADS {\n    double s = 0, t = 0;\n";
    // Pass 1 keeps dz in the output buffer, so the activation's derivative
    // is evaluated once per element; pass 2 turns it into dx in place.
    printChannelLoop(os, lay,
                     "      " + dz +
                         "      a6[at] = dz;\n      s += dz;\n      t += dz * "
                         "xhat;\n");
    os << "    sd[threadIdx.x] = s;\n    sdx[threadIdx.x] = t;\n  }\n";
    printTreeSum(os, "sd,sdx");
    os << "  const " << T << " sumDz = sd[0], sumDzXhat = sdx[0];\n"
       << "  const " << T << " k = w * invstd / " << lit(count) << ";\n"
       << "  D2L_THREADS {\n";
    printChannelLoop(
        os, lay,
        "      const " + T +
            " xhat = (a1[at] - mean) * invstd;\n      a6[at] = k * (" +
            lit(count) + " * a6[at] - sumDz - xhat * sumDzXhat);\n");
    os << "  }\n"
       << "  D2L_THREADS {\n"
       << "    if (threadIdx.x == 0) {\n"
       << "      a7[c] = sumDzXhat;\n      a8[c] = sumDz;\n"
       << "    }\n  }\n";
    return success();
  }
  if (f == "stem_bwd")
    return printStemBackward(os, l);
  return l.op->emitError() << "no normalisation family '" << f << "'";
}
