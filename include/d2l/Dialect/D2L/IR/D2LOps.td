//===- D2LOps.td - operations of the d2l dialect -----------*- tablegen -*-===//
//
// Every op mirrors a torch.nn.functional (or torch) function with PyTorch's
// semantics and NCHW layout. Result types are inferred (InferTypeOpAdaptor);
// the C++ shape rules run as the first verifier of each op (D2L_ShapeChecked)
// so a bad shape or attribute gets exactly one message that names what was
// expected and what was found.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_OPS_TD
#define D2L_OPS_TD

include "d2l/Dialect/D2L/IR/D2LDialect.td"
include "d2l/Dialect/D2L/IR/D2LInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Types and traits
//===----------------------------------------------------------------------===//

def D2L_FloatTensor : StaticShapeTensorOf<[F16, BF16, F32, F64]>;
def D2L_IntTensor : StaticShapeTensorOf<[I32, I64]>;
def D2L_SeedTensor : 0DTensorOf<[I64]>;
def D2L_AnyTensor : StaticShapeTensorOf<[F16, BF16, F32, F64, I1, I32, I64]>;

/// Runs the op's shape rules (its inferReturnTypes) with diagnostics on, before
/// the generic check that the declared result types equal the inferred ones.
def D2L_ShapeChecked : NativeOpTrait<"ShapeChecked"> {
  let cppNamespace = "::mlir::d2l::trait";
}

/// Marks ops that apply one scalar function to each element (after
/// broadcasting); fusion passes group them.
def D2L_ElementwiseMarker : NativeOpTrait<"D2LElementwise"> {
  let cppNamespace = "::mlir::d2l::trait";
}

/// Ops with a VJP and a JVP (see D2LInterfaces.td).
def D2L_Differentiable : DeclareOpInterfaceMethods<D2L_DifferentiableOpInterface>;

class D2L_Op<string mnemonic, list<Trait> traits = []> :
    Op<D2L_Dialect, mnemonic, traits>;

/// An op whose result types come from C++ shape rules.
class D2L_ShapedOp<string mnemonic, list<Trait> traits = []> :
    D2L_Op<mnemonic, !listconcat([Pure, D2L_ShapeChecked], traits,
                                 [InferTypeOpAdaptor])> {
  let assemblyFormat = [{
    operands attr-dict `:` functional-type(operands, results)
  }];
}

/// A signless 64-bit integer attribute read as int64_t (I64Attr reads as
/// uint64_t, which silently breaks negative dimensions).
def D2L_I64Attr : TypedSignlessIntegerAttrBase<I64, "int64_t",
                                               "64-bit signless integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

