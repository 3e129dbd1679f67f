//===- Pool.cpp - pooling kernels -----------------------------------------===//
//
// Forward: one thread per output element, looping over its window. Backward:
// one thread per input element, gathering from the windows that cover it
// (no atomics, so results are deterministic); max pooling recomputes each
// covering window's first maximum, as PyTorch's tie rule.
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  bool countIncludePad = true;
};

Window windowOf(Operation *op) {
  Window w;
  auto k = op->getAttrOfType<DenseI64ArrayAttr>("kernel_size").asArrayRef();
  w.kh = k[0];
  w.kw = k[1];
  if (auto s = op->getAttrOfType<DenseI64ArrayAttr>("stride")) {
    w.sh = s[0];
    w.sw = s[1];
  } else {
    w.sh = w.kh;
    w.sw = w.kw;
  }
  if (auto p = op->getAttrOfType<DenseI64ArrayAttr>("padding")) {
    w.ph = p[0];
    w.pw = p[1];
  }
  if (auto c = op->getAttrOfType<BoolAttr>("count_include_pad"))
    w.countIncludePad = c.getValue();
  return w;
}

/// Prints the scan of window (oh, ow) of plane `plane` of `src` for its
/// first maximum: sets `best` (a flat offset in the plane, -1 if empty).
void printArgmax(llvm::raw_ostream &os, StringRef indent, const Window &w,
                 int64_t h, int64_t wd, StringRef src, StringRef plane,
                 StringRef oh, StringRef ow, StringRef T) {
  os << indent << "long long best = -1;\n"
     << indent << T << " bestValue = 0;\n"
     << indent << "const long long h0 = " << oh << " * " << str(w.sh) << " - "
     << str(w.ph) << ", w0 = " << ow << " * " << str(w.sw) << " - " << str(w.pw)
     << ";\n"
     << indent << "for (long long a = h0 < 0 ? 0 : h0; a < h0 + " << str(w.kh)
     << " && a < " << str(h) << "; ++a)\n"
     << indent << "  for (long long c = w0 < 0 ? 0 : w0; c < w0 + " << str(w.kw)
     << " && c < " << str(wd) << "; ++c) {\n"
     << indent << "    const " << T << " v = " << src << "[" << plane
     << " + a * " << str(wd) << " + c];\n"
     << indent << "    if (" << firstMaxCondition("v") << ") {\n"
     << indent << "      best = a * " << str(wd) << " + c;\n"
     << indent << "      bestValue = v;\n"
     << indent << "    }\n"
     << indent << "  }\n";
}

} // namespace

