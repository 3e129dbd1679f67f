//===- Gemm.cpp - tiled GEMM and convolution as implicit GEMM -------------===//
//
// One template: C[M, N] = A[M, K] B[K, N] with BM x BN tiles of C per block,
// BK-deep slices of A and B staged in shared memory, and 16 x 16 threads
// each accumulating a (BM/16) x (BN/16) register tile (rows ty + 16 i,
// columns tx + 16 j, so stores are coalesced). The families differ only in
// how they load A and B and store C:
//
//   gemm            matmul, batch_matmul, linear (+ bias)
//   conv_fwd        conv2d: A = weight [C_out/g, C_in/g kH kW], B = the
//                   input gathered im2col-style on the fly (implicit GEMM)
//   conv_transpose  conv_transpose2d and conv2d_backward_input: B gathers
//                   the input where (o + padding - k dilation) / stride is
//                   a whole index
//   conv_wgrad      conv2d_backward_filter: K runs over batch and output
//                   pixels, split over grid.z into partial sums
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {

struct GemmSpec {
  int64_t m = 0, n = 0, k = 0;
  int64_t bm = 64, bn = 64, bk = 16;
  /// Uniform code at kernel scope (may read blockIdx); must define kBegin
  /// and kEnd, the K range of this block.
  std::string prologue;
  /// Expressions of (m, k) and (k, n), valid for in-range indices.
  std::string loadA, loadB;
  /// Whether consecutive threads should walk k (A) / n (B) when loading.
  bool aAlongK = true, bAlongN = true;
  /// Statement storing `v` at (m, n).
  std::string store;
};

void printGemm(llvm::raw_ostream &os, const GemmSpec &s, StringRef T) {
  int64_t tm = s.bm / 16, tn = s.bn / 16;
  os << "  D2L_SHARED " << T << " As[" << s.bk << "][" << s.bm << "];\n"
     << "  D2L_SHARED " << T << " Bs[" << s.bk << "][" << s.bn << "];\n"
     << s.prologue << "  const int m0 = blockIdx.y * " << s.bm
     << ", n0 = blockIdx.x * " << s.bn << ";\n"
     << "  D2L_PRIVATE(" << T << ", acc, " << tm * tn << ", 256);\n"
     << "  D2L_THREADS {\n"
     << "    for (int i = 0; i < " << tm * tn << "; ++i)\n"
     << "      D2L_P(acc)[i] = 0;\n  }\n"
     << "  for (long long k0 = kBegin; k0 < kEnd; k0 += " << s.bk << ") {\n"
     << "    D2L_THREADS {\n"
     << "      for (int e = threadIdx.x; e < " << s.bm * s.bk
     << "; e += 256) {\n";
  if (s.aAlongK)
    os << "        const int mm = e / " << s.bk << ", kk = e % " << s.bk
       << ";\n";
  else
    os << "        const int kk = e / " << s.bm << ", mm = e % " << s.bm
       << ";\n";
  os << "        const long long m = m0 + mm, k = k0 + kk;\n"
     << "        As[kk][mm] = (m < " << s.m << " && k < kEnd) ? (" << T << ")("
     << s.loadA << ") : (" << T << ")0;\n"
     << "      }\n"
     << "      for (int e = threadIdx.x; e < " << s.bk * s.bn
     << "; e += 256) {\n";
  if (s.bAlongN)
    os << "        const int kk = e / " << s.bn << ", nn = e % " << s.bn
       << ";\n";
  else
    os << "        const int nn = e / " << s.bk << ", kk = e % " << s.bk
       << ";\n";
  os << "        const long long n = n0 + nn, k = k0 + kk;\n"
     << "        Bs[kk][nn] = (n < " << s.n << " && k < kEnd) ? (" << T << ")("
     << s.loadB << ") : (" << T << ")0;\n"
     << "      }\n    }\n    D2L_BARRIER;\n"
     << "    D2L_THREADS {\n"
     << "      const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;\n"
     << "      for (int kk = 0; kk < " << s.bk << "; ++kk) {\n"
     << "        " << T << " av[" << tm << "], bv[" << tn << "];\n"
     << "        for (int i = 0; i < " << tm << "; ++i)\n"
     << "          av[i] = As[kk][ty + 16 * i];\n"
     << "        for (int j = 0; j < " << tn << "; ++j)\n"
     << "          bv[j] = Bs[kk][tx + 16 * j];\n"
     << "        for (int i = 0; i < " << tm << "; ++i)\n"
     << "          for (int j = 0; j < " << tn << "; ++j)\n"
     << "            D2L_P(acc)[i * " << tn << " + j] += av[i] * bv[j];\n"
     << "      }\n    }\n    D2L_BARRIER;\n  }\n"
     << "  D2L_THREADS {\n"
     << "    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;\n"
     << "    for (int i = 0; i < " << tm << "; ++i)\n"
     << "      for (int j = 0; j < " << tn << "; ++j) {\n"
     << "        const long long m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;\n"
     << "        if (m < " << s.m << " && n < " << s.n << ") {\n"
     << "          const " << T << " v = D2L_P(acc)[i * " << tn << " + j];\n"
     << "          " << s.store << "\n"
     << "        }\n      }\n  }\n";
}

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

/// The static parameters of a 2-D convolution.
struct ConvGeometry {
  int64_t batch, cin, h, w, cout, oh, ow, kh, kw;
  int64_t sh, sw, ph, pw, dh, dw, groups;
};

} // namespace

