//===- Tensor.h - host tensors of the reference evaluator -------*- C++ -*-===//

#ifndef D2L_EVAL_TENSOR_H
#define D2L_EVAL_TENSOR_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::d2l::eval {

using Shape = std::vector<int64_t>;

inline int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// A dense row-major tensor of the evaluator. Floating-point tensors hold
/// their values in T (float or double, the evaluator's precision); integer
/// tensors (labels, seeds) hold int64 values.
template <typename T> struct Tensor {
  Shape shape;
  bool isInt = false;
  std::vector<T> data;
  std::vector<int64_t> ints;

  int64_t numel() const { return numElements(shape); }
  int64_t rank() const { return int64_t(shape.size()); }
  int64_t dim(int64_t i) const { return shape[i < 0 ? i + rank() : i]; }

  static Tensor zeros(Shape shape) {
    Tensor t;
    t.shape = std::move(shape);
    t.data.assign(size_t(t.numel()), T(0));
    return t;
  }
  static Tensor integers(Shape shape) {
    Tensor t;
    t.shape = std::move(shape);
    t.isInt = true;
    t.ints.assign(size_t(t.numel()), 0);
    return t;
  }
  static Tensor scalar(T v) {
    Tensor t;
    t.data = {v};
    return t;
  }
};

} // namespace mlir::d2l::eval

#endif // D2L_EVAL_TENSOR_H
