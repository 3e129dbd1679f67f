//===- Reduce.cpp - reductions, softmax and cross-entropy -----------------===//
//
// Reductions run a thread per output (short reductions) or a block per
// output with a tree sum (long ones), as the schedule's `strategy` says.
// Softmax-like ops and cross-entropy run a thread per row, subtracting the
// row maximum before exponentiating.
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

/// Prints `var` = the offset of reduced element `r` (flat over the reduced
/// dims) or of kept element `o` (flat over the kept dims).
void printSubOffset(llvm::raw_ostream &os, StringRef indent, StringRef var,
                    StringRef index, ArrayRef<int64_t> shape,
                    ArrayRef<bool> select) {
  auto strides = stridesOf(shape);
  if (llvm::none_of(select, [](bool b) { return b; })) {
    os << indent << "const long long " << var << " = 0;\n";
    return;
  }
  os << indent << "long long " << var << " = 0;\n"
     << indent << "{\n"
     << indent << "  long long q = " << index << ";\n";
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    if (!select[d])
      continue;
    os << indent << "  " << var << " += (q % " << str(shape[d]) << ") * "
       << str(strides[d]) << ";\n"
       << indent << "  q /= " << str(shape[d]) << ";\n";
  }
  os << indent << "}\n";
}

/// Row geometry of a softmax over `dim`: outer x len x inner.
struct Rows {
  int64_t outer = 1, len = 1, inner = 1;
};
Rows rowsOf(RankedTensorType t, int64_t dim) {
  Rows r;
  if (dim < 0)
    dim += t.getRank();
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (d < dim)
      r.outer *= t.getDimSize(d);
    else if (d == dim)
      r.len = t.getDimSize(d);
    else
      r.inner *= t.getDimSize(d);
  }
  return r;
}

void printRowHead(llvm::raw_ostream &os, const Rows &r) {
  os << "  D2L_THREADS {\n"
     << "    const long long row = (long long)blockIdx.x * 256 + threadIdx.x;\n"
     << "    if (row < " << str(r.outer * r.inner) << ") {\n"
     << "      const long long base = (row / " << str(r.inner) << ") * "
     << str(r.len * r.inner) << " + row % " << str(r.inner) << ";\n";
}

/// Prints mx and sum (of exp(x - mx)) over a row of `src`.
void printLogSumExp(llvm::raw_ostream &os, const Rows &r, StringRef src,
                    Type et) {
  std::string T = scalarType(et);
  os << "      " << T << " mx = -D2L_INF;\n"
     << "      for (long long k = 0; k < " << str(r.len) << "; ++k) {\n"
     << "        const " << T << " v = " << src << "[base + k * "
     << str(r.inner) << "];\n"
     << "        mx = v > mx ? v : mx;\n      }\n"
     << "      " << T << " sum = 0;\n"
     << "      for (long long k = 0; k < " << str(r.len) << "; ++k)\n"
     << "        sum += " << mathFn("exp", et) << "(" << src << "[base + k * "
     << str(r.inner) << "] - mx);\n";
}

} // namespace