def D2L_Pair1 : DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">;
def D2L_Pair0 : DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class D2L_UnaryOp<string mnemonic, string torchName, list<Trait> traits = []> :
    D2L_Op<mnemonic, !listconcat([Pure, SameOperandsAndResultType,
                                  D2L_ElementwiseMarker, D2L_Differentiable],
                                 traits)> {
  let summary = "elementwise " # mnemonic # " (" # torchName # ")";
  let arguments = (ins D2L_FloatTensor:$input);
  let results = (outs D2L_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def D2L_ReluOp : D2L_UnaryOp<"relu", "torch.relu"> {
  let description = [{
    `max(x, 0)` for every element.

    ```mlir
    %y = d2l.relu %x : tensor<256x6x28x28xf32>
    ```
  }];
}

def D2L_SigmoidOp : D2L_UnaryOp<"sigmoid", "torch.sigmoid"> {
  let description = [{
    `1 / (1 + exp(-x))` for every element.

    ```mlir
    %y = d2l.sigmoid %x : tensor<256x120xf32>
    ```
  }];
}

def D2L_TanhOp : D2L_UnaryOp<"tanh", "torch.tanh"> {
  let description = [{
    Hyperbolic tangent of every element.

    ```mlir
    %y = d2l.tanh %x : tensor<32x256xf32>
    ```
  }];
}

def D2L_ExpOp : D2L_UnaryOp<"exp", "torch.exp"> {
  let description = [{
    `e^x` for every element.

    ```mlir
    %y = d2l.exp %x : tensor<4x10xf32>
    ```
  }];
}

def D2L_LogOp : D2L_UnaryOp<"log", "torch.log"> {
  let description = [{
    Natural logarithm of every element (`-inf` at 0, NaN below, as PyTorch).

    ```mlir
    %y = d2l.log %x : tensor<4x10xf32>
    ```
  }];
}

def D2L_SqrtOp : D2L_UnaryOp<"sqrt", "torch.sqrt"> {
  let description = [{
    Square root of every element.

    ```mlir
    %y = d2l.sqrt %x : tensor<16xf32>
    ```
  }];
}

def D2L_NegOp : D2L_UnaryOp<"neg", "torch.neg"> {
  let description = [{
    `-x` for every element.

    ```mlir
    %y = d2l.neg %x : tensor<16xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_AbsOp : D2L_UnaryOp<"abs", "torch.abs"> {
  let description = [{
    `|x|` for every element; its derivative at 0 is 0, as PyTorch's.

    ```mlir
    %y = d2l.abs %w : tensor<256x784xf32>
    ```
  }];
}

def D2L_SignOp : D2L_UnaryOp<"sign", "torch.sign"> {
  let description = [{
    -1, 0 or 1 for every element (its derivative is zero).

    ```mlir
    %y = d2l.sign %w : tensor<256x784xf32>
    ```
  }];
}

class D2L_BinaryOp<string mnemonic, string torchName, list<Trait> traits = []> :
    D2L_ShapedOp<mnemonic, !listconcat([D2L_ElementwiseMarker,
                                        D2L_Differentiable], traits)> {
  let summary = "elementwise " # mnemonic # " with broadcasting (" #
                torchName # ")";
  let arguments = (ins D2L_FloatTensor:$lhs, D2L_FloatTensor:$rhs);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::mlir::d2l::inferBroadcastResult(
          location, getOperationName(), adaptor.getLhs().getType(),
          adaptor.getRhs().getType(), types);
    }
  }];
}

def D2L_AddOp : D2L_BinaryOp<"add", "torch.add", [Commutative]> {
  let description = [{
    `lhs + rhs`, with NumPy/PyTorch broadcasting: shapes are aligned at their
    last dimension and a dimension of size 1 stretches to the other.

    ```mlir
    %y = d2l.add %x, %b : (tensor<256x120xf32>, tensor<120xf32>) -> tensor<256x120xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_SubOp : D2L_BinaryOp<"sub", "torch.sub"> {
  let description = [{
    `lhs - rhs` with broadcasting.

    ```mlir
    %y = d2l.sub %a, %b : (tensor<4x3xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_MulOp : D2L_BinaryOp<"mul", "torch.mul", [Commutative]> {
  let description = [{
    `lhs * rhs` with broadcasting.

    ```mlir
    %y = d2l.mul %a, %s : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_DivOp : D2L_BinaryOp<"div", "torch.div"> {
  let description = [{
    `lhs / rhs` with broadcasting (true division).

    ```mlir
    %y = d2l.div %a, %s : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_DropoutOp : D2L_ShapedOp<"dropout", [D2L_ElementwiseMarker,
                                               D2L_Differentiable]> {
  let summary = "dropout (torch.nn.functional.dropout)";
  let description = [{
    With a `seed` operand (training), each element is zeroed with probability
    `p` and the kept ones are scaled by `1 / (1 - p)`. The mask is drawn from
    the counter-based Philox4x32-10 generator: element `i` (row-major index)
    uses key = `seed` (64 bits) and counter = (`i` mod 2^32, `i` / 2^32,
    `salt`, 0); it is kept when the top 24 bits of the first output word,
    divided by 2^24, are at least `p`. Every backend draws the same mask, and
    two dropout layers with different `salt` draw independent masks.

    Without a seed operand (inference), dropout is the identity.

    ```mlir
    %y = d2l.dropout %x, %seed {p = 5.000000e-01 : f64, salt = 1 : i64}
        : (tensor<128x4096xf32>, tensor<i64>) -> tensor<128x4096xf32>
    %z = d2l.dropout %x {p = 5.000000e-01 : f64}
        : (tensor<128x4096xf32>) -> tensor<128x4096xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, Optional<D2L_SeedTensor>:$seed,
                   DefaultValuedAttr<F64Attr, "0.5">:$p,
                   DefaultValuedAttr<D2L_I64Attr, "0">:$salt);
  let results = (outs D2L_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Convolution, linear algebra
//===----------------------------------------------------------------------===//

def D2L_Conv2dOp : D2L_ShapedOp<"conv2d", [D2L_Differentiable]> {
  let summary = "2-D convolution (torch.nn.functional.conv2d)";
  let description = [{
    Cross-correlation of an NCHW `input` [N, C_in, H, W] with `weight`
    [C_out, C_in / groups, kH, kW], plus an optional `bias` [C_out]. `stride`,
    `padding` (zeros, both sides) and `dilation` are (height, width) pairs;
    `groups` splits the channels as PyTorch does. The result is
    [N, C_out, H_out, W_out] with
    `H_out = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1`.

    ```mlir
    %y = d2l.conv2d %x, %w, %b {padding = array<i64: 2, 2>}
        : (tensor<256x1x28x28xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>)
        -> tensor<256x6x28x28xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   Optional<D2L_FloatTensor>:$bias,
                   D2L_Pair1:$stride, D2L_Pair0:$padding, D2L_Pair1:$dilation,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$groups);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_ConvTranspose2dOp : D2L_ShapedOp<"conv_transpose2d", [D2L_Differentiable]> {
  let summary = "2-D transposed convolution "
                "(torch.nn.functional.conv_transpose2d)";
  let description = [{
    The gradient of `conv2d` with respect to its input, used as an upsampling
    layer. `input` is [N, C_in, H, W], `weight` is
    [C_in, C_out / groups, kH, kW] (PyTorch's layout), `bias` is [C_out]. The
    result is [N, C_out, H_out, W_out] with
    `H_out = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1`;
    `output_padding` must be smaller than `stride` or `dilation`.

    ```mlir
    %y = d2l.conv_transpose2d %x, %w, %b
        {stride = array<i64: 32, 32>, padding = array<i64: 16, 16>}
        : (tensor<1x10x3x3xf32>, tensor<10x10x64x64xf32>, tensor<10xf32>)
        -> tensor<1x10x96x96xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   Optional<D2L_FloatTensor>:$bias,
                   D2L_Pair1:$stride, D2L_Pair0:$padding,
                   D2L_Pair0:$output_padding, D2L_Pair1:$dilation,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$groups);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_LinearOp : D2L_ShapedOp<"linear", [D2L_Differentiable]> {
  let summary = "affine map x Wᵀ + b (torch.nn.functional.linear)";
  let description = [{
    `input` is [..., in_features], `weight` is [out_features, in_features]
    and the optional `bias` is [out_features]; the result is
    [..., out_features].

    ```mlir
    %y = d2l.linear %x, %w, %b
        : (tensor<256x784xf32>, tensor<256x784xf32>, tensor<256xf32>)
        -> tensor<256x256xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   Optional<D2L_FloatTensor>:$bias);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_MatmulOp : D2L_ShapedOp<"matmul", [D2L_Differentiable]> {
  let summary = "matrix product of two matrices (torch.mm)";
  let description = [{
    `op(lhs) · op(rhs)` where `op` transposes its matrix when `transpose_lhs`
    or `transpose_rhs` is set: [M, K] · [K, N] → [M, N].

    ```mlir
    %c = d2l.matmul %a, %b {transpose_rhs = true}
        : (tensor<64x32xf32>, tensor<16x32xf32>) -> tensor<64x16xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$lhs, D2L_FloatTensor:$rhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_BatchMatmulOp : D2L_ShapedOp<"batch_matmul", [D2L_Differentiable]> {
  let summary = "batched matrix product (torch.bmm)";
  let description = [{
    [B, M, K] · [B, K, N] → [B, M, N]; `transpose_lhs` / `transpose_rhs`
    transpose the last two dimensions of an operand first.

    ```mlir
    %c = d2l.batch_matmul %q, %k {transpose_rhs = true}
        : (tensor<8x10x32xf32>, tensor<8x12x32xf32>) -> tensor<8x10x12xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$lhs, D2L_FloatTensor:$rhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs);
  let results = (outs D2L_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

def D2L_BatchNormOp : D2L_ShapedOp<"batch_norm", [D2L_Differentiable]> {
  let summary = "batch normalisation, training form "
                "(torch.nn.functional.batch_norm, training=True)";
  let description = [{
    Normalises `input` ([N, C], [N, C, L] or [N, C, H, W]) per channel with
    the statistics of the batch, then scales by `weight` and shifts by `bias`
    ([C] each):
    `y = (x - mean) * invstd * weight + bias`, `invstd = 1 / sqrt(var + eps)`,
    `var` the biased variance over all dimensions but the channel.

    The results are `y`, the batch statistics `batch_mean` and
    `batch_invstd` (what the backward pass needs, as PyTorch saves them) and
    the updated running statistics, exactly as PyTorch's training mode:
    `new_running_mean = (1 - momentum) running_mean + momentum mean` and
    `new_running_var = (1 - momentum) running_var + momentum var · n / (n - 1)`
    (unbiased), with `n` the number of values per channel, which must be
    greater than 1.

    ```mlir
    %y, %mean, %invstd, %rm, %rv = d2l.batch_norm %x, %g, %b, %m, %v
        : (tensor<256x6x24x24xf32>, tensor<6xf32>, tensor<6xf32>,
           tensor<6xf32>, tensor<6xf32>)
        -> (tensor<256x6x24x24xf32>, tensor<6xf32>, tensor<6xf32>,
            tensor<6xf32>, tensor<6xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   D2L_FloatTensor:$bias, D2L_FloatTensor:$running_mean,
                   D2L_FloatTensor:$running_var,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                   DefaultValuedAttr<F64Attr, "0.1">:$momentum);
  let results = (outs D2L_FloatTensor:$result, D2L_FloatTensor:$batch_mean,
                 D2L_FloatTensor:$batch_invstd,
                 D2L_FloatTensor:$new_running_mean,
                 D2L_FloatTensor:$new_running_var);
}

def D2L_LayerNormOp : D2L_ShapedOp<"layer_norm", [D2L_Differentiable]> {
  let summary = "layer normalisation over the last dimension "
                "(torch.nn.functional.layer_norm)";
  let description = [{
    Normalises each row of `input` (its last dimension, of size D) with the
    row's own statistics, then scales by `weight` and shifts by `bias` ([D]
    each), as `nn.LayerNorm(D)`:
    `y = (x - mean) * rstd * weight + bias`, `rstd = 1 / sqrt(var + eps)`,
    `var` the biased variance of the row.

    The results are `y` and the row statistics `mean` and `rstd` (the input's
    shape without its last dimension), which the backward pass uses, as
    PyTorch saves them.

    ```mlir
    %y, %mean, %rstd = d2l.layer_norm %x, %g, %b
        : (tensor<64x10x32xf32>, tensor<32xf32>, tensor<32xf32>)
        -> (tensor<64x10x32xf32>, tensor<64x10xf32>, tensor<64x10xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   D2L_FloatTensor:$bias,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs D2L_FloatTensor:$result, D2L_FloatTensor:$mean,
                 D2L_FloatTensor:$rstd);
}

def D2L_BatchNormInferenceOp : D2L_ShapedOp<"batch_norm_inference", [D2L_Differentiable]> {
  let summary = "batch normalisation, inference form "
                "(torch.nn.functional.batch_norm, training=False)";
  let description = [{
    `y = (x - running_mean) / sqrt(running_var + eps) * weight + bias`, per
    channel (dimension 1) of an [N, C], [N, C, L] or [N, C, H, W] input.

    ```mlir
    %y = d2l.batch_norm_inference %x, %g, %b, %m, %v
        : (tensor<256x120xf32>, tensor<120xf32>, tensor<120xf32>,
           tensor<120xf32>, tensor<120xf32>) -> tensor<256x120xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   D2L_FloatTensor:$bias, D2L_FloatTensor:$running_mean,
                   D2L_FloatTensor:$running_var,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs D2L_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

def D2L_MaxPool2dOp : D2L_ShapedOp<"max_pool2d", [D2L_Differentiable]> {
  let summary = "2-D max pooling (torch.nn.functional.max_pool2d)";
  let description = [{
    Maximum over `kernel_size` windows of an NCHW input. `stride` defaults to
    `kernel_size`; `padding` (at most half the kernel) pads with -inf, as
    PyTorch does.
    `H_out = (H + 2 padding - kH) / stride + 1`.

    ```mlir
    %y = d2l.max_pool2d %x {kernel_size = array<i64: 3, 3>,
                            stride = array<i64: 2, 2>,
                            padding = array<i64: 1, 1>}
        : (tensor<32x64x48x48xf32>) -> tensor<32x64x24x24xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, DenseI64ArrayAttr:$kernel_size,
                   OptionalAttr<DenseI64ArrayAttr>:$stride, D2L_Pair0:$padding);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDeclaration = [{
    /// The stride, which defaults to the kernel size.
    ::llvm::SmallVector<int64_t, 2> getEffectiveStride() {
      return ::mlir::d2l::strideOrKernel(getStride(), getKernelSize());
    }
  }];
}

def D2L_AvgPool2dOp : D2L_ShapedOp<"avg_pool2d", [D2L_Differentiable]> {
  let summary = "2-D average pooling (torch.nn.functional.avg_pool2d)";
  let description = [{
    Mean over `kernel_size` windows of an NCHW input. `stride` defaults to
    `kernel_size`; zero `padding` (at most half the kernel) is counted in the
    divisor when `count_include_pad` is true (PyTorch's default).

    ```mlir
    %y = d2l.avg_pool2d %x {kernel_size = array<i64: 2, 2>}
        : (tensor<256x6x28x28xf32>) -> tensor<256x6x14x14xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, DenseI64ArrayAttr:$kernel_size,
                   OptionalAttr<DenseI64ArrayAttr>:$stride, D2L_Pair0:$padding,
                   DefaultValuedAttr<BoolAttr, "true">:$count_include_pad);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDeclaration = [{
    ::llvm::SmallVector<int64_t, 2> getEffectiveStride() {
      return ::mlir::d2l::strideOrKernel(getStride(), getKernelSize());
    }
  }];
}

def D2L_AdaptiveAvgPool2dOp : D2L_ShapedOp<"adaptive_avg_pool2d", [D2L_Differentiable]> {
  let summary = "adaptive 2-D average pooling "
                "(torch.nn.functional.adaptive_avg_pool2d)";
  let description = [{
    Averages an NCHW input to `output_size` (oh, ow): output row `i` covers
    input rows `floor(i H / oh)` to `ceil((i + 1) H / oh)`, as PyTorch.

    ```mlir
    %y = d2l.adaptive_avg_pool2d %x {output_size = array<i64: 1, 1>}
        : (tensor<32x512x3x3xf32>) -> tensor<32x512x1x1xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_Pair1:$output_size);
  let results = (outs D2L_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

def D2L_FlattenOp : D2L_ShapedOp<"flatten", [D2L_Differentiable]> {
  let summary = "merge a range of dimensions (torch.flatten)";
  let description = [{
    Merges dimensions `start_dim` to `end_dim` (inclusive, negative counts
    from the end) into one, in row-major order.

    ```mlir
    %y = d2l.flatten %x : (tensor<256x16x5x5xf32>) -> tensor<256x400xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$start_dim,
                   DefaultValuedAttr<D2L_I64Attr, "-1">:$end_dim);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_ReshapeOp : D2L_ShapedOp<"reshape", [D2L_Differentiable]> {
  let summary = "reinterpret the shape (torch.reshape)";
  let description = [{
    The same elements in row-major order under a new `shape`; one entry may be
    -1 and is then inferred from the number of elements.

    ```mlir
    %y = d2l.reshape %x {shape = array<i64: -1, 1, 28, 28>}
        : (tensor<256x784xf32>) -> tensor<256x1x28x28xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_TransposeOp : D2L_ShapedOp<"transpose", [D2L_Differentiable]> {
  let summary = "permute dimensions (torch.permute)";
  let description = [{
    Result dimension `i` is input dimension `permutation[i]`.

    ```mlir
    %y = d2l.transpose %x {permutation = array<i64: 1, 0>}
        : (tensor<4x3xf32>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input,
                   DenseI64ArrayAttr:$permutation);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_ConcatOp : D2L_ShapedOp<"concat", [D2L_Differentiable]> {
  let summary = "concatenate along a dimension (torch.cat)";
  let description = [{
    Joins one or more tensors of equal shape except along `dim` (negative
    counts from the end).

    ```mlir
    %y = d2l.concat %a, %b {dim = 1 : i64}
        : (tensor<32x64x12x12xf32>, tensor<32x128x12x12xf32>)
        -> tensor<32x192x12x12xf32>
    ```
  }];
  let arguments = (ins Variadic<D2L_FloatTensor>:$inputs,
                   DefaultValuedAttr<D2L_I64Attr, "0">:$dim);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_SliceOp : D2L_ShapedOp<"slice", [D2L_Differentiable]> {
  let summary = "strided slice along one dimension (x[..., start:end:step])";
  let description = [{
    Keeps indices `start, start + step, ...` below `end` along `dim`. As in
    Python, negative `start`/`end` count from the end and both are clamped to
    the dimension; `step` must be positive.

    ```mlir
    %y = d2l.slice %x {dim = 1 : i64, start = 0 : i64, end = 64 : i64}
        : (tensor<32x256x12x12xf32>) -> tensor<32x64x12x12xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_I64Attr:$dim, D2L_I64Attr:$start,
                   D2L_I64Attr:$end, DefaultValuedAttr<D2L_I64Attr, "1">:$step);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_BroadcastToOp : D2L_ShapedOp<"broadcast_to", [D2L_Differentiable]> {
  let summary = "broadcast to a shape (torch.broadcast_to / Tensor.expand)";
  let description = [{
    Stretches dimensions of size 1 (and adds leading dimensions) to `shape`,
    by PyTorch's broadcasting rules. With a 0-d input this is `torch.full`
    from a computed value.

    ```mlir
    %y = d2l.broadcast_to %s {shape = array<i64: 4, 3>}
        : (tensor<f32>) -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs D2L_FloatTensor:$result);
  let hasFolder = 1;
}

def D2L_ConstantOp : D2L_Op<"constant", [ConstantLike, Pure,
    DeclareOpInterfaceMethods<InferTypeOpInterface>, D2L_Differentiable]> {
  let summary = "constant tensor (torch.tensor, torch.full)";
  let description = [{
    A tensor given by a dense elements attribute; a splat attribute is a
    filled tensor (`torch.full`).

    ```mlir
    %zero = d2l.constant dense<0.000000e+00> : tensor<256x10xf32>
    %w = d2l.constant dense<[2.0, -3.4]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs D2L_AnyTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions, softmax and losses
//===----------------------------------------------------------------------===//

class D2L_ReduceOp<string mnemonic> :
    D2L_ShapedOp<mnemonic, [D2L_Differentiable]> {
  let arguments = (ins D2L_FloatTensor:$input, DenseI64ArrayAttr:$dims,
                   DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::mlir::d2l::inferReduceResult(
          location, getOperationName(), adaptor.getInput().getType(),
          adaptor.getDims(), adaptor.getKeepdim(), types);
    }
  }];
}

def D2L_SumOp : D2L_ReduceOp<"sum"> {
  let summary = "sum over dimensions (torch.sum)";
  let description = [{
    Sums over `dims` (all dimensions when empty; negative counts from the
    end), keeping them as size 1 when `keepdim` is set.

    ```mlir
    %db = d2l.sum %dy {dims = array<i64: 0>}
        : (tensor<256x10xf32>) -> tensor<10xf32>
    ```
  }];
  let hasFolder = 1;
}

def D2L_MeanOp : D2L_ReduceOp<"mean"> {
  let summary = "mean over dimensions (torch.mean)";
  let description = [{
    Arithmetic mean over `dims` (all dimensions when empty), keeping them as
    size 1 when `keepdim` is set.

    ```mlir
    %m = d2l.mean %x {dims = array<i64: 0, 2, 3>, keepdim = true}
        : (tensor<32x64x24x24xf32>) -> tensor<1x64x1x1xf32>
    ```
  }];
}

class D2L_SoftmaxLikeOp<string mnemonic> :
    D2L_ShapedOp<mnemonic, [D2L_Differentiable]> {
  let arguments = (ins D2L_FloatTensor:$input, D2L_I64Attr:$dim);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_SoftmaxOp : D2L_SoftmaxLikeOp<"softmax"> {
  let summary = "softmax along a dimension (torch.softmax)";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `dim` (numerically stable).

    ```mlir
    %p = d2l.softmax %x {dim = 1 : i64} : (tensor<256x10xf32>) -> tensor<256x10xf32>
    ```
  }];
}

def D2L_MaskedSoftmaxOp : D2L_ShapedOp<"masked_softmax",
                                       [D2L_Differentiable]> {
  let summary = "softmax over the last dimension within valid lengths "
                "(the book's masked_softmax)";
  let description = [{
    `input` is [B, Q, K] (attention scores); `valid_lens` integers [B] (one
    length per batch row, for all Q queries) or [B, Q]. Positions k at or
    past the valid length are set to -1e6 before a softmax over k, exactly
    as the book's `masked_softmax` (so they get zero weight, and a row of
    valid length 0 is uniform); they get no gradient.

    ```mlir
    %w = d2l.masked_softmax %scores, %lens
        : (tensor<256x10x10xf32>, tensor<256xi64>) -> tensor<256x10x10xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_IntTensor:$valid_lens);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_LogSoftmaxOp : D2L_SoftmaxLikeOp<"log_softmax"> {
  let summary = "log-softmax along a dimension (torch.log_softmax)";
  let description = [{
    `x - max - log(sum(exp(x - max)))` along `dim`.

    ```mlir
    %p = d2l.log_softmax %x {dim = 1 : i64}
        : (tensor<256x10xf32>) -> tensor<256x10xf32>
    ```
  }];
}

def D2L_CrossEntropyOp : D2L_ShapedOp<"cross_entropy", [D2L_Differentiable]> {
  let summary = "softmax cross-entropy with integer labels, mean reduction "
                "(torch.nn.functional.cross_entropy)";
  let description = [{
    `logits` is [N, C] (or [N, C, d1, ...] for per-pixel classification),
    `labels` holds class indices in [0, C) with shape [N] (or [N, d1, ...]).
    The result is the 0-d mean over all positions of
    `-log_softmax(logits, 1)[label]`. A label of -1 marks padding (the rows
    that fill a last, partial batch): it contributes no loss and no
    gradient, and the mean is still over all positions (`d2lc-train` scales
    the learning rate by N / valid rows). Any other label outside [0, C) is
    an error in the evaluator and gives NaN in compiled code.

    ```mlir
    %loss = d2l.cross_entropy %logits, %y
        : (tensor<256x10xf32>, tensor<256xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$logits, D2L_IntTensor:$labels);
  let results = (outs 0DTensorOf<[F16, BF16, F32, F64]>:$result);
}

def D2L_MseLossOp : D2L_ShapedOp<"mse_loss", [D2L_Differentiable]> {
  let summary = "mean squared error (torch.nn.functional.mse_loss)";
  let description = [{
    `mean((input - target)^2)` over all elements of two tensors of the same
    shape; the result is 0-d.

    ```mlir
    %loss = d2l.mse_loss %yhat, %y
        : (tensor<10x1xf32>, tensor<10x1xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$target);
  let results = (outs 0DTensorOf<[F16, BF16, F32, F64]>:$result);
}

//===----------------------------------------------------------------------===//
// Non-differentiable ops
//===----------------------------------------------------------------------===//

def D2L_EmbeddingOp : D2L_ShapedOp<"embedding", [D2L_Differentiable]> {
  let summary = "rows of a table by integer index (nn.Embedding, F.embedding)";
  let description = [{
    `weight` is the table [V, D]; `indices` are integers of any shape S with
    values in [0, V). The result [S..., D] holds row `indices[s]` of the
    table at each position s. It is differentiable with respect to the
    table (the gradient sums the rows' gradients per index,
    `embedding_backward`), not the indices. An index outside [0, V) is an
    error in the evaluator and reads zeros in compiled code.

    ```mlir
    %y = d2l.embedding %ids, %w : (tensor<64x10xi64>, tensor<184x32xf32>)
        -> tensor<64x10x32xf32>
    ```
  }];
  let arguments = (ins D2L_IntTensor:$indices, D2L_FloatTensor:$weight);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_ArgmaxOp : D2L_ShapedOp<"argmax"> {
  let summary = "index of the maximum along a dimension (torch.argmax)";
  let description = [{
    The index (i64) of the first maximum along `dim`, which is removed from
    the shape unless `keepdim` is set. It has no derivative: differentiating
    through it is an error.

    ```mlir
    %pred = d2l.argmax %logits {dim = 1 : i64}
        : (tensor<256x10xf32>) -> tensor<256xi64>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_I64Attr:$dim,
                   DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs StaticShapeTensorOf<[I64]>:$result);
}

//===----------------------------------------------------------------------===//
// Gradient ops: what the VJPs build (PyTorch's aten *_backward ops)
//===----------------------------------------------------------------------===//

class D2L_ActivationBackwardOp<string mnemonic, string formula> :
    D2L_Op<mnemonic, [Pure, SameOperandsAndResultType, D2L_ElementwiseMarker,
                      D2L_Differentiable]> {
  let summary = "gradient of " # !subst("_backward", "", mnemonic) #
                " through its output: " # formula;
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$output);
  let results = (outs D2L_FloatTensor:$result);
  let assemblyFormat = "$grad_output `,` $output attr-dict `:` type($result)";
}

def D2L_ReluBackwardOp : D2L_ActivationBackwardOp<"relu_backward",
    "grad_output where output > 0, else 0"> {
  let description = [{
    The ReLU's gradient reads the saved output as its mask (torch's
    threshold_backward), so the pre-activation need not be kept.

    ```mlir
    %dx = d2l.relu_backward %dy, %y : tensor<32x64x24x24xf32>
    ```
  }];
}

def D2L_SigmoidBackwardOp : D2L_ActivationBackwardOp<"sigmoid_backward",
    "grad_output * output * (1 - output)"> {
  let description = [{
    ```mlir
    %dx = d2l.sigmoid_backward %dy, %y : tensor<256x120xf32>
    ```
  }];
}

def D2L_TanhBackwardOp : D2L_ActivationBackwardOp<"tanh_backward",
    "grad_output * (1 - output^2)"> {
  let description = [{
    ```mlir
    %dx = d2l.tanh_backward %dy, %y : tensor<32x256xf32>
    ```
  }];
}

class D2L_SoftmaxBackwardLikeOp<string mnemonic, string formula> :
    D2L_ShapedOp<mnemonic, [D2L_Differentiable]> {
  let summary = "gradient of " # !subst("_backward", "", mnemonic) #
                " through its output: " # formula;
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$output,
                   D2L_I64Attr:$dim);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_SoftmaxBackwardOp : D2L_SoftmaxBackwardLikeOp<"softmax_backward",
    "output * (grad_output - sum(grad_output * output, dim))"> {
  let description = [{
    ```mlir
    %dx = d2l.softmax_backward %dy, %p {dim = 1 : i64}
        : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
    ```
  }];
}

def D2L_LogSoftmaxBackwardOp : D2L_SoftmaxBackwardLikeOp<
    "log_softmax_backward", "grad_output - exp(output) * sum(grad_output, dim)"> {
  let description = [{
    ```mlir
    %dx = d2l.log_softmax_backward %dy, %lp {dim = 1 : i64}
        : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<8x10xf32>
    ```
  }];
}

def D2L_CrossEntropyBackwardOp : D2L_ShapedOp<"cross_entropy_backward",
                                              [D2L_Differentiable]> {
  let summary = "gradient of cross_entropy with respect to the logits";
  let description = [{
    `grad_loss * (softmax(logits, 1) - one_hot(labels)) / M`, with `M` the
    number of positions averaged (N times the spatial size).

    ```mlir
    %dlogits = d2l.cross_entropy_backward %dloss, %logits, %y
        : (tensor<f32>, tensor<256x10xf32>, tensor<256xi64>) -> tensor<256x10xf32>
    ```
  }];
  let arguments = (ins 0DTensorOf<[F16, BF16, F32, F64]>:$grad_loss,
                   D2L_FloatTensor:$logits, D2L_IntTensor:$labels);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_Conv2dBackwardInputOp : D2L_ShapedOp<"conv2d_backward_input",
                                             [D2L_Differentiable]> {
  let summary = "gradient of conv2d with respect to its input";
  let description = [{
    Given `grad_output` [N, C_out, H_out, W_out] and the convolution's
    `weight` [C_out, C_in / groups, kH, kW], computes the input gradient of
    shape `input_shape` ([N, C_in, H, W]): the transposed convolution with the
    forward op's `stride`, `padding`, `dilation` and `groups`
    (torch.nn.grad.conv2d_input). `input_shape` resolves the rows and columns
    that the forward stride skipped.

    ```mlir
    %dx = d2l.conv2d_backward_input %dy, %w {input_shape = array<i64: 8, 6, 12, 12>}
        : (tensor<8x16x8x8xf32>, tensor<16x6x5x5xf32>) -> tensor<8x6x12x12xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$weight,
                   DenseI64ArrayAttr:$input_shape,
                   D2L_Pair1:$stride, D2L_Pair0:$padding, D2L_Pair1:$dilation,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$groups);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_Conv2dBackwardFilterOp : D2L_ShapedOp<"conv2d_backward_filter",
                                              [D2L_Differentiable]> {
  let summary = "gradient of conv2d with respect to its weight";
  let description = [{
    Given the convolution's `input` [N, C_in, H, W] and `grad_output`
    [N, C_out, H_out, W_out], computes the weight gradient
    [C_out, C_in / groups, kH, kW] with `kernel_size` = (kH, kW) and the
    forward op's `stride`, `padding`, `dilation` and `groups`
    (torch.nn.grad.conv2d_weight).

    ```mlir
    %dw = d2l.conv2d_backward_filter %x, %dy {kernel_size = array<i64: 5, 5>}
        : (tensor<8x6x12x12xf32>, tensor<8x16x8x8xf32>) -> tensor<16x6x5x5xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$grad_output,
                   DenseI64ArrayAttr:$kernel_size,
                   D2L_Pair1:$stride, D2L_Pair0:$padding, D2L_Pair1:$dilation,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$groups);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_MaxPool2dBackwardOp : D2L_ShapedOp<"max_pool2d_backward",
                                           [D2L_Differentiable]> {
  let summary = "gradient of max_pool2d with respect to its input";
  let description = [{
    Routes each element of `grad_output` to the position of its window's
    maximum in `input` (the first one in row-major order on ties, as
    PyTorch), summing where windows overlap.

    ```mlir
    %dx = d2l.max_pool2d_backward %dy, %x {kernel_size = array<i64: 3, 3>,
                                           stride = array<i64: 2, 2>}
        : (tensor<8x4x6x6xf32>, tensor<8x4x13x13xf32>) -> tensor<8x4x13x13xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$input,
                   DenseI64ArrayAttr:$kernel_size,
                   OptionalAttr<DenseI64ArrayAttr>:$stride, D2L_Pair0:$padding);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDeclaration = [{
    ::llvm::SmallVector<int64_t, 2> getEffectiveStride() {
      return ::mlir::d2l::strideOrKernel(getStride(), getKernelSize());
    }
  }];
}

def D2L_MaxPool2dSelectOp : D2L_ShapedOp<"max_pool2d_select",
                                         [D2L_Differentiable]> {
  let summary = "values at the window maxima of another tensor "
                "(the JVP of max_pool2d)";
  let description = [{
    For each pooling window, the element of `values` at the position where
    `input` attains its maximum (first in row-major order on ties): the
    tangent of max_pool2d.

    ```mlir
    %dy = d2l.max_pool2d_select %x, %dx {kernel_size = array<i64: 2, 2>}
        : (tensor<8x4x6x6xf32>, tensor<8x4x6x6xf32>) -> tensor<8x4x3x3xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$values,
                   DenseI64ArrayAttr:$kernel_size,
                   OptionalAttr<DenseI64ArrayAttr>:$stride, D2L_Pair0:$padding);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDeclaration = [{
    ::llvm::SmallVector<int64_t, 2> getEffectiveStride() {
      return ::mlir::d2l::strideOrKernel(getStride(), getKernelSize());
    }
  }];
}

def D2L_AvgPool2dBackwardOp : D2L_ShapedOp<"avg_pool2d_backward",
                                           [D2L_Differentiable]> {
  let summary = "gradient of avg_pool2d with respect to its input";
  let description = [{
    Spreads each element of `grad_output` evenly (by the forward divisor)
    over its window of an input of shape `input_shape`.

    ```mlir
    %dx = d2l.avg_pool2d_backward %dy {kernel_size = array<i64: 2, 2>,
                                       input_shape = array<i64: 8, 6, 28, 28>}
        : (tensor<8x6x14x14xf32>) -> tensor<8x6x28x28xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output,
                   DenseI64ArrayAttr:$input_shape,
                   DenseI64ArrayAttr:$kernel_size,
                   OptionalAttr<DenseI64ArrayAttr>:$stride, D2L_Pair0:$padding,
                   DefaultValuedAttr<BoolAttr, "true">:$count_include_pad);
  let results = (outs D2L_FloatTensor:$result);
  let extraClassDeclaration = [{
    ::llvm::SmallVector<int64_t, 2> getEffectiveStride() {
      return ::mlir::d2l::strideOrKernel(getStride(), getKernelSize());
    }
  }];
}

def D2L_AdaptiveAvgPool2dBackwardOp : D2L_ShapedOp<
    "adaptive_avg_pool2d_backward", [D2L_Differentiable]> {
  let summary = "gradient of adaptive_avg_pool2d with respect to its input";
  let description = [{
    ```mlir
    %dx = d2l.adaptive_avg_pool2d_backward %dy {input_shape = array<i64: 8, 512, 3, 3>}
        : (tensor<8x512x1x1xf32>) -> tensor<8x512x3x3xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output,
                   DenseI64ArrayAttr:$input_shape);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_BatchNormBackwardOp : D2L_ShapedOp<"batch_norm_backward",
                                           [D2L_Differentiable]> {
  let summary = "gradient of batch_norm (training form)";
  let description = [{
    From `grad_output`, the forward `input`, `weight` and the saved batch
    statistics `batch_mean` and `batch_invstd`, computes, per channel with
    `x̂ = (x - mean) invstd` and `n` values per channel,
    `grad_input = weight invstd / n (n dy - Σdy - x̂ Σ(dy x̂))`,
    `grad_weight = Σ(dy x̂)` and `grad_bias = Σdy`.

    ```mlir
    %dx, %dg, %db = d2l.batch_norm_backward %dy, %x, %g, %mean, %invstd
        : (tensor<8x6x24x24xf32>, tensor<8x6x24x24xf32>, tensor<6xf32>,
           tensor<6xf32>, tensor<6xf32>)
        -> (tensor<8x6x24x24xf32>, tensor<6xf32>, tensor<6xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$input,
                   D2L_FloatTensor:$weight, D2L_FloatTensor:$batch_mean,
                   D2L_FloatTensor:$batch_invstd);
  let results = (outs D2L_FloatTensor:$grad_input, D2L_FloatTensor:$grad_weight,
                 D2L_FloatTensor:$grad_bias);
}

def D2L_LayerNormBackwardOp : D2L_ShapedOp<"layer_norm_backward",
                                           [D2L_Differentiable]> {
  let summary = "gradient of layer_norm";
  let description = [{
    From `grad_output`, the forward `input`, `weight` and the saved row
    statistics `mean` and `rstd`, computes, per row with
    `x̂ = (x - mean) rstd`, `g = dy weight` and D values per row,
    `grad_input = rstd / D (D g - Σg - x̂ Σ(g x̂))`,
    `grad_weight = Σ_rows(dy x̂)` and `grad_bias = Σ_rows dy`.

    ```mlir
    %dx, %dg, %db = d2l.layer_norm_backward %dy, %x, %g, %mean, %rstd
        : (tensor<64x10x32xf32>, tensor<64x10x32xf32>, tensor<32xf32>,
           tensor<64x10xf32>, tensor<64x10xf32>)
        -> (tensor<64x10x32xf32>, tensor<32xf32>, tensor<32xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$input,
                   D2L_FloatTensor:$weight, D2L_FloatTensor:$mean,
                   D2L_FloatTensor:$rstd);
  let results = (outs D2L_FloatTensor:$grad_input, D2L_FloatTensor:$grad_weight,
                 D2L_FloatTensor:$grad_bias);
}

def D2L_MaskedSoftmaxBackwardOp : D2L_ShapedOp<"masked_softmax_backward",
                                               [D2L_Differentiable]> {
  let summary = "gradient of masked_softmax through its output";
  let description = [{
    `y (g - sum(g y))` over the last dimension at the valid positions (k
    below the row's valid length), zero at the masked ones; `output` is
    masked_softmax's result (zero at the masked positions of a row with a
    valid length, which makes this map symmetric: its own derivative).

    ```mlir
    %dx = d2l.masked_softmax_backward %dy, %y, %lens
        : (tensor<256x10x10xf32>, tensor<256x10x10xf32>, tensor<256xi64>)
        -> tensor<256x10x10xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$output,
                   D2L_IntTensor:$valid_lens);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_EmbeddingBackwardOp : D2L_ShapedOp<"embedding_backward",
                                           [D2L_Differentiable]> {
  let summary = "gradient of embedding: the rows' gradients summed per index";
  let description = [{
    A [num_embeddings, D] tensor whose row v is the sum of `grad_output`'s
    rows at the positions where `indices` is v (zero for indices that do not
    occur, and for indices outside [0, num_embeddings)).

    ```mlir
    %dw = d2l.embedding_backward %dy, %ids {num_embeddings = 184 : i64}
        : (tensor<64x10x32xf32>, tensor<64x10xi64>) -> tensor<184x32xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_IntTensor:$indices,
                   D2L_I64Attr:$num_embeddings);
  let results = (outs D2L_FloatTensor:$result);
}

def D2L_SliceBackwardOp : D2L_ShapedOp<"slice_backward",
                                       [D2L_Differentiable]> {
  let summary = "gradient of slice: scatter into zeros of the input shape";
  let description = [{
    A zero tensor of shape `input_shape` holding `grad_output` at the indices
    `start, start + step, ...` of dimension `dim` (`start` already clamped).

    ```mlir
    %dx = d2l.slice_backward %dy {input_shape = array<i64: 8, 10>, dim = 1 : i64,
                                  start = 2 : i64, step = 3 : i64}
        : (tensor<8x3xf32>) -> tensor<8x10xf32>
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output,
                   DenseI64ArrayAttr:$input_shape, D2L_I64Attr:$dim,
                   D2L_I64Attr:$start, DefaultValuedAttr<D2L_I64Attr, "1">:$step);
  let results = (outs D2L_FloatTensor:$result);
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def D2L_Conv2dBatchStatsOp : D2L_ShapedOp<"conv2d_batch_stats"> {
  let summary = "conv2d that also gives its output's batch statistics";
  let description = [{
    The forward half of a fused conv + BatchNorm (training form), made by
    `--d2l-fuse-conv-bn-relu`: `result` is `conv2d(input, weight, bias)`
    and the other results are what `batch_norm` in training form computes
    from it (`batch_mean`, `batch_invstd`, the updated running mean and the
    updated running variance, unbiased, with `momentum`). The convolution's
    kernel accumulates each channel's sum and sum of squares as it stores
    its output, so the statistics need no second pass over it; the
    normalisation itself is left to elementwise ops, which fuse with the
    activation. The bias is last because it is optional.

    ```mlir
    %y, %mean, %invstd, %rm, %rv = d2l.conv2d_batch_stats %x, %w, %m, %v, %b
        {padding = array<i64: 1, 1>}
        : (tensor<8x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>,
           tensor<4xf32>, tensor<4xf32>)
        -> (tensor<8x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
            tensor<4xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$input, D2L_FloatTensor:$weight,
                   D2L_FloatTensor:$running_mean, D2L_FloatTensor:$running_var,
                   Optional<D2L_FloatTensor>:$bias,
                   D2L_Pair1:$stride, D2L_Pair0:$padding, D2L_Pair1:$dilation,
                   DefaultValuedAttr<D2L_I64Attr, "1">:$groups,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                   DefaultValuedAttr<F64Attr, "0.1">:$momentum);
  let results = (outs D2L_FloatTensor:$result, D2L_FloatTensor:$batch_mean,
                 D2L_FloatTensor:$batch_invstd,
                 D2L_FloatTensor:$new_running_mean,
                 D2L_FloatTensor:$new_running_var);
}

def D2L_BatchNormActBackwardOp : D2L_ShapedOp<"batch_norm_act_backward"> {
  let summary = "gradient of activation(batch_norm(x)) from x alone";
  let description = [{
    The backward half of a fused BatchNorm + `activation` (`relu`,
    `sigmoid`, `tanh` or `none`), made by `--d2l-fuse-conv-bn-relu`: from
    `grad_output` (the gradient of the activation's output), the BatchNorm
    `input` x, its `weight` and `bias` and the batch statistics, it
    recomputes `z = x̂ weight + bias` and the activation's derivative at each
    element (the ReLU mask is never stored), then gives what
    `batch_norm_backward` gives for `dz`: `grad_input`, `grad_weight` and
    `grad_bias`. One block per channel: a pass for the two reductions, a
    pass for the input gradient.

    ```mlir
    %dx, %dg, %db = d2l.batch_norm_act_backward %da, %x, %g, %b, %mean, %invstd
        {activation = "relu"}
        : (tensor<8x4x8x8xf32>, tensor<8x4x8x8xf32>, tensor<4xf32>,
           tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
        -> (tensor<8x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$input,
                   D2L_FloatTensor:$weight, D2L_FloatTensor:$bias,
                   D2L_FloatTensor:$batch_mean, D2L_FloatTensor:$batch_invstd,
                   StrAttr:$activation);
  let results = (outs D2L_FloatTensor:$grad_input, D2L_FloatTensor:$grad_weight,
                 D2L_FloatTensor:$grad_bias);
}

def D2L_ConvBnReluPoolBackwardOp
    : D2L_ShapedOp<"conv_bn_relu_pool_backward"> {
  let summary = "parameter gradients of a conv-BN-ReLU-max-pool stem, "
                "recomputing its activations inside the kernel";
  let description = [{
    The backward pass of `max_pool2d(relu(batch_norm(conv2d(input, weight,
    bias))))` (BatchNorm in training form, groups 1, dilation 1) when the
    input needs no gradient (a network's first layer): from the pooled
    output's gradient `grad_output` and the batch statistics it gives the
    gradients of the convolution's weight and bias and of BatchNorm's weight
    and bias, with no tensor of the convolution's output size: each pooling
    window's values are recomputed from the input (the same products in the
    same order as the forward convolution, so the same maximum is found),
    and the weight gradient is assembled from per-channel sums (made by
    `--d2l-remat` when it recomputes the stem; see FuseStemBackward.cpp).
    One block per output channel, two passes over the input, sums in double.
    The bias is last because it is optional; `grad_bias` is given either way.

    ```mlir
    %dw, %dgamma, %dbeta, %db = d2l.conv_bn_relu_pool_backward %dp, %x, %w,
        %gamma, %beta, %mean, %invstd, %b
        {stride = array<i64: 2, 2>, padding = array<i64: 3, 3>,
         pool_kernel_size = array<i64: 3, 3>, pool_stride = array<i64: 2, 2>,
         pool_padding = array<i64: 1, 1>}
        : (tensor<2x8x12x12xf32>, tensor<2x1x48x48xf32>, tensor<8x1x7x7xf32>,
           tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
           tensor<8xf32>)
        -> (tensor<8x1x7x7xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins D2L_FloatTensor:$grad_output, D2L_FloatTensor:$input,
                   D2L_FloatTensor:$weight, D2L_FloatTensor:$bn_weight,
                   D2L_FloatTensor:$bn_bias, D2L_FloatTensor:$batch_mean,
                   D2L_FloatTensor:$batch_invstd,
                   Optional<D2L_FloatTensor>:$bias,
                   D2L_Pair1:$stride, D2L_Pair0:$padding,
                   DenseI64ArrayAttr:$pool_kernel_size,
                   DenseI64ArrayAttr:$pool_stride, D2L_Pair0:$pool_padding);
  let results = (outs D2L_FloatTensor:$grad_weight,
                 D2L_FloatTensor:$grad_bn_weight,
                 D2L_FloatTensor:$grad_bn_bias, D2L_FloatTensor:$grad_bias);
}

def D2L_FusedOp : D2L_Op<"fused", [IsolatedFromAbove, Pure,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "ops that run as one kernel";
  let description = [{
    A group of ops formed by the fusion passes, run as one kernel; its
    meaning is its body run in order (the evaluator does exactly that). The
    region's arguments are the group's inputs, `d2l.yield` gives its
    results. `kind` says what the kernel is:

    - `elementwise`: elementwise ops whose results all have the shape of the
      first result (the iteration space); one thread computes the whole
      chain for an element, so intermediates never reach memory;
    - `epilogue`: a GEMM-like op (conv2d, conv_transpose2d,
      conv2d_backward_input, linear, matmul, batch_matmul) followed by
      elementwise ops on its result, applied as each output element is
      stored;
    - `multi`: independent elementwise chains of different shapes in one
      launch (multi-tensor apply, for the optimizer update of every
      parameter).

    ```mlir
    %y = d2l.fused "elementwise" (%x, %b) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32> {
    ^bb0(%a: tensor<4x3xf32>, %c: tensor<3xf32>):
      %0 = d2l.add %a, %c : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
      %1 = d2l.sigmoid %0 : tensor<4x3xf32>
      d2l.yield %1 : tensor<4x3xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind, Variadic<D2L_AnyTensor>:$inputs);
  let results = (outs Variadic<D2L_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)
    $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    Block &getBlock() { return getBody().front(); }
  }];
}

def D2L_ScanOp : D2L_Op<"scan", [AttrSizedOperandSegments,
    RecursiveMemoryEffects, SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a loop over the leading dimension of sequences, carrying "
                "state (jax.lax.scan)";
  let description = [{
    Runs its body once per step t = 0 .. T-1, T the leading dimension of
    every `sequences` operand (at least one; all the same T). The body's
    arguments are the carried values (first `init`, then what the previous
    step yielded) followed by step t of each sequence (`sequences[i][t]`,
    without the leading dimension). `d2l.yield` gives the new carried values
    (of `init`'s types) and then the step's outputs. The results are the
    final carried values and then each output stacked over the steps ([T,
    ...]). The body may use values defined above it (parameters, the
    encoder's outputs); the step count is static.

    This is how a model states a recurrence once instead of T times;
    `--d2l-unroll` expands it into T copies of the body before
    differentiation, so the derivative, the saved values of every step, the
    memory report and recomputation apply to the unrolled steps.

    ```mlir
    %h, %ys = d2l.scan (%h0) over (%xs)
        : (tensor<32x256xf32>, tensor<35x32x28xf32>)
        -> (tensor<32x256xf32>, tensor<35x32x256xf32>) {
    ^bb0(%hp: tensor<32x256xf32>, %x: tensor<32x28xf32>):
      ...
      d2l.yield %hn, %hn : tensor<32x256xf32>, tensor<32x256xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<D2L_AnyTensor>:$init,
                   Variadic<D2L_AnyTensor>:$sequences);
  let results = (outs Variadic<D2L_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $init `)` `over` `(` $sequences `)` attr-dict `:`
    functional-type(operands, results) $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    Block &getBlock() { return getBody().front(); }
    /// The number of steps: the sequences' leading dimension.
    int64_t getLength();
  }];
}

def D2L_YieldOp : D2L_Op<"yield", [Pure, Terminator,
                                  ParentOneOf<["FusedOp", "ScanOp"]>]> {
  let summary = "the results of a fused group or of a scan step";
  let description = [{
    ```mlir
    d2l.yield %0, %1 : tensor<4x3xf32>, tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Variadic<D2L_AnyTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* empty */ }]>];
}

#endif // D2L_OPS_TD