LogicalResult mlir::d2l::cuda::printPool(llvm::raw_ostream &os,
                                         const Launch &l) {
  Operation *op = l.op;
  std::string T = l.scalar(l.params.size() - 1);
  std::string out = l.paramName(l.params.size() - 1);
  bool backward = l.family() == "pool_backward";
  // The pooled (small) tensor and the input (large) one.
  RankedTensorType small, large;
  if (backward) {
    small = l.params[0];
    large = l.params.back();
  } else {
    small = l.params.back();
    large = l.params[0];
  }
  int64_t h = large.getDimSize(2), wd = large.getDimSize(3);
  int64_t oh = small.getDimSize(2), ow = small.getDimSize(3);
  int64_t n = l.params.back().getNumElements();
  os << "  D2L_THREADS {\n"
     << "    const long long i = (long long)blockIdx.x * 256 + threadIdx.x;\n"
     << "    if (i < " << str(n) << ") {\n";
  std::string ind = "      ";

  if (isa<AdaptiveAvgPool2dOp, AdaptiveAvgPool2dBackwardOp>(op)) {
    if (!backward) {
      os << ind << "const long long p = i / " << str(oh * ow) << ", r = i % "
         << str(oh * ow) << ", y = r / " << str(ow) << ", x = r % " << str(ow)
         << ";\n"
         << ind << "const long long hs = (y * " << str(h) << ") / " << str(oh)
         << ", he = ((y + 1) * " << str(h) << " + " << str(oh - 1) << ") / "
         << str(oh) << ";\n"
         << ind << "const long long ws = (x * " << str(wd) << ") / " << str(ow)
         << ", we = ((x + 1) * " << str(wd) << " + " << str(ow - 1) << ") / "
         << str(ow) << ";\n"
         << ind << T << " s = 0;\n"
         << ind << "for (long long a = hs; a < he; ++a)\n"
         << ind << "  for (long long c = ws; c < we; ++c)\n"
         << ind << "    s += a0[p * " << str(h * wd) << " + a * " << str(wd)
         << " + c];\n"
         << ind << out << "[i] = s / (" << T << ")((he - hs) * (we - ws));\n";
    } else {
      os << ind << "const long long p = i / " << str(h * wd) << ", r = i % "
         << str(h * wd) << ", a = r / " << str(wd) << ", c = r % " << str(wd)
         << ";\n"
         << ind << T << " s = 0;\n"
         << ind << "for (long long y = 0; y < " << str(oh) << "; ++y) {\n"
         << ind << "  const long long hs = (y * " << str(h) << ") / " << str(oh)
         << ", he = ((y + 1) * " << str(h) << " + " << str(oh - 1) << ") / "
         << str(oh) << ";\n"
         << ind << "  if (a < hs || a >= he) continue;\n"
         << ind << "  for (long long x = 0; x < " << str(ow) << "; ++x) {\n"
         << ind << "    const long long ws = (x * " << str(wd) << ") / "
         << str(ow) << ", we = ((x + 1) * " << str(wd) << " + " << str(ow - 1)
         << ") / " << str(ow) << ";\n"
         << ind << "    if (c < ws || c >= we) continue;\n"
         << ind << "    s += a0[p * " << str(oh * ow) << " + y * " << str(ow)
         << " + x] / (" << T << ")((he - hs) * (we - ws));\n"
         << ind << "  }\n"
         << ind << "}\n"
         << ind << out << "[i] = s;\n";
    }
    os << "    }\n  }\n";
    return success();
  }

  Window w = windowOf(op);
  if (!backward) {
    os << ind << "const long long p = i / " << str(oh * ow) << ", r = i % "
       << str(oh * ow) << ", y = r / " << str(ow) << ", x = r % " << str(ow)
       << ";\n";
    if (isa<MaxPool2dOp, MaxPool2dSelectOp>(op)) {
      printArgmax(os, ind, w, h, wd, "a0", "p * " + str(h * wd), "y", "x", T);
      if (isa<MaxPool2dOp>(op))
        os << ind << out << "[i] = best < 0 ? -D2L_INF : bestValue;\n";
      else
        os << ind << out << "[i] = best < 0 ? (" << T << ")0 : a1[p * "
           << str(h * wd) << " + best];\n";
    } else {
      // Average: PyTorch's divisor rule.
      os << ind << "long long hs = y * " << str(w.sh) << " - " << str(w.ph)
         << ", ws = x * " << str(w.sw) << " - " << str(w.pw) << ";\n"
         << ind << "long long he = hs + " << str(w.kh) << " < " << str(h + w.ph)
         << " ? hs + " << str(w.kh) << " : " << str(h + w.ph) << ";\n"
         << ind << "long long we = ws + " << str(w.kw) << " < "
         << str(wd + w.pw) << " ? ws + " << str(w.kw) << " : " << str(wd + w.pw)
         << ";\n"
         << ind << "const long long poolSize = (he - hs) * (we - ws);\n"
         << ind << "hs = hs < 0 ? 0 : hs; ws = ws < 0 ? 0 : ws;\n"
         << ind << "he = he > " << str(h) << " ? " << str(h)
         << " : he; we = we > " << str(wd) << " ? " << str(wd) << " : we;\n"
         << ind << T << " s = 0;\n"
         << ind << "for (long long a = hs; a < he; ++a)\n"
         << ind << "  for (long long c = ws; c < we; ++c)\n"
         << ind << "    s += a0[p * " << str(h * wd) << " + a * " << str(wd)
         << " + c];\n"
         << ind << out << "[i] = s / (" << T << ")("
         << (w.countIncludePad ? "poolSize" : "(he - hs) * (we - ws)")
         << ");\n";
    }
    os << "    }\n  }\n";
    return success();
  }

  // Backward: input element (a, c) of plane p gathers from the windows
  // [y0, y1] x [x0, x1] that contain it.
  os << ind << "const long long p = i / " << str(h * wd) << ", r = i % "
     << str(h * wd) << ", a = r / " << str(wd) << ", c = r % " << str(wd)
     << ";\n"
     << ind << "long long y0 = a + " << str(w.ph) << " - " << str(w.kh - 1)
     << "; y0 = y0 < 0 ? 0 : (y0 + " << str(w.sh - 1) << ") / " << str(w.sh)
     << ";\n"
     << ind << "long long y1 = (a + " << str(w.ph) << ") / " << str(w.sh)
     << "; y1 = y1 > " << str(oh - 1) << " ? " << str(oh - 1) << " : y1;\n"
     << ind << "long long x0 = c + " << str(w.pw) << " - " << str(w.kw - 1)
     << "; x0 = x0 < 0 ? 0 : (x0 + " << str(w.sw - 1) << ") / " << str(w.sw)
     << ";\n"
     << ind << "long long x1 = (c + " << str(w.pw) << ") / " << str(w.sw)
     << "; x1 = x1 > " << str(ow - 1) << " ? " << str(ow - 1) << " : x1;\n"
     << ind << T << " s = 0;\n"
     << ind << "for (long long y = y0; y <= y1; ++y)\n"
     << ind << "  for (long long x = x0; x <= x1; ++x) {\n";
  std::string ind2 = ind + "    ";
  if (isa<MaxPool2dBackwardOp>(op)) {
    printArgmax(os, ind2, w, h, wd, "a1", "p * " + str(h * wd), "y", "x", T);
    os << ind2 << "if (best == r)\n"
       << ind2 << "  s += a0[p * " << str(oh * ow) << " + y * " << str(ow)
       << " + x];\n";
  } else {
    os << ind2 << "long long hs = y * " << str(w.sh) << " - " << str(w.ph)
       << ", ws = x * " << str(w.sw) << " - " << str(w.pw) << ";\n"
       << ind2 << "long long he = hs + " << str(w.kh) << " < " << str(h + w.ph)
       << " ? hs + " << str(w.kh) << " : " << str(h + w.ph) << ";\n"
       << ind2 << "long long we = ws + " << str(w.kw) << " < " << str(wd + w.pw)
       << " ? ws + " << str(w.kw) << " : " << str(wd + w.pw) << ";\n"
       << ind2 << "const long long poolSize = (he - hs) * (we - ws);\n"
       << ind2 << "hs = hs < 0 ? 0 : hs; ws = ws < 0 ? 0 : ws;\n"
       << ind2 << "he = he > " << str(h) << " ? " << str(h)
       << " : he; we = we > " << str(wd) << " ? " << str(wd) << " : we;\n"
       << ind2 << "s += a0[p * " << str(oh * ow) << " + y * " << str(ow)
       << " + x] / (" << T << ")("
       << (w.countIncludePad ? "poolSize" : "(he - hs) * (we - ws)") << ");\n";
  }
  os << ind << "  }\n" << ind << out << "[i] = s;\n    }\n  }\n";
  return success();
}
