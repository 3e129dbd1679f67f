//===- D2LDialect.td - the d2l dialect ---------------------*- tablegen -*-===//
//
// The d2l dialect: the deep-learning models of "Dive into Deep Learning" as
// static dataflow graphs over ranked tensors with PyTorch semantics.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_DIALECT_TD
#define D2L_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def D2L_Dialect : Dialect {
  let name = "d2l";
  let cppNamespace = "::mlir::d2l";
  let summary = "Deep-learning graphs with PyTorch semantics, NCHW layout";
  let description = [{
    The `d2l` dialect describes the models of *Dive into Deep Learning* as
    static dataflow graphs over builtin ranked tensors with static shapes.
    Ops mirror `torch.nn.functional` names and semantics (NCHW layout,
    PyTorch's padding, stride, dilation and broadcasting rules), so that a
    reader of the book recognises them and weights move between PyTorch and
    d2lc by their `state_dict` names.

    A model is a `func.func` whose arguments and results are named:
    `{d2l.param = "0.weight", d2l.init = "xavier_uniform"}` for trainable
    parameters, `{d2l.state = "1.running_mean", d2l.init = "zeros"}` for
    BatchNorm running statistics, `{d2l.input = "X"}` for data and
    `{d2l.output = "logits"}` on results.
  }];
  let hasConstantMaterializer = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
}

#endif // D2L_DIALECT_TD