LogicalResult mlir::d2l::cuda::printGemmFamily(llvm::raw_ostream &os,
                                               const Launch &l) {
  std::string T = l.scalar(l.params.size() - 1);
  auto tile = l.arrayAttr("tile");
  GemmSpec s;
  s.bm = tile[0];
  s.bn = tile[1];
  s.bk = tile[2];
  std::string out = l.paramName(l.params.size() - 1);
  StringRef family = l.family();

  if (family == "gemm") {
    // C = op(A) op(B) (+ bias), batched over grid.z.
    Value a = l.op->getOperand(0), b = l.op->getOperand(1);
    bool ta = false, tb = false, bias = false;
    int64_t batch = 1;
    auto ct = cast<RankedTensorType>(l.op->getResult(0).getType());
    if (auto lin = dyn_cast<LinearOp>(l.op)) {
      auto wt = cast<RankedTensorType>(lin.getWeight().getType());
      s.n = wt.getDimSize(0);
      s.k = wt.getDimSize(1);
      s.m = ct.getNumElements() / s.n;
      tb = true; // weight is [out, in]
      bias = bool(lin.getBias());
    } else {
      ta = l.op->getAttrOfType<BoolAttr>("transpose_lhs").getValue();
      tb = l.op->getAttrOfType<BoolAttr>("transpose_rhs").getValue();
      int64_t r = ct.getRank();
      s.m = ct.getDimSize(r - 2);
      s.n = ct.getDimSize(r - 1);
      auto at = cast<RankedTensorType>(a.getType());
      s.k = ta ? at.getDimSize(r - 2) : at.getDimSize(r - 1);
      batch = r == 3 ? ct.getDimSize(0) : 1;
    }
    (void)b;
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const long long z = blockIdx.z;\n" + "  const " + T +
                 " *A = a0 + z * " + str(s.m * s.k) + ";\n" + "  const " + T +
                 " *B = a1 + z * " + str(s.k * s.n) + ";\n" + "  " + T +
                 " *C = " + out + " + z * " + str(s.m * s.n) + ";\n";
    (void)batch;
    s.loadA =
        ta ? "A[k * " + str(s.m) + " + m]" : "A[m * " + str(s.k) + " + k]";
    s.aAlongK = !ta;
    s.loadB =
        tb ? "B[n * " + str(s.k) + " + k]" : "B[k * " + str(s.n) + " + n]";
    s.bAlongN = !tb;
    s.store = std::string("C[m * ") + str(s.n) + " + n] = v" +
              (bias ? " + a2[n]" : "") + ";";
    printGemm(os, s, T);
    return success();
  }

  // Convolutions: gather the geometry from the op.
  ConvGeometry g{};
  SmallVector<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  auto pair = [&](StringRef name, SmallVector<int64_t, 2> &out) {
    if (auto a = l.op->getAttrOfType<DenseI64ArrayAttr>(name))
      out.assign(a.asArrayRef().begin(), a.asArrayRef().end());
  };
  pair("stride", stride);
  pair("padding", padding);
  pair("dilation", dilation);
  g.sh = stride[0];
  g.sw = stride[1];
  g.ph = padding[0];
  g.pw = padding[1];
  g.dh = dilation[0];
  g.dw = dilation[1];
  g.groups = l.op->getAttrOfType<IntegerAttr>("groups").getInt();

  if (family == "conv_fwd") {
    auto x = cast<RankedTensorType>(l.op->getOperand(0).getType());
    auto w = cast<RankedTensorType>(l.op->getOperand(1).getType());
    auto y = cast<RankedTensorType>(l.op->getResult(0).getType());
    g.batch = x.getDimSize(0);
    g.cin = x.getDimSize(1);
    g.h = x.getDimSize(2);
    g.w = x.getDimSize(3);
    g.cout = y.getDimSize(1);
    g.oh = y.getDimSize(2);
    g.ow = y.getDimSize(3);
    g.kh = w.getDimSize(2);
    g.kw = w.getDimSize(3);
    int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
    bool bias = l.op->getNumOperands() == 3;
    s.m = coutG;
    s.n = g.batch * g.oh * g.ow;
    s.k = cinG * g.kh * g.kw;
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const int g = blockIdx.z;\n";
    s.loadA = "a1[(g * " + str(coutG) + " + m) * " + str(s.k) + " + k]";
    s.loadB = "[&]() -> " + T + " { const long long ic = k / " +
              str(g.kh * g.kw) + ", kr = k % " + str(g.kh * g.kw) +
              "; const long long b = n / " + str(g.oh * g.ow) + ", pr = n % " +
              str(g.oh * g.ow) + "; const long long ih = (pr / " + str(g.ow) +
              ") * " + str(g.sh) + " - " + str(g.ph) + " + (kr / " + str(g.kw) +
              ") * " + str(g.dh) + "; const long long iw = (pr % " + str(g.ow) +
              ") * " + str(g.sw) + " - " + str(g.pw) + " + (kr % " + str(g.kw) +
              ") * " + str(g.dw) + "; return (ih >= 0 && ih < " + str(g.h) +
              " && iw >= 0 && iw < " + str(g.w) + ") ? a0[((b * " + str(g.cin) +
              " + g * " + str(cinG) + " + ic) * " + str(g.h) + " + ih) * " +
              str(g.w) + " + iw] : (" + T + ")0; }()";
    s.store = "{ const long long b = n / " + str(g.oh * g.ow) + ", pr = n % " +
              str(g.oh * g.ow) + "; const long long oc = g * " + str(coutG) +
              " + m; " + out + "[(b * " + str(g.cout) + " + oc) * " +
              str(g.oh * g.ow) + " + pr] = v" + (bias ? " + a2[oc]" : "") +
              "; }";
    printGemm(os, s, T);
    return success();
  }

  if (family == "conv_transpose") {
    // y[b, oc, oh, ow] = Σ x[b, ic, ih, iw] w[ic, oc_g, kh, kw] where
    // oh = ih stride - padding + kh dilation.
    auto x = cast<RankedTensorType>(l.op->getOperand(0).getType());
    auto w = cast<RankedTensorType>(l.op->getOperand(1).getType());
    auto y = cast<RankedTensorType>(l.op->getResult(0).getType());
    g.batch = x.getDimSize(0);
    g.cin = x.getDimSize(1);
    g.h = x.getDimSize(2);
    g.w = x.getDimSize(3);
    g.cout = y.getDimSize(1);
    g.oh = y.getDimSize(2);
    g.ow = y.getDimSize(3);
    g.kh = w.getDimSize(2);
    g.kw = w.getDimSize(3);
    int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
    bool bias = isa<ConvTranspose2dOp>(l.op) && l.op->getNumOperands() == 3;
    s.m = coutG;
    s.n = g.batch * g.oh * g.ow;
    s.k = cinG * g.kh * g.kw;
    s.aAlongK = false;
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const int g = blockIdx.z;\n";
    s.loadA = "a1[((g * " + str(cinG) + " + k / " + str(g.kh * g.kw) + ") * " +
              str(coutG) + " + m) * " + str(g.kh * g.kw) + " + k % " +
              str(g.kh * g.kw) + "]";
    auto divisible = [&](StringRef num, int64_t stride, int64_t limit,
                         StringRef out) {
      std::string c = "const long long " + out.str() + " = " + num.str() +
                      (stride == 1 ? "" : " / " + str(stride)) + "; ";
      std::string cond =
          "(" + num.str() + " >= 0" +
          (stride == 1 ? std::string()
                       : " && " + num.str() + " % " + str(stride) + " == 0") +
          " && " + out.str() + " < " + str(limit) + ")";
      return std::make_pair(c, cond);
    };
    auto [hDecl, hOk] = divisible("nh", g.sh, g.h, "ih");
    auto [wDecl, wOk] = divisible("nw", g.sw, g.w, "iw");
    s.loadB = "[&]() -> " + T + " { const long long ic = k / " +
              str(g.kh * g.kw) + ", kr = k % " + str(g.kh * g.kw) +
              "; const long long b = n / " + str(g.oh * g.ow) + ", pr = n % " +
              str(g.oh * g.ow) + "; const long long nh = (pr / " + str(g.ow) +
              ") + " + str(g.ph) + " - (kr / " + str(g.kw) + ") * " +
              str(g.dh) + "; const long long nw = (pr % " + str(g.ow) + ") + " +
              str(g.pw) + " - (kr % " + str(g.kw) + ") * " + str(g.dw) + "; " +
              hDecl + wDecl + "return (" + hOk + " && " + wOk +
              ") ? a0[((b * " + str(g.cin) + " + g * " + str(cinG) +
              " + ic) * " + str(g.h) + " + ih) * " + str(g.w) + " + iw] : (" +
              T + ")0; }()";
    s.store = "{ const long long b = n / " + str(g.oh * g.ow) + ", pr = n % " +
              str(g.oh * g.ow) + "; const long long oc = g * " + str(coutG) +
              " + m; " + out + "[(b * " + str(g.cout) + " + oc) * " +
              str(g.oh * g.ow) + " + pr] = v" + (bias ? " + a2[oc]" : "") +
              "; }";
    printGemm(os, s, T);
    return success();
  }

  if (family == "conv_wgrad") {
    // dw[oc, ic, kh, kw] = Σ_{b, oh, ow} dy[b, oc, oh, ow] x[b, ic, ih, iw].
    auto x = cast<RankedTensorType>(l.op->getOperand(0).getType());
    auto dy = cast<RankedTensorType>(l.op->getOperand(1).getType());
    auto w = cast<RankedTensorType>(l.op->getResult(0).getType());
    g.batch = x.getDimSize(0);
    g.cin = x.getDimSize(1);
    g.h = x.getDimSize(2);
    g.w = x.getDimSize(3);
    g.cout = dy.getDimSize(1);
    g.oh = dy.getDimSize(2);
    g.ow = dy.getDimSize(3);
    g.kh = w.getDimSize(2);
    g.kw = w.getDimSize(3);
    int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
    int64_t splits = l.intAttr("splits");
    s.m = coutG;
    s.n = cinG * g.kh * g.kw;
    s.k = g.batch * g.oh * g.ow;
    int64_t chunk = (s.k + splits - 1) / splits;
    chunk = (chunk + s.bk - 1) / s.bk * s.bk;
    s.bAlongN = false;
    s.prologue = "  const int g = blockIdx.z % " + str(g.groups) +
                 ", split = blockIdx.z / " + str(g.groups) + ";\n" +
                 "  const long long kBegin = (long long)split * " + str(chunk) +
                 ";\n  const long long kEnd = kBegin + " + str(chunk) + " < " +
                 str(s.k) + " ? kBegin + " + str(chunk) + " : " + str(s.k) +
                 ";\n";
    s.loadA = "a1[((k / " + str(g.oh * g.ow) + ") * " + str(g.cout) +
              " + g * " + str(coutG) + " + m) * " + str(g.oh * g.ow) +
              " + k % " + str(g.oh * g.ow) + "]";
    s.loadB = "[&]() -> " + T + " { const long long b = k / " +
              str(g.oh * g.ow) + ", pr = k % " + str(g.oh * g.ow) +
              "; const long long ic = n / " + str(g.kh * g.kw) + ", kr = n % " +
              str(g.kh * g.kw) + "; const long long ih = (pr / " + str(g.ow) +
              ") * " + str(g.sh) + " - " + str(g.ph) + " + (kr / " + str(g.kw) +
              ") * " + str(g.dh) + "; const long long iw = (pr % " + str(g.ow) +
              ") * " + str(g.sw) + " - " + str(g.pw) + " + (kr % " + str(g.kw) +
              ") * " + str(g.dw) + "; return (ih >= 0 && ih < " + str(g.h) +
              " && iw >= 0 && iw < " + str(g.w) + ") ? a0[((b * " + str(g.cin) +
              " + g * " + str(cinG) + " + ic) * " + str(g.h) + " + ih) * " +
              str(g.w) + " + iw] : (" + T + ")0; }()";
    s.store = out + "[((long long)split * " + str(g.cout) + " + g * " +
              str(coutG) + " + m) * " + str(s.n) + " + n] = v;";
    printGemm(os, s, T);
    return success();
  }
  return l.op->emitError() << "no GEMM family '" << family << "'";
}