LogicalResult mlir::d2l::cuda::printReduce(llvm::raw_ostream &os,
                                           const Launch &l) {
  RankedTensorType in = l.params[0];
  Type et = in.getElementType();
  std::string T = scalarType(et);
  SmallVector<int64_t> shape(in.getShape());
  int64_t rank = int64_t(shape.size());
  SmallVector<bool> reduced(rank, true);
  bool mean = true;
  if (auto sum = dyn_cast<SumOp>(l.op)) {
    mean = false;
    if (!sum.getDims().empty()) {
      reduced.assign(rank, false);
      for (int64_t d : sum.getDims())
        reduced[d < 0 ? d + rank : d] = true;
    }
  } else if (auto m = dyn_cast<MeanOp>(l.op)) {
    if (!m.getDims().empty()) {
      reduced.assign(rank, false);
      for (int64_t d : m.getDims())
        reduced[d < 0 ? d + rank : d] = true;
    }
  }
  SmallVector<bool> kept(rank);
  int64_t count = 1, outputs = 1;
  for (int64_t d = 0; d < rank; ++d) {
    kept[d] = !reduced[d];
    (reduced[d] ? count : outputs) *= shape[d];
  }
  std::string finish = mean ? " / " + literal(double(count), et) : "";
  if (cast<StringAttr>(l.attrs.get("strategy")).getValue() == "thread") {
    os << "  D2L_THREADS {\n"
       << "    const long long o = (long long)blockIdx.x * 256 + threadIdx.x;\n"
       << "    if (o < " << str(outputs) << ") {\n";
    printSubOffset(os, "      ", "base", "o", shape, kept);
    os << "      " << T << " s = 0;\n"
       << "      for (long long r = 0; r < " << str(count) << "; ++r) {\n";
    printSubOffset(os, "        ", "off", "r", shape, reduced);
    os << "        s += a0[base + off];\n      }\n"
       << "      a1[o] = s" << finish << ";\n    }\n  }\n";
    return success();
  }
  os << "  const long long o = blockIdx.x;\n"
     << "  D2L_SHARED " << T << " red[256];\n"
     << "  D2L_THREADS {\n";
  printSubOffset(os, "    ", "base", "o", shape, kept);
  os << "    " << T << " s = 0;\n"
     << "    for (long long r = threadIdx.x; r < " << str(count)
     << "; r += 256) {\n";
  printSubOffset(os, "      ", "off", "r", shape, reduced);
  os << "      s += a0[base + off];\n    }\n"
     << "    red[threadIdx.x] = s;\n  }\n"
     << "  D2L_BARRIER;\n"
     << "  for (int w = 128; w > 0; w >>= 1) {\n"
     << "    D2L_THREADS {\n"
     << "      if (threadIdx.x < w)\n"
     << "        red[threadIdx.x] += red[threadIdx.x + w];\n"
     << "    }\n    D2L_BARRIER;\n  }\n"
     << "  D2L_THREADS {\n"
     << "    if (threadIdx.x == 0)\n      a1[o] = red[0]" << finish << ";\n"
     << "  }\n";
  return success();
}

