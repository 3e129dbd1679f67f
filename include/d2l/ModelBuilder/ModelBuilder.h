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
  /// nn.Embedding(num, dim) on integer `indices`: the table
  /// `<prefix>.weight` [num, dim], initialised N(0, 1) as PyTorch does.
  Value embedding(StringRef prefix, Value indices, int64_t num, int64_t dim);
  /// nn.LayerNorm(x.shape[-1]) (eps 1e-5, elementwise affine), composed of
  /// d2l ops (two-pass: mean, centred mean of squares), so its derivatives
  /// and kernels are theirs: `<prefix>.weight` (ones), `<prefix>.bias`.
  Value layerNorm(StringRef prefix, Value x);
  /// The book's MultiHeadAttention (10.5: W_q, W_k, W_v, W_o without
  /// biases, `heads` heads, scaled dot products) of queries [B, Q, H] over
  /// keyValues [B, K, H]: the scores masked as masked_softmax does by
  /// `validLens` [B] (one length per batch row, for every head; null: no
  /// mask), and, when `causal`, query i sees keys 0..i only (the book's
  /// dec_valid_lens); dropout p on the attention weights.
  Value multiHeadAttention(StringRef prefix, Value queries, Value keyValues,
                           int64_t heads, Value validLens, bool causal,
                           double dropoutP);
  /// AddNorm: LayerNorm(dropout(y) + x), the norm `<prefix>.ln`.
  Value addNorm(StringRef prefix, Value x, Value y, double dropoutP);
  /// PositionWiseFFN: dense2(relu(dense1(x))), dense1 to ffnHidden.
  Value positionWiseFFN(StringRef prefix, Value x, int64_t ffnHidden);
  /// The book's EncoderBlock (10.7): attention (over `validLens` [B] when
  /// given), addnorm1, ffn, addnorm2; x is [B, T, hidden]; dropout p
  /// applies to the attention weights and in the AddNorms.
  Value transformerEncoderBlock(StringRef prefix, Value x, int64_t heads,
                                int64_t ffnHidden, double dropoutP,
                                Value validLens = {});
  /// The book's DecoderBlock in training form (all steps at once): causal
  /// self-attention (attention1, addnorm1), attention over the encoder's
  /// outputs `enc` within `encLens` (attention2, addnorm2), ffn, addnorm3.
  Value transformerDecoderBlock(StringRef prefix, Value x, Value enc,
                                Value encLens, int64_t heads, int64_t ffnHidden,
                                double dropoutP);
  /// PositionalEncoding: x [B, T, H] + P[:T] (sin and cos of
  /// i / 10000^(2j/H)), then dropout.
  Value positionalEncoding(Value x, double dropoutP);
  /// The book's Transformer (10.7) in an EncoderDecoder: TransformerEncoder
  /// (embedding times sqrt(hidden), positional encoding, `layers`
  /// EncoderBlocks over the source valid lengths) and TransformerDecoder
  /// (the same, DecoderBlocks, `dense`); parameters with the book's names
  /// (`encoder.blks.block0.attention.W_q.weight`, ...). Inputs as
  /// seq2seqAttention's; returns the logits [T B, tgtVocab], rows t B + b.
  /// Self-attention in the decoder is causal in @forward too, which is what
  /// the book's step-by-step prediction computes.
  Value transformer(Value src, Value srcLens, Value decIn, int64_t srcVocab,
                    int64_t tgtVocab, int64_t hidden, int64_t heads,
                    int64_t ffnHidden, int64_t layers, double dropoutP);
  /// A float32 constant of the given shape and values.
  Value floatConstant(ArrayRef<int64_t> shape, ArrayRef<float> values);
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
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  /// x[..., start:end] along `dim`.
  Value slice(Value x, int64_t dim, int64_t start, int64_t end);
  Value reshape(Value x, ArrayRef<int64_t> shape);
  /// x W^T + bias with given weight and bias values (for layers whose
  /// parameter names are not `<prefix>.weight`, like nn.GRU's).
  Value linear(Value x, Value weight, Value bias);
  Value concat(ValueRange xs, int64_t dim);

  // Blocks of the book, with its module names inside `prefix`.
  /// d2l's Residual(input_channels, num_channels, use_1x1conv, strides):
  /// Y = ReLU(bn1(conv1(X))); Y = bn2(conv2(Y)); ReLU(Y + shortcut(X)),
  /// the shortcut `conv3` (1x1) when `conv1x1`.
  Value residualBlock(StringRef prefix, Value x, int64_t channels, bool conv1x1,
                      int64_t stride);
  /// d2l's Inception(in_channels, c1, c2, c3, c4): paths p1_1; p2_1, p2_2
  /// (3x3); p3_1, p3_2 (5x5); 3x3 max pool then p4_2; ReLU after every
  /// conv; concatenated on channels.
  Value inceptionBlock(StringRef prefix, Value x, int64_t c1,
                       std::pair<int64_t, int64_t> c2,
                       std::pair<int64_t, int64_t> c3, int64_t c4);
  /// nn.GRU(inputs, hidden) (one layer) unrolled over the time steps of
  /// `xs` [T, B, inputs] from the state `h` [B, hidden]: the parameters
  /// `<prefix>.weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`
  /// (gates r, z, n in PyTorch's order), initialised as PyTorch does
  /// (uniform in ±1/sqrt(hidden)), as one d2l.scan over the steps. Returns
  /// the outputs as [T B, hidden].
  Value gruLayer(StringRef prefix, Value xs, Value h, int64_t hidden);
  /// xs[t] of a time-major [T, B, inputs] sequence, as [B, inputs].
  Value timeStep(Value xs, int64_t t);
  /// A d2l.scan over the leading dimension of `sequences`: `step` gets the
  /// carried values (from `init`) and step t of each sequence and returns
  /// the new carried values followed by the step's outputs. Returns the
  /// final carried values, then each output stacked over the steps [T, ...].
  using ScanStep = llvm::function_ref<SmallVector<Value>(ValueRange carried,
                                                         ValueRange steps)>;
  SmallVector<Value> scan(ValueRange init, ValueRange sequences, ScanStep step);
  /// nn.RNN(inputs, hidden) (tanh, one layer), the same way.
  Value rnnLayer(StringRef prefix, Value xs, Value h, int64_t hidden);
  /// nn.LSTM(inputs, hidden) (one layer; gates i, f, g, o in PyTorch's
  /// order) from the states `h` and `c` [B, hidden], the same way.
  Value lstmLayer(StringRef prefix, Value xs, Value h, Value c, int64_t hidden);

  /// The parameters of layer `layer` of an nn.RNN / nn.GRU / nn.LSTM with
  /// `gates` blocks of `hidden` rows: `<prefix>.weight_ih_l<layer>`,
  /// `weight_hh_l<layer>`, `bias_ih_l<layer>`, `bias_hh_l<layer>`,
  /// initialised as PyTorch does (uniform in ±1/sqrt(hidden)), or the
  /// weights with `weightInit` where given.
  struct RecurrentParams {
    Value wih, whh, bih, bhh;
  };
  RecurrentParams recurrentParams(StringRef prefix, int64_t layer,
                                  int64_t gates, int64_t inputs, int64_t hidden,
                                  StringRef weightInit = "");
  /// One step of a GRU layer: the new state from x [B, inputs] and the
  /// state h [B, hidden] (gates r, z, n in PyTorch's order).
  Value gruCell(const RecurrentParams &p, Value x, Value h);
  /// nn.GRU(inputs, hidden, num_layers = hs.size(), dropout) unrolled over
  /// xs [T, B, inputs] from the states `hs` (one [B, hidden] per layer),
  /// dropout on the outputs of every layer but the last. Returns the last
  /// layer's outputs [T B, hidden]; `hs` becomes the final states.
  Value gru(StringRef prefix, Value xs, SmallVectorImpl<Value> &hs,
            int64_t hidden, double dropout, StringRef weightInit = "");
  /// A float tensor of zeros (torch.zeros).
  Value zeros(ArrayRef<int64_t> shape);

  /// The book's sequence to sequence model with Bahdanau attention (10.4:
  /// Seq2SeqEncoder, Seq2SeqAttentionDecoder with AdditiveAttention, in an
  /// EncoderDecoder): `src` and `decIn` are token indices [B, T], `srcLens`
  /// the valid lengths of `src` [B]. The encoder embeds `src` and runs a
  /// `layers`-layer GRU from zeros; the decoder starts from its final
  /// states and, at each step, attends with the last layer's state over the
  /// encoder's outputs (W_q, W_k, w_v without biases; masked softmax over
  /// the valid lengths; dropout on the weights), feeds [context, embedded
  /// token] to its GRU and maps the output with `dense`. Parameters carry
  /// the book's names (`encoder.embedding.weight`, `encoder.rnn.*`,
  /// `decoder.attention.W_k.weight`, ..., `decoder.dense.bias`), initialised
  /// as the book's xavier_init_weights leaves them (Xavier-uniform weights
  /// of the linear layers and GRUs, PyTorch's default biases, N(0, 1)
  /// embeddings). Returns the
  /// logits [T B, tgtVocab], rows t B + b (time-major).
  Value seq2seqAttention(Value src, Value srcLens, Value decIn,
                         int64_t srcVocab, int64_t tgtVocab, int64_t embed,
                         int64_t hidden, int64_t layers, double dropout);

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
