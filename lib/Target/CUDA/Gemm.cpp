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
//                   pixels, split over grid.z into partial sums (then
//                   split_sum adds them, running any epilogue)
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
  /// Threads along M (the rest of the 256 go along N).
  int64_t threadRows = 16;
  /// Uniform code at kernel scope (may read blockIdx); must define kBegin
  /// and kEnd, the K range of this block.
  std::string prologue;
  /// Expressions of (m, k) and (k, n), valid for in-range indices.
  std::string loadA, loadB;
  /// Whether consecutive threads should walk k (A) / n (B) when loading.
  bool aAlongK = true, bAlongN = true;
  /// Statement storing `v` at (m, n).
  std::string store;
  /// Optional: code before the K loop (after m0 and n0 are known), e.g.
  /// per-block tables in shared memory; ends with a barrier if it writes.
  std::string setup;
  /// Optional: code at the start of each K step (k0 known), e.g. tables of
  /// the step's k indices; ends with a barrier.
  std::string tileSetup;
  /// Optional: per-row statistics of the stored values. The store adds to
  /// `rs` and `rq` (doubles); each block then writes, for each of its rows
  /// m, Σ and Σ² to `statsOut`[(0|1) * statsStride + statsIndex(m)].
  std::string statsOut, statsIndex;
  int64_t statsStride = 0;
};