LogicalResult mlir::d2l::cuda::printSoftmaxFamily(llvm::raw_ostream &os,
                                                  const Launch &l) {
  Operation *op = l.op;
  Type et = l.params[0].getElementType();
  std::string T = scalarType(et);
  std::string ex = mathFn("exp", et), lg = mathFn("log", et);
  if (isa<MaskedSoftmaxOp, MaskedSoftmaxBackwardOp>(op)) {
    // [B, Q, K] rows of K; the row's valid length from [B] or [B, Q].
    bool backward = isa<MaskedSoftmaxBackwardOp>(op);
    RankedTensorType x = l.params[0];
    int64_t q = x.getDimSize(1), k = x.getDimSize(2);
    bool perQuery = l.params[backward ? 2 : 1].getRank() == 2;
    std::string lens = backward ? "a2" : "a1", out = backward ? "a3" : "a2";
    os << "  D2L_THREADS {\n"
       << "    const long long row = (long long)blockIdx.x * 256 + "
          "threadIdx.x;\n"
       << "    if (row < " << str(x.getNumElements() / k) << ") {\n"
       << "      const long long base = row * " << str(k) << ";\n"
       << "      const long long vl = (long long)" << lens << "["
       << (perQuery ? "row" : "row / " + str(q)) << "];\n";
    if (!backward) {
      // As the book: masked scores become -1e6, then a stable softmax.
      os << "      " << T << " mx = -D2L_INF;\n"
         << "      for (long long j = 0; j < " << str(k) << "; ++j) {\n"
         << "        const " << T
         << " v = j < vl ? a0[base + j] : " << literal(-1e6, et) << ";\n"
         << "        mx = v > mx ? v : mx;\n      }\n"
         << "      " << T << " sum = 0;\n"
         << "      for (long long j = 0; j < " << str(k) << "; ++j)\n"
         << "        sum += " << ex
         << "((j < vl ? a0[base + j] : " << literal(-1e6, et) << ") - mx);\n"
         << "      for (long long j = 0; j < " << str(k) << "; ++j)\n"
         << "        " << out << "[base + j] = " << ex
         << "((j < vl ? a0[base + j] : " << literal(-1e6, et)
         << ") - mx) / sum;\n";
    } else {
      // a0 = dy, a1 = y: dx = y (dy - Σ dy y) where valid, 0 elsewhere.
      os << "      " << T << " s = 0;\n"
         << "      for (long long j = 0; j < " << str(k) << "; ++j)\n"
         << "        s += a0[base + j] * a1[base + j];\n"
         << "      for (long long j = 0; j < " << str(k) << "; ++j)\n"
         << "        " << out
         << "[base + j] = j < vl ? a1[base + j] * (a0[base "
            "+ j] - s) : ("
         << T << ")0;\n";
    }
    os << "    }\n  }\n";
    return success();
  }
  if (l.family() == "softmax") {
    int64_t dim = op->getAttrOfType<IntegerAttr>("dim").getInt();
    Rows r = rowsOf(l.params[0], dim);
    std::string at = "base + k * " + str(r.inner);
    printRowHead(os, r);
    if (isa<SoftmaxOp, LogSoftmaxOp>(op)) {
      printLogSumExp(os, r, "a0", et);
      os << "      const " << T << " lse = mx + " << lg << "(sum);\n"
         << "      for (long long k = 0; k < " << str(r.len) << "; ++k)\n";
      if (isa<SoftmaxOp>(op))
        os << "        a1[" << at << "] = " << ex << "(a0[" << at
           << "] - mx) / sum;\n";
      else
        os << "        a1[" << at << "] = a0[" << at << "] - lse;\n";
    } else {
      // a0 = dy, a1 = y -> a2 = dx.
      bool log = isa<LogSoftmaxBackwardOp>(op);
      os << "      " << T << " s = 0;\n"
         << "      for (long long k = 0; k < " << str(r.len) << "; ++k)\n"
         << "        s += a0[" << at << "]" << (log ? "" : " * a1[" + at + "]")
         << ";\n"
         << "      for (long long k = 0; k < " << str(r.len) << "; ++k)\n";
      if (log)
        os << "        a2[" << at << "] = a0[" << at << "] - " << ex << "(a1["
           << at << "]) * s;\n";
      else
        os << "        a2[" << at << "] = a1[" << at << "] * (a0[" << at
           << "] - s);\n";
    }
    os << "    }\n  }\n";
    return success();
  }
  // Cross-entropy over the class dimension 1 of [N, C, inner...] logits.
  bool forward = l.family() == "ce_fwd";
  RankedTensorType logits = forward ? l.params[0] : l.params[1];
  Rows r = rowsOf(logits, 1);
  std::string x = forward ? "a0" : "a1", labels = forward ? "a1" : "a2";
  std::string at = "base + k * " + str(r.inner);
  printRowHead(os, r);
  printLogSumExp(os, r, x, et);
  // Label -1 is padding (no loss, no gradient); any other label outside
  // [0, C) makes the loss NaN (the evaluator reports it).
  os << "      const d2l_i64 label = " << labels << "[row];\n"
     << "      const bool valid = label >= 0 && label < " << str(r.len) << ";\n"
     << "      const bool pad = label == -1;\n";
  if (forward) {
    os << "      a2[row] = pad ? " << literal(0, et) << " : valid ? mx + " << lg
       << "(sum) - " << x << "[base + label * " << str(r.inner)
       << "] : " << literal(NAN, et) << ";\n";
  } else {
    double positions = double(r.outer * r.inner);
    os << "      const " << T << " scale = a0[0] / " << literal(positions, et)
       << ";\n"
       << "      for (long long k = 0; k < " << str(r.len) << "; ++k)\n"
       << "        a3[" << at << "] = pad ? " << literal(0, et)
       << " : valid ? scale * (" << ex << "(" << x << "[" << at
       << "] - mx) / sum - (k == label ? " << literal(1, et) << " : "
       << literal(0, et) << ")) : " << literal(NAN, et) << ";\n";
  }
  os << "    }\n  }\n";
  return success();
}
