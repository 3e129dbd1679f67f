//===- Movement.cpp - transpose, slice, concat, argmax --------------------===//
//
// Gathers: one thread per output element, which computes where its value
// comes from with static strides.
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

/// Prints q<d> = the index of dimension d of flat `index` in `shape`.
void printDecompose(llvm::raw_ostream &os, StringRef indent, StringRef index,
                    ArrayRef<int64_t> shape) {
  os << indent << "long long q[" << std::max<size_t>(shape.size(), 1) << "];\n"
     << indent << "{\n"
     << indent << "  long long r = " << index << ";\n";
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d)
    os << indent << "  q[" << d << "] = r % " << str(shape[d]) << ";\n"
       << indent << "  r /= " << str(shape[d]) << ";\n";
  os << indent << "}\n";
}

int64_t normalise(int64_t d, int64_t rank) { return d < 0 ? d + rank : d; }

} // namespace

LogicalResult mlir::d2l::cuda::printMovement(llvm::raw_ostream &os,
                                             const Launch &l) {
  Operation *op = l.op;
  RankedTensorType out = l.params.back();
  std::string o = l.paramName(l.params.size() - 1);
  std::string T = l.scalar(l.params.size() - 1);
  auto shape = out.getShape();
  int64_t rank = out.getRank();
  std::string ind = "      ";
  os << "  D2L_THREADS {\n"
     << "    const long long i = (long long)blockIdx.x * 256 + threadIdx.x;\n"
     << "    if (i < " << str(out.getNumElements()) << ") {\n";
  printDecompose(os, ind, "i", shape);

  if (auto t = dyn_cast<TransposeOp>(op)) {
    auto inStrides = stridesOf(l.params[0].getShape());
    os << ind << o << "[i] = a0[0";
    for (auto [d, p] : llvm::enumerate(t.getPermutation()))
      os << " + q[" << d << "] * " << str(inStrides[p]);
    os << "];\n";
  } else if (auto s = dyn_cast<SliceOp>(op)) {
    auto inShape = l.params[0].getShape();
    auto inStrides = stridesOf(inShape);
    int64_t dim = normalise(s.getDim(), rank);
    int64_t start = s.getStart();
    if (start < 0)
      start += inShape[dim];
    start = std::clamp<int64_t>(start, 0, inShape[dim]);
    os << ind << o << "[i] = a0[0";
    for (int64_t d = 0; d < rank; ++d) {
      if (d == dim)
        os << " + (" << str(start) << " + q[" << d << "] * " << str(s.getStep())
           << ") * " << str(inStrides[d]);
      else
        os << " + q[" << d << "] * " << str(inStrides[d]);
    }
    os << "];\n";
  } else if (auto s = dyn_cast<SliceBackwardOp>(op)) {
    auto gShape = l.params[0].getShape();
    auto gStrides = stridesOf(gShape);
    int64_t dim = normalise(s.getDim(), rank);
    os << ind << "const long long rel = q[" << dim << "] - "
       << str(s.getStart()) << ";\n"
       << ind << "if (rel >= 0 && rel % " << str(s.getStep())
       << " == 0 && rel / " << str(s.getStep()) << " < " << str(gShape[dim])
       << ") {\n"
       << ind << "  " << o << "[i] = a0[0";
    for (int64_t d = 0; d < rank; ++d) {
      if (d == dim)
        os << " + (rel / " << str(s.getStep()) << ") * " << str(gStrides[d]);
      else
        os << " + q[" << d << "] * " << str(gStrides[d]);
    }
    os << "];\n"
       << ind << "} else {\n"
       << ind << "  " << o << "[i] = 0;\n"
       << ind << "}\n";
  } else if (auto e = dyn_cast<EmbeddingOp>(op)) {
    // out[s, j] = weight[indices[s], j]; zeros for an index out of range.
    int64_t v = l.params[1].getDimSize(0), d = l.params[1].getDimSize(1);
    os << ind << "const long long k = (long long)a0[i / " << str(d) << "];\n"
       << ind << o << "[i] = (k >= 0 && k < " << str(v) << ") ? a1[k * "
       << str(d) << " + i % " << str(d) << "] : (" << T << ")0;\n";
  } else if (auto e = dyn_cast<EmbeddingBackwardOp>(op)) {
    // out[v, j] = Σ_{s: indices[s] = v} grad[s, j]: each output element
    // scans the indices (deterministic, no atomics; the tables and batches
    // of the book's sequence models are small).
    int64_t d = out.getDimSize(1);
    int64_t n = l.params[1].getNumElements();
    os << ind << "const long long v = i / " << str(d) << ", j = i % " << str(d)
       << ";\n"
       << ind << T << " acc = (" << T << ")0;\n"
       << ind << "for (long long s = 0; s < " << str(n) << "; ++s)\n"
       << ind << "  if ((long long)a1[s] == v) acc += a0[s * " << str(d)
       << " + j];\n"
       << ind << o << "[i] = acc;\n";
  } else if (auto c = dyn_cast<ConcatOp>(op)) {
    int64_t dim = normalise(c.getDim(), rank);
    int64_t offset = 0;
    for (size_t k = 0; k < l.numInputs(); ++k) {
      auto inShape = l.params[k].getShape();
      auto inStrides = stridesOf(inShape);
      int64_t size = inShape[dim];
      os << ind << (k ? "else " : "") << "if (q[" << dim << "] < "
         << str(offset + size) << ") {\n"
         << ind << "  " << o << "[i] = " << l.paramName(k) << "[0";
      for (int64_t d = 0; d < rank; ++d) {
        if (d == dim)
          os << " + (q[" << d << "] - " << str(offset) << ") * "
             << str(inStrides[d]);
        else
          os << " + q[" << d << "] * " << str(inStrides[d]);
      }
      os << "];\n" << ind << "}\n";
      offset += size;
    }
  } else if (auto a = dyn_cast<ArgmaxOp>(op)) {
    auto inShape = l.params[0].getShape();
    auto inStrides = stridesOf(inShape);
    int64_t inRank = int64_t(inShape.size());
    int64_t dim = normalise(a.getDim(), inRank);
    // Output dims map to the input's dims without `dim` (or with it, size 1,
    // under keepdim).
    os << ind << "long long base = 0;\n";
    int64_t od = 0;
    for (int64_t d = 0; d < inRank; ++d) {
      if (d == dim) {
        if (a.getKeepdim())
          ++od;
        continue;
      }
      os << ind << "base += q[" << od++ << "] * " << str(inStrides[d]) << ";\n";
    }
    std::string it = l.scalar(0);
    os << ind << "long long best = 0;\n"
       << ind << it << " bestValue = a0[base];\n"
       << ind << "for (long long k = 1; k < " << str(inShape[dim])
       << "; ++k) {\n"
       << ind << "  const " << it << " v = a0[base + k * "
       << str(inStrides[dim]) << "];\n"
       << ind << "  if (v > bestValue) {\n"
       << ind << "    best = k;\n"
       << ind << "    bestValue = v;\n"
       << ind << "  }\n"
       << ind << "}\n"
       << ind << o << "[i] = best;\n";
  } else {
    return op->emitError() << "no gather kernel for '" << op->getName() << "'";
  }
  os << "    }\n  }\n";
  (void)T;
  return success();
}