void printGemm(llvm::raw_ostream &os, const GemmSpec &s, StringRef T) {
  // 256 threads as ty x tx: rows ty + TY i, columns tx + TX j.
  int64_t ty = s.threadRows, tx = 256 / ty;
  int64_t tm = s.bm / ty, tn = s.bn / tx;
  std::string TX = std::to_string(tx), TY = std::to_string(ty);
  if (!s.statsOut.empty())
    os << "  D2L_SHARED double redS[" << s.bm << "][" << 256 / s.threadRows
       << "], redQ[" << s.bm << "][" << 256 / s.threadRows << "];\n";
  os << "  D2L_SHARED " << T << " As[" << s.bk << "][" << s.bm << "];\n"
     << "  D2L_SHARED " << T << " Bs[" << s.bk << "][" << s.bn << "];\n"
     << s.prologue << "  const int m0 = blockIdx.y * " << s.bm
     << ", n0 = blockIdx.x * " << s.bn << ";\n"
     << s.setup << "  D2L_PRIVATE(" << T << ", acc, " << tm * tn << ", 256);\n"
     << "  D2L_THREADS {\n"
     << "    for (int i = 0; i < " << tm * tn << "; ++i)\n"
     << "      D2L_P(acc)[i] = 0;\n  }\n"
     << "  for (long long k0 = kBegin; k0 < kEnd; k0 += " << s.bk << ") {\n"
     << s.tileSetup << "    D2L_THREADS {\n"
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
     << "      const int tx = threadIdx.x % " << TX << ", ty = threadIdx.x / "
     << TX << ";\n"
     << "      for (int kk = 0; kk < " << s.bk << "; ++kk) {\n"
     << "        " << T << " av[" << tm << "], bv[" << tn << "];\n"
     << "        for (int i = 0; i < " << tm << "; ++i)\n"
     << "          av[i] = As[kk][ty + " << TY << " * i];\n"
     << "        for (int j = 0; j < " << tn << "; ++j)\n"
     << "          bv[j] = Bs[kk][tx + " << TX << " * j];\n"
     << "        for (int i = 0; i < " << tm << "; ++i)\n"
     << "          for (int j = 0; j < " << tn << "; ++j)\n"
     << "            D2L_P(acc)[i * " << tn << " + j] += av[i] * bv[j];\n"
     << "      }\n    }\n    D2L_BARRIER;\n  }\n"
     << "  D2L_THREADS {\n"
     << "    const int tx = threadIdx.x % " << TX << ", ty = threadIdx.x / "
     << TX << ";\n"
     << "    for (int i = 0; i < " << tm << "; ++i) {\n";
  bool stats = !s.statsOut.empty();
  if (stats)
    os << "      double rs = 0, rq = 0;\n";
  os << "      for (int j = 0; j < " << tn << "; ++j) {\n"
     << "        const long long m = m0 + ty + " << TY << " * i, n = n0 + tx + "
     << TX << " * j;\n"
     << "        if (m < " << s.m << " && n < " << s.n << ") {\n"
     << "          const " << T << " v = D2L_P(acc)[i * " << tn << " + j];\n"
     << "          " << s.store << "\n"
     << "        }\n      }\n";
  if (stats)
    os << "      redS[ty + " << TY << " * i][tx] = rs;\n"
       << "      redQ[ty + " << TY << " * i][tx] = rq;\n";
  os << "    }\n  }\n";
  if (!stats)
    return;
  // Each row's partial sums over this block's columns.
  os << "  D2L_BARRIER;\n"
     << "  D2L_THREADS {\n"
     << "    if (threadIdx.x < " << s.bm << " && m0 + threadIdx.x < " << s.m
     << ") {\n"
     << "      const long long m = m0 + threadIdx.x;\n"
     << "      double ps = 0, pq = 0;\n"
     << "      for (int t = 0; t < " << TX << "; ++t) {\n"
     << "        ps += redS[threadIdx.x][t];\n"
     << "        pq += redQ[threadIdx.x][t];\n"
     << "      }\n"
     << "      " << s.statsOut << "[" << s.statsIndex << "] = ps;\n"
     << "      " << s.statsOut << "[" << s.statsStride << "LL + "
     << s.statsIndex << "] = pq;\n"
     << "    }\n  }\n";
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
  StringRef family = l.family();
  // conv_fwd_stats writes the output and then the partial statistics.
  bool stats = family == "conv_fwd_stats";
  size_t outIndex = stats ? l.numInputs() : l.params.size() - 1;
  std::string T = l.scalar(outIndex);
  GemmSpec s;
  if (family != "conv_transpose_direct") {
    auto tile = l.arrayAttr("tile");
    s.bm = tile[0];
    s.bn = tile[1];
    s.bk = tile[2];
    s.threadRows = tile.size() > 3 ? tile[3] : 16;
  }
  std::string out = l.paramName(outIndex);
  // An epilogue group: the GEMM is its first op, which reads the group's
  // inputs; the rest of the group runs on each element as it is stored.
  auto fused = dyn_cast<FusedOp>(l.op);
  Operation *root = fused ? &fused.getBlock().front() : l.op;
  auto operand = [&](unsigned k) {
    if (!fused)
      return l.paramName(k);
    return l.paramName(cast<BlockArgument>(root->getOperand(k)).getArgNumber());
  };
  // The store of value `value` at flat output index `index`, after the
  // statements `prefix` that compute what they use.
  auto store = [&](const std::string &prefix, const std::string &index,
                   const std::string &value) -> FailureOr<std::string> {
    if (!fused)
      return "{ " + prefix + out + "[" + index + "] = " + value + "; }";
    std::string text;
    llvm::raw_string_ostream ts(text);
    ts << "{ " << prefix << "const long long fi = " << index << ";\n"
       << "            const " << T << " rootv = " << value << ";\n";
    if (failed(printEpilogueElement(ts, "            ", fused, "fi", "rootv")))
      return failure();
    ts << "          }";
    return text;
  };

  if (family == "gemm") {
    // C = op(A) op(B) (+ bias), batched over grid.z.
    Value a = root->getOperand(0);
    bool ta = false, tb = false, bias = false;
    auto ct = cast<RankedTensorType>(root->getResult(0).getType());
    if (auto lin = dyn_cast<LinearOp>(root)) {
      auto wt = cast<RankedTensorType>(lin.getWeight().getType());
      s.n = wt.getDimSize(0);
      s.k = wt.getDimSize(1);
      s.m = ct.getNumElements() / s.n;
      tb = true; // weight is [out, in]
      bias = bool(lin.getBias());
    } else {
      ta = root->getAttrOfType<BoolAttr>("transpose_lhs").getValue();
      tb = root->getAttrOfType<BoolAttr>("transpose_rhs").getValue();
      int64_t r = ct.getRank();
      s.m = ct.getDimSize(r - 2);
      s.n = ct.getDimSize(r - 1);
      auto at = cast<RankedTensorType>(a.getType());
      s.k = ta ? at.getDimSize(r - 2) : at.getDimSize(r - 1);
    }
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const long long z = blockIdx.z;\n" + "  const " + T +
                 " *A = " + operand(0) + " + z * " + str(s.m * s.k) + ";\n" +
                 "  const " + T + " *B = " + operand(1) + " + z * " +
                 str(s.k * s.n) + ";\n";
    s.loadA =
        ta ? "A[k * " + str(s.m) + " + m]" : "A[m * " + str(s.k) + " + k]";
    s.aAlongK = !ta;
    s.loadB =
        tb ? "B[n * " + str(s.k) + " + k]" : "B[k * " + str(s.n) + " + n]";
    s.bAlongN = !tb;
    auto st = store("", "z * " + str(s.m * s.n) + " + m * " + str(s.n) + " + n",
                    bias ? "v + " + operand(2) + "[n]" : "v");
    if (failed(st))
      return failure();
    s.store = *st;
    printGemm(os, s, T);
    return success();
  }

  // Convolutions: gather the geometry from the op.
  ConvGeometry g{};
  SmallVector<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  auto pair = [&](StringRef name, SmallVector<int64_t, 2> &out) {
    if (auto a = root->getAttrOfType<DenseI64ArrayAttr>(name))
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
  g.groups = root->getAttrOfType<IntegerAttr>("groups").getInt();

  // The convolutions gather through small tables in shared memory: per
  // block, one entry per column of the tile (its pixel); per K step, one
  // entry per k (its channel and kernel tap). A load is then two adds, the
  // bounds checks and one read.
  auto x = cast<RankedTensorType>(root->getOperand(0).getType());
  auto w = cast<RankedTensorType>(root->getOperand(1).getType());
  auto y = cast<RankedTensorType>(root->getResult(0).getType());
  bool wgrad = family == "conv_wgrad";
  // For conv_wgrad, operand 1 is dy and the result is the weight gradient.
  auto dyType = wgrad ? w : y;
  auto wType = wgrad ? y : w;
  g.batch = x.getDimSize(0);
  g.cin = x.getDimSize(1);
  g.h = x.getDimSize(2);
  g.w = x.getDimSize(3);
  g.cout = dyType.getDimSize(1);
  g.oh = dyType.getDimSize(2);
  g.ow = dyType.getDimSize(3);
  g.kh = wType.getDimSize(2);
  g.kw = wType.getDimSize(3);
  if (family.starts_with("conv_transpose")) {
    // Here the "input" is the transposed convolution's input x (or dy of a
    // conv2d_backward_input) and the result its output.
    g.cin = x.getDimSize(1);
    g.cout = y.getDimSize(1);
    g.oh = y.getDimSize(2);
    g.ow = y.getDimSize(3);
    g.kh = w.getDimSize(2);
    g.kw = w.getDimSize(3);
  }
  int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
  int64_t khw = g.kh * g.kw, ohw = g.oh * g.ow, hw = g.h * g.w;
  std::string BK = std::to_string(s.bk), BN = std::to_string(s.bn);

  if (family == "conv_fwd" || stats) {
    bool bias = stats ? l.numInputs() == 3 : root->getNumOperands() == 3;
    s.m = coutG;
    s.n = g.batch * ohw;
    s.k = cinG * khw;
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const int g = blockIdx.z;\n";
    // Columns: output pixel n = (b, oh, ow) -> its window's corner.
    s.setup = "  D2L_SHARED long long colStart[" + BN + "];\n" +
              "  D2L_SHARED int colH[" + BN + "], colW[" + BN + "];\n" +
              "  D2L_THREADS {\n    if (threadIdx.x < " + BN + ") {\n" +
              "      const long long n = n0 + threadIdx.x;\n" +
              "      const long long b = n / " + str(ohw) + ", pr = n % " +
              str(ohw) + ";\n" + "      const int h0 = int(pr / " + str(g.ow) +
              ") * " + std::to_string(g.sh) + " - " + std::to_string(g.ph) +
              ", w0 = int(pr % " + str(g.ow) + ") * " + std::to_string(g.sw) +
              " - " + std::to_string(g.pw) + ";\n" +
              "      colH[threadIdx.x] = h0;\n      colW[threadIdx.x] = w0;\n" +
              "      colStart[threadIdx.x] = (b * " + str(g.cin) + " + g * " +
              str(cinG) + ") * " + str(hw) + " + (long long)h0 * " + str(g.w) +
              " + w0;\n    }\n  }\n  D2L_BARRIER;\n";
    // K steps: k = (ic, kh, kw) -> its offset and tap.
    s.setup += "  D2L_SHARED long long kOff[" + BK + "];\n" +
               "  D2L_SHARED int kDh[" + BK + "], kDw[" + BK + "];\n";
    s.tileSetup = "    D2L_THREADS {\n      if (threadIdx.x < " + BK + ") {\n" +
                  "        const long long k = k0 + threadIdx.x;\n" +
                  "        const int kr = int(k % " + str(khw) + ");\n" +
                  "        kDh[threadIdx.x] = (kr / " + std::to_string(g.kw) +
                  ") * " + std::to_string(g.dh) + ";\n" +
                  "        kDw[threadIdx.x] = (kr % " + std::to_string(g.kw) +
                  ") * " + std::to_string(g.dw) + ";\n" +
                  "        kOff[threadIdx.x] = (k / " + str(khw) + ") * " +
                  str(hw) + " + (long long)kDh[threadIdx.x] * " + str(g.w) +
                  " + kDw[threadIdx.x];\n      }\n    }\n    D2L_BARRIER;\n";
    s.loadA =
        operand(1) + "[(g * " + str(coutG) + " + m) * " + str(s.k) + " + k]";
    s.loadB = "[&]() -> " + T +
              " { const int ih = colH[nn] + kDh[kk], iw = "
              "colW[nn] + kDw[kk]; return (ih >= 0 && ih < " +
              std::to_string(g.h) + " && iw >= 0 && iw < " +
              std::to_string(g.w) + ") ? " + operand(0) +
              "[colStart[nn] + kOff[kk]] : (" + T + ")0; }()";
    std::string prefix = "const long long b = n / " + str(ohw) + ", pr = n % " +
                         str(ohw) + "; const long long oc = g * " + str(coutG) +
                         " + m; ";
    std::string index =
        "(b * " + str(g.cout) + " + oc) * " + str(ohw) + " + pr";
    std::string value = bias ? "v + " + operand(2) + "[oc]" : "v";
    if (stats) {
      // Partial sums [2][gridDim.x][C_out] of the stored outputs.
      s.store = "{ " + prefix + "const " + T + " yv = " + value + "; " + out +
                "[" + index + "] = yv; rs += (double)yv; rq += (double)yv * " +
                "(double)yv; }";
      int64_t tiles = (s.n + s.bn - 1) / s.bn;
      s.statsOut = l.paramName(outIndex + 1);
      s.statsStride = tiles * g.cout;
      s.statsIndex = "(long long)blockIdx.x * " + str(g.cout) + " + g * " +
                     str(coutG) + " + m";
    } else {
      auto st = store(prefix, index, value);
      if (failed(st))
        return failure();
      s.store = *st;
    }
    printGemm(os, s, T);
    return success();
  }

  if (family == "conv_transpose_direct") {
    // A thread per output y[b, oc, oh, ow] = Σ x[b, ic, ih, iw] w[ic, oc_g,
    // kh, kw] over the taps with oh + padding - kh = ih stride: kh runs
    // from (oh + padding) mod stride in steps of the stride (dilation 1).
    bool bias = isa<ConvTranspose2dOp>(root) && root->getNumOperands() == 3;
    int64_t total = g.batch * g.cout * ohw;
    os << "  D2L_THREADS {\n"
       << "    const long long i = (long long)blockIdx.x * 256 + threadIdx.x;\n"
       << "    if (i < " << str(total) << ") {\n"
       << "      const long long b = i / " << str(g.cout * ohw)
       << ", oc = (i / " << str(ohw) << ") % " << str(g.cout) << ", pr = i % "
       << str(ohw) << ";\n"
       << "      const long long gi = oc / " << str(coutG) << ", ocg = oc % "
       << str(coutG) << ";\n"
       << "      const int th = int(pr / " << str(g.ow) << ") + " << g.ph
       << ", tw = int(pr % " << str(g.ow) << ") + " << g.pw << ";\n"
       << "      " << T << " v = (" << T << ")0;\n"
       << "      for (int kh = th % " << g.sh << "; kh < " << g.kh
       << "; kh += " << g.sh << ") {\n"
       << "        const int ih = (th - kh) / " << g.sh << ";\n"
       << "        if (ih < 0 || ih >= " << g.h << ") continue;\n"
       << "        for (int kw = tw % " << g.sw << "; kw < " << g.kw
       << "; kw += " << g.sw << ") {\n"
       << "          const int iw = (tw - kw) / " << g.sw << ";\n"
       << "          if (iw < 0 || iw >= " << g.w << ") continue;\n"
       << "          for (long long ic = 0; ic < " << str(cinG) << "; ++ic)\n"
       << "            v += " << operand(0) << "[((b * " << str(g.cin)
       << " + gi * " << str(cinG) << " + ic) * " << str(hw) << ") + ih * "
       << str(g.w) << " + iw] * " << operand(1) << "[((gi * " << str(cinG)
       << " + ic) * " << str(coutG) << " + ocg) * " << str(khw) << " + kh * "
       << str(g.kw) << " + kw];\n"
       << "        }\n      }\n";
    auto st = store("", "i", bias ? "v + " + operand(2) + "[oc]" : "v");
    if (failed(st))
      return failure();
    os << "      " << *st << "\n    }\n  }\n";
    return success();
  }

  if (family == "conv_transpose") {
    // y[b, oc, oh, ow] = Σ x[b, ic, ih, iw] w[ic, oc_g, kh, kw] where
    // oh = ih stride - padding + kh dilation, i.e. ih = (oh + padding -
    // kh dilation) / stride when that is a whole index.
    bool bias = isa<ConvTranspose2dOp>(root) && root->getNumOperands() == 3;
    s.m = coutG;
    s.n = g.batch * ohw;
    s.k = cinG * khw;
    s.aAlongK = false;
    s.prologue = "  const long long kBegin = 0, kEnd = " + str(s.k) + ";\n" +
                 "  const int g = blockIdx.z;\n";
    s.setup = "  D2L_SHARED long long colBase[" + BN + "];\n" +
              "  D2L_SHARED int colH[" + BN + "], colW[" + BN + "];\n" +
              "  D2L_THREADS {\n    if (threadIdx.x < " + BN + ") {\n" +
              "      const long long n = n0 + threadIdx.x;\n" +
              "      const long long b = n / " + str(ohw) + ", pr = n % " +
              str(ohw) + ";\n" + "      colH[threadIdx.x] = int(pr / " +
              str(g.ow) + ") + " + std::to_string(g.ph) + ";\n" +
              "      colW[threadIdx.x] = int(pr % " + str(g.ow) + ") + " +
              std::to_string(g.pw) + ";\n" +
              "      colBase[threadIdx.x] = (b * " + str(g.cin) + " + g * " +
              str(cinG) + ") * " + str(hw) + ";\n    }\n  }\n  D2L_BARRIER;\n";
    s.setup += "  D2L_SHARED long long kOff[" + BK + "], kW[" + BK + "];\n" +
               "  D2L_SHARED int kDh[" + BK + "], kDw[" + BK + "];\n";
    s.tileSetup = "    D2L_THREADS {\n      if (threadIdx.x < " + BK + ") {\n" +
                  "        const long long k = k0 + threadIdx.x;\n" +
                  "        const long long ic = k / " + str(khw) + ";\n" +
                  "        const int kr = int(k % " + str(khw) + ");\n" +
                  "        kDh[threadIdx.x] = (kr / " + std::to_string(g.kw) +
                  ") * " + std::to_string(g.dh) + ";\n" +
                  "        kDw[threadIdx.x] = (kr % " + std::to_string(g.kw) +
                  ") * " + std::to_string(g.dw) + ";\n" +
                  "        kOff[threadIdx.x] = ic * " + str(hw) + ";\n" +
                  "        kW[threadIdx.x] = ((g * " + str(cinG) + " + ic) * " +
                  str(coutG) + ") * " + str(khw) + " + kr;\n" +
                  "      }\n    }\n    D2L_BARRIER;\n";
    s.loadA = operand(1) + "[kW[kk] + m * " + str(khw) + "]";
    auto coord = [&](const char *num, int64_t stride, int64_t limit,
                     const char *name) {
      std::string n = num;
      if (stride == 1)
        return std::string("const int ") + name + " = " + n + "; const bool " +
               name + "ok = " + name + " >= 0 && " + name + " < " +
               std::to_string(limit) + ";";
      return std::string("const int ") + name + " = " + n + " / " +
             std::to_string(stride) + "; const bool " + name + "ok = " + n +
             " >= 0 && " + n + " % " + std::to_string(stride) + " == 0 && " +
             name + " < " + std::to_string(limit) + ";";
    };
    s.loadB = "[&]() -> " + T + " { " +
              coord("(colH[nn] - kDh[kk])", g.sh, g.h, "ih") + " " +
              coord("(colW[nn] - kDw[kk])", g.sw, g.w, "iw") +
              " return (ihok && iwok) ? " + operand(0) +
              "[colBase[nn] + kOff[kk] + (long long)ih * " + str(g.w) +
              " + iw] : (" + T + ")0; }()";
    auto st =
        store("const long long b = n / " + str(ohw) + ", pr = n % " + str(ohw) +
                  "; const long long oc = g * " + str(coutG) + " + m; ",
              "(b * " + str(g.cout) + " + oc) * " + str(ohw) + " + pr",
              bias ? "v + " + operand(2) + "[oc]" : "v");
    if (failed(st))
      return failure();
    s.store = *st;
    printGemm(os, s, T);
    return success();
  }

  if (family == "conv_wgrad") {
    // dw[oc, ic, kh, kw] = Σ_{b, oh, ow} dy[b, oc, oh, ow] x[b, ic, ih, iw]:
    // K runs over (b, oh, ow), split over grid.z.
    int64_t splits = l.intAttr("splits");
    s.m = coutG;
    s.n = cinG * khw;
    s.k = g.batch * ohw;
    int64_t chunk = (s.k + splits - 1) / splits;
    chunk = (chunk + s.bk - 1) / s.bk * s.bk;
    s.bAlongN = false;
    s.prologue = "  const int g = blockIdx.z % " + str(g.groups) +
                 ", split = blockIdx.z / " + str(g.groups) + ";\n" +
                 "  const long long kBegin = (long long)split * " + str(chunk) +
                 ";\n  const long long kEnd = kBegin + " + str(chunk) + " < " +
                 str(s.k) + " ? kBegin + " + str(chunk) + " : " + str(s.k) +
                 ";\n";
    // Columns: n = (ic, kh, kw) of the weight.
    s.setup =
        "  D2L_SHARED long long nOff[" + BN + "];\n" + "  D2L_SHARED int nDh[" +
        BN + "], nDw[" + BN + "];\n" +
        "  D2L_THREADS {\n    if (threadIdx.x < " + BN + ") {\n" +
        "      const long long n = n0 + threadIdx.x;\n" +
        "      const int kr = int(n % " + str(khw) + ");\n" +
        "      nDh[threadIdx.x] = (kr / " + std::to_string(g.kw) + ") * " +
        std::to_string(g.dh) + ";\n" + "      nDw[threadIdx.x] = (kr % " +
        std::to_string(g.kw) + ") * " + std::to_string(g.dw) + ";\n" +
        "      nOff[threadIdx.x] = (g * " + str(cinG) + " + n / " + str(khw) +
        ") * " + str(hw) + " + (long long)nDh[threadIdx.x] * " + str(g.w) +
        " + nDw[threadIdx.x];\n    }\n  }\n  D2L_BARRIER;\n";
    // K steps: k = (b, oh, ow) -> dy's offset and x's window corner.
    s.setup += "  D2L_SHARED long long kDy[" + BK + "], kX[" + BK + "];\n" +
               "  D2L_SHARED int kH[" + BK + "], kWc[" + BK + "];\n";
    s.tileSetup =
        "    D2L_THREADS {\n      if (threadIdx.x < " + BK + ") {\n" +
        "        const long long k = k0 + threadIdx.x;\n" +
        "        const long long b = k / " + str(ohw) + ", pr = k % " +
        str(ohw) + ";\n" + "        const int h0 = int(pr / " + str(g.ow) +
        ") * " + std::to_string(g.sh) + " - " + std::to_string(g.ph) +
        ", w0 = int(pr % " + str(g.ow) + ") * " + std::to_string(g.sw) + " - " +
        std::to_string(g.pw) + ";\n" + "        kH[threadIdx.x] = h0;\n" +
        "        kWc[threadIdx.x] = w0;\n" + "        kDy[threadIdx.x] = b * " +
        str(g.cout * ohw) + " + pr;\n" + "        kX[threadIdx.x] = b * " +
        str(g.cin * hw) + " + (long long)h0 * " + str(g.w) +
        " + w0;\n      }\n    }\n    D2L_BARRIER;\n";
    s.loadA = operand(1) + "[kDy[kk] + (g * " + str(coutG) + " + m) * " +
              str(ohw) + "]";
    s.loadB = "[&]() -> " + T +
              " { const int ih = kH[kk] + nDh[nn], iw = "
              "kWc[kk] + nDw[nn]; return (ih >= 0 && ih < " +
              std::to_string(g.h) + " && iw >= 0 && iw < " +
              std::to_string(g.w) + ") ? " + operand(0) +
              "[kX[kk] + nOff[nn]] : (" + T + ")0; }()";
    // Split: partial sums into the workspace (an epilogue runs where they
    // are added up). Whole: the gradient, or the epilogue on it.
    std::string index = "(g * " + str(coutG) + " + m) * " + str(s.n) + " + n";
    if (splits > 1) {
      s.store = out + "[(long long)split * " + str(g.cout * s.n) + " + " +
                index + "] = v;";
    } else {
      auto st = store("", index, "v");
      if (failed(st))
        return failure();
      s.store = *st;
    }
    printGemm(os, s, T);
    return success();
  }
  return l.op->emitError() << "no GEMM family '" << family << "'";
}
