//===- ModelBuilder.h - build d2l models like torch.nn ----------*- C++ -*-===//
//
// A small nn-like API that writes a d2l `@forward` function: each layer
// helper takes the PyTorch state_dict prefix of its module ("0", "b1.0",
// "net.3") and creates the named parameter arguments it needs, so the
// generated model's names are exactly the book's `state_dict` keys. Types
// come from the ops' shape rules. Used by d2lc-zoo to generate models/.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_MODELBUILDER_MODELBUILDER_H
#define D2L_MODELBUILDER_MODELBUILDER_H

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::d2l {

class ModelBuilder {
public:
  /// Starts function `name` in `module`.
  ModelBuilder(ModuleOp module, StringRef name = "forward");

  OpBuilder &builder() { return b; }
  Location loc() { return b.getUnknownLoc(); }

  // Arguments.
  Value input(StringRef name, ArrayRef<int64_t> shape, Type elementType = {});
  Value param(StringRef name, ArrayRef<int64_t> shape, StringRef init);
  Value state(StringRef name, ArrayRef<int64_t> shape, StringRef init);

  // Layers with parameters (prefix = the module's state_dict prefix).
  Value conv2d(StringRef prefix, Value x, int64_t outChannels, int64_t kernel,
               int64_t stride = 1, int64_t padding = 0,
               StringRef init = "xavier_uniform");
  Value convTranspose2d(StringRef prefix, Value x, int64_t outChannels,
                        int64_t kernel, int64_t stride, int64_t padding,
                        StringRef init = "xavier_uniform");
  Value linear(StringRef prefix, Value x, int64_t outFeatures,
               StringRef init = "xavier_uniform");
  /// nn.BatchNorm1d/2d in the inference form; the training step pass turns
  /// it into the training form.
  Value batchNorm(StringRef prefix, Value x);

  // Layers without parameters.
  Value relu(Value x);
  Value sigmoid(Value x);
  Value tanh(Value x);
  Value maxPool2d(Value x, int64_t kernel, int64_t stride, int64_t padding = 0);
  Value avgPool2d(Value x, int64_t kernel, int64_t stride, int64_t padding = 0);
  Value adaptiveAvgPool2d(Value x, int64_t outH, int64_t outW);
  Value flatten(Value x);
  /// nn.Dropout(p): identity in @forward; each layer gets its own salt.
  Value dropout(Value x, double p);
  Value add(Value a, Value b);
  Value concat(ValueRange xs, int64_t dim);

  /// Sets the named results and the function type; returns the function.
  func::FuncOp finish(ArrayRef<std::pair<std::string, Value>> outputs);

  /// Number of trainable parameter elements created so far.
  int64_t parameterCount() const { return numParams; }

private:
  Value addArgument(ArrayRef<int64_t> shape, Type elementType,
                    ArrayRef<NamedAttribute> attrs);
  static std::string join(StringRef prefix, StringRef leaf);

  func::FuncOp func;
  Block *body;
  OpBuilder b;
  std::vector<DictionaryAttr> argAttrs;
  int64_t numParams = 0;
  int64_t dropoutCount = 0;
};

/// The models d2lc-zoo generates, in order.
std::vector<std::string> zooModelNames();

/// Builds model `name` into `module`; false when the name is unknown.
bool buildZooModel(StringRef name, ModuleOp module);

} // namespace mlir::d2l

#endif // D2L_MODELBUILDER_MODELBUILDER_H
