//===- ModelBuilder.cpp - build d2l models like torch.nn ------------------===//

#include "d2l/ModelBuilder/ModelBuilder.h"

#include <array>
#include <cmath>

using namespace mlir;
using namespace mlir::d2l;

ModelBuilder::ModelBuilder(ModuleOp module, StringRef name)
    : b(module.getContext()) {
  b.setInsertionPointToEnd(module.getBody());
  func = b.create<func::FuncOp>(b.getUnknownLoc(), name,
                                b.getFunctionType({}, {}));
  body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
}

std::string ModelBuilder::join(StringRef prefix, StringRef leaf) {
  return prefix.empty() ? leaf.str() : (prefix + "." + leaf).str();
}

Value ModelBuilder::addArgument(ArrayRef<int64_t> shape, Type elementType,
                                ArrayRef<NamedAttribute> attrs) {
  if (!elementType)
    elementType = b.getF32Type();
  Value v = body->addArgument(RankedTensorType::get(shape, elementType), loc());
  argAttrs.push_back(b.getDictionaryAttr(attrs));
  return v;
}

Value ModelBuilder::input(StringRef name, ArrayRef<int64_t> shape,
                          Type elementType) {
  return addArgument(shape, elementType,
                     {b.getNamedAttr(kInputAttr, b.getStringAttr(name))});
}

Value ModelBuilder::param(StringRef name, ArrayRef<int64_t> shape,
                          StringRef init) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  numParams += n;
  return addArgument(shape, {},
                     {b.getNamedAttr(kParamAttr, b.getStringAttr(name)),
                      b.getNamedAttr(kInitAttr, b.getStringAttr(init))});
}

Value ModelBuilder::state(StringRef name, ArrayRef<int64_t> shape,
                          StringRef init) {
  return addArgument(shape, {},
                     {b.getNamedAttr(kStateAttr, b.getStringAttr(name)),
                      b.getNamedAttr(kInitAttr, b.getStringAttr(init))});
}

static int64_t dim(Value v, int64_t i) {
  auto t = cast<RankedTensorType>(v.getType());
  return t.getDimSize(i < 0 ? i + t.getRank() : i);
}

Value ModelBuilder::conv2d(StringRef prefix, Value x, int64_t outChannels,
                           int64_t kernel, int64_t stride, int64_t padding,
                           StringRef init) {
  Value w = param(join(prefix, "weight"),
                  {outChannels, dim(x, 1), kernel, kernel}, init);
  Value bias = param(join(prefix, "bias"), {outChannels}, "zeros");
  return b.create<Conv2dOp>(
      loc(), x, w, bias, b.getDenseI64ArrayAttr({stride, stride}),
      b.getDenseI64ArrayAttr({padding, padding}),
      b.getDenseI64ArrayAttr({1, 1}), b.getI64IntegerAttr(1));
}

Value ModelBuilder::convTranspose2d(StringRef prefix, Value x,
                                    int64_t outChannels, int64_t kernel,
                                    int64_t stride, int64_t padding,
                                    StringRef init) {
  Value w = param(join(prefix, "weight"),
                  {dim(x, 1), outChannels, kernel, kernel}, init);
  Value bias = param(join(prefix, "bias"), {outChannels}, "zeros");
  return b.create<ConvTranspose2dOp>(
      loc(), x, w, bias, b.getDenseI64ArrayAttr({stride, stride}),
      b.getDenseI64ArrayAttr({padding, padding}),
      b.getDenseI64ArrayAttr({0, 0}), b.getDenseI64ArrayAttr({1, 1}),
      b.getI64IntegerAttr(1));
}

Value ModelBuilder::linear(StringRef prefix, Value x, int64_t outFeatures,
                           StringRef init) {
  Value w = param(join(prefix, "weight"), {outFeatures, dim(x, -1)}, init);
  Value bias = param(join(prefix, "bias"), {outFeatures}, "zeros");
  return b.create<LinearOp>(loc(), x, w, bias);
}

Value ModelBuilder::embedding(StringRef prefix, Value indices, int64_t num,
                              int64_t dim) {
  Value w = param(join(prefix, "weight"), {num, dim}, "normal(1)");
  return b.create<EmbeddingOp>(loc(), indices, w);
}

Value ModelBuilder::layerNorm(StringRef prefix, Value x) {
  int64_t d = dim(x, -1);
  Value w = param(join(prefix, "weight"), {d}, "ones");
  Value bias = param(join(prefix, "bias"), {d}, "zeros");
  return b.create<LayerNormOp>(loc(), x, w, bias, b.getF64FloatAttr(1e-5))
      .getResult();
}

Value ModelBuilder::floatConstant(ArrayRef<int64_t> shape,
                                  ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  return b.create<ConstantOp>(loc(), DenseElementsAttr::get(type, values));
}

Value ModelBuilder::multiHeadAttention(StringRef prefix, Value queries,
                                       Value keyValues, int64_t heads,
                                       Value validLens, bool causal,
                                       double dropoutP) {
  int64_t batch = dim(queries, 0), nq = dim(queries, 1), nk = dim(keyValues, 1),
          hidden = dim(queries, 2);
  int64_t d = hidden / heads;
  auto dense = [&](StringRef name, Value v) {
    Value w = param(join(join(prefix, name), "weight"), {hidden, dim(v, -1)},
                    "xavier_uniform");
    return linear(v, w, Value());
  };
  // transpose_qkv: [B, T, H d] -> [B H, T, d]; transpose_output back.
  auto split = [&](Value v) {
    int64_t steps = dim(v, 1);
    v = reshape(v, {batch, steps, heads, d});
    v = b.create<TransposeOp>(loc(), v, b.getDenseI64ArrayAttr({0, 2, 1, 3}));
    return reshape(v, {batch * heads, steps, d});
  };
  Value q = split(dense("W_q", queries));
  Value k = split(dense("W_k", keyValues));
  Value v = split(dense("W_v", keyValues));
  // DotProductAttention: masked_softmax(Q K^T / sqrt(d)) V.
  Value scores = mul(b.create<BatchMatmulOp>(loc(), q, k, b.getBoolAttr(false),
                                             b.getBoolAttr(true)),
                     floatConstant({}, {float(1.0 / std::sqrt(double(d)))}));
  if (causal) {
    // Query i sees keys 0..i: the book's dec_valid_lens = arange(1, T + 1)
    // (masked_softmax's -1e6, which exp turns into 0 exactly, as here).
    std::vector<float> mask(size_t(nq * nk), 0.0f);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t j = i + 1; j < nk; ++j)
        mask[size_t(i * nk + j)] = -1e6f;
    scores = add(scores, floatConstant({nq, nk}, mask));
  }
  Value weights;
  if (validLens) {
    // repeat_interleave(valid_lens, heads): rows b H .. b H + H - 1 of the
    // scores belong to batch row b, so [B H, Q, K] viewed as [B, H Q, K]
    // takes one length per batch row.
    weights =
        reshape(b.create<MaskedSoftmaxOp>(
                    loc(), reshape(scores, {batch, heads * nq, nk}), validLens),
                {batch * heads, nq, nk});
  } else {
    weights = b.create<SoftmaxOp>(loc(), scores, b.getI64IntegerAttr(-1));
  }
  if (dropoutP > 0)
    weights = dropout(weights, dropoutP);
  Value attended = b.create<BatchMatmulOp>(
      loc(), weights, v, b.getBoolAttr(false), b.getBoolAttr(false));
  attended = reshape(attended, {batch, heads, nq, d});
  attended = b.create<TransposeOp>(loc(), attended,
                                   b.getDenseI64ArrayAttr({0, 2, 1, 3}));
  return dense("W_o", reshape(attended, {batch, nq, hidden}));
}

Value ModelBuilder::addNorm(StringRef prefix, Value x, Value y,
                            double dropoutP) {
  return layerNorm(join(prefix, "ln"),
                   add(dropoutP > 0 ? dropout(y, dropoutP) : y, x));
}

Value ModelBuilder::positionWiseFFN(StringRef prefix, Value x,
                                    int64_t ffnHidden) {
  auto dense = [&](StringRef name, Value v, int64_t out) {
    std::string p = join(prefix, name);
    double bound = 1.0 / std::sqrt(double(dim(v, -1)));
    Value w = param(join(p, "weight"), {out, dim(v, -1)}, "xavier_uniform");
    Value bv = param(join(p, "bias"), {out},
                     "uniform(-" + std::to_string(bound) + ", " +
                         std::to_string(bound) + ")");
    return linear(v, w, bv);
  };
  return dense("dense2", relu(dense("dense1", x, ffnHidden)), dim(x, -1));
}

Value ModelBuilder::transformerEncoderBlock(StringRef prefix, Value x,
                                            int64_t heads, int64_t ffnHidden,
                                            double dropoutP, Value validLens) {
  Value y = addNorm(join(prefix, "addnorm1"), x,
                    multiHeadAttention(join(prefix, "attention"), x, x, heads,
                                       validLens, false, dropoutP),
                    dropoutP);
  return addNorm(join(prefix, "addnorm2"), y,
                 positionWiseFFN(join(prefix, "ffn"), y, ffnHidden), dropoutP);
}

Value ModelBuilder::transformerDecoderBlock(StringRef prefix, Value x,
                                            Value enc, Value encLens,
                                            int64_t heads, int64_t ffnHidden,
                                            double dropoutP) {
  Value y = addNorm(join(prefix, "addnorm1"), x,
                    multiHeadAttention(join(prefix, "attention1"), x, x, heads,
                                       Value(), true, dropoutP),
                    dropoutP);
  Value z = addNorm(join(prefix, "addnorm2"), y,
                    multiHeadAttention(join(prefix, "attention2"), y, enc,
                                       heads, encLens, false, dropoutP),
                    dropoutP);
  return addNorm(join(prefix, "addnorm3"), z,
                 positionWiseFFN(join(prefix, "ffn"), z, ffnHidden), dropoutP);
}

Value ModelBuilder::positionalEncoding(Value x, double dropoutP) {
  int64_t steps = dim(x, 1), hidden = dim(x, 2);
  // The book's P: sin at even, cos at odd columns of i / 10000^(2j/H),
  // computed in float32 as the book does.
  std::vector<float> p(size_t(steps * hidden));
  for (int64_t i = 0; i < steps; ++i)
    for (int64_t j = 0; j < hidden; j += 2) {
      float angle = float(i) / std::pow(10000.0f, float(j) / float(hidden));
      p[size_t(i * hidden + j)] = std::sin(angle);
      if (j + 1 < hidden)
        p[size_t(i * hidden + j + 1)] = std::cos(angle);
    }
  Value y = add(x, floatConstant({steps, hidden}, p));
  return dropoutP > 0 ? dropout(y, dropoutP) : y;
}

Value ModelBuilder::transformer(Value src, Value srcLens, Value decIn,
                                int64_t srcVocab, int64_t tgtVocab,
                                int64_t hidden, int64_t heads,
                                int64_t ffnHidden, int64_t layers,
                                double dropoutP) {
  auto embed = [&](StringRef prefix, Value tokens, int64_t vocab) {
    Value e = embedding(join(prefix, "embedding"), tokens, vocab, hidden);
    return positionalEncoding(
        mul(e, floatConstant({}, {float(std::sqrt(double(hidden)))})),
        dropoutP);
  };
  Value x = embed("encoder", src, srcVocab);
  for (int64_t i = 0; i < layers; ++i)
    x = transformerEncoderBlock("encoder.blks.block" + std::to_string(i), x,
                                heads, ffnHidden, dropoutP, srcLens);
  Value y = embed("decoder", decIn, tgtVocab);
  for (int64_t i = 0; i < layers; ++i)
    y = transformerDecoderBlock("decoder.blks.block" + std::to_string(i), y, x,
                                srcLens, heads, ffnHidden, dropoutP);
  int64_t batch = dim(y, 0), steps = dim(y, 1);
  // Time-major rows t B + b, as the other sequence models.
  Value rows = reshape(
      b.create<TransposeOp>(loc(), y, b.getDenseI64ArrayAttr({1, 0, 2})),
      {steps * batch, hidden});
  double bound = 1.0 / std::sqrt(double(hidden));
  Value w = param("decoder.dense.weight", {tgtVocab, hidden}, "xavier_uniform");
  Value bias = param("decoder.dense.bias", {tgtVocab},
                     "uniform(-" + std::to_string(bound) + ", " +
                         std::to_string(bound) + ")");
  return linear(rows, w, bias);
}

Value ModelBuilder::batchNorm(StringRef prefix, Value x) {
  int64_t c = dim(x, 1);
  Value gamma = param(join(prefix, "weight"), {c}, "ones");
  Value beta = param(join(prefix, "bias"), {c}, "zeros");
  Value mean = state(join(prefix, "running_mean"), {c}, "zeros");
  Value var = state(join(prefix, "running_var"), {c}, "ones");
  return b.create<BatchNormInferenceOp>(loc(), x, gamma, beta, mean, var,
                                        b.getF64FloatAttr(1e-5));
}

Value ModelBuilder::relu(Value x) { return b.create<ReluOp>(loc(), x); }
Value ModelBuilder::sigmoid(Value x) { return b.create<SigmoidOp>(loc(), x); }
Value ModelBuilder::tanh(Value x) { return b.create<TanhOp>(loc(), x); }

Value ModelBuilder::maxPool2d(Value x, int64_t kernel, int64_t stride,
                              int64_t padding) {
  return b.create<MaxPool2dOp>(loc(), x,
                               b.getDenseI64ArrayAttr({kernel, kernel}),
                               b.getDenseI64ArrayAttr({stride, stride}),
                               b.getDenseI64ArrayAttr({padding, padding}));
}

Value ModelBuilder::avgPool2d(Value x, int64_t kernel, int64_t stride,
                              int64_t padding) {
  return b.create<AvgPool2dOp>(
      loc(), x, b.getDenseI64ArrayAttr({kernel, kernel}),
      b.getDenseI64ArrayAttr({stride, stride}),
      b.getDenseI64ArrayAttr({padding, padding}), b.getBoolAttr(true));
}

Value ModelBuilder::adaptiveAvgPool2d(Value x, int64_t outH, int64_t outW) {
  return b.create<AdaptiveAvgPool2dOp>(loc(), x,
                                       b.getDenseI64ArrayAttr({outH, outW}));
}

Value ModelBuilder::flatten(Value x) {
  return b.create<FlattenOp>(loc(), x, b.getI64IntegerAttr(1),
                             b.getI64IntegerAttr(-1));
}

Value ModelBuilder::dropout(Value x, double p) {
  return b.create<DropoutOp>(loc(), x, Value(), b.getF64FloatAttr(p),
                             b.getI64IntegerAttr(dropoutCount++));
}

Value ModelBuilder::add(Value x, Value y) {
  return b.create<AddOp>(loc(), x, y);
}

Value ModelBuilder::sub(Value x, Value y) {
  return b.create<SubOp>(loc(), x, y);
}

Value ModelBuilder::mul(Value x, Value y) {
  return b.create<MulOp>(loc(), x, y);
}

Value ModelBuilder::slice(Value x, int64_t dimension, int64_t start,
                          int64_t end) {
  return b.create<SliceOp>(loc(), x, b.getI64IntegerAttr(dimension),
                           b.getI64IntegerAttr(start), b.getI64IntegerAttr(end),
                           b.getI64IntegerAttr(1));
}

Value ModelBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  return b.create<ReshapeOp>(loc(), x, b.getDenseI64ArrayAttr(shape));
}

Value ModelBuilder::linear(Value x, Value weight, Value bias) {
  return b.create<LinearOp>(loc(), x, weight, bias);
}

ModelBuilder::RecurrentParams
ModelBuilder::recurrentParams(StringRef prefix, int64_t layer, int64_t gates,
                              int64_t inputs, int64_t hidden,
                              StringRef weightInit) {
  double bound = 1.0 / std::sqrt(double(hidden));
  std::string init =
      "uniform(-" + std::to_string(bound) + ", " + std::to_string(bound) + ")";
  std::string winit = weightInit.empty() ? init : weightInit.str();
  auto name = [&](StringRef leaf) {
    return join(prefix, (leaf + "_l" + std::to_string(layer)).str());
  };
  return {param(name("weight_ih"), {gates * hidden, inputs}, winit),
          param(name("weight_hh"), {gates * hidden, hidden}, winit),
          param(name("bias_ih"), {gates * hidden}, init),
          param(name("bias_hh"), {gates * hidden}, init)};
}

Value ModelBuilder::zeros(ArrayRef<int64_t> shape) {
  auto et = b.getF32Type();
  Value zero = b.create<ConstantOp>(
      loc(), DenseElementsAttr::get(RankedTensorType::get({}, et),
                                    b.getFloatAttr(et, 0.0)));
  return b.create<BroadcastToOp>(loc(), zero, b.getDenseI64ArrayAttr(shape));
}

Value ModelBuilder::timeStep(Value xs, int64_t t) {
  return reshape(slice(xs, 0, t, t + 1), {dim(xs, 1), dim(xs, 2)});
}

SmallVector<Value> ModelBuilder::scan(ValueRange init, ValueRange sequences,
                                      ScanStep step) {
  // The body first, in a block of its own: the results' types are those it
  // yields.
  auto *block = new Block();
  for (Value v : init)
    block->addArgument(v.getType(), loc());
  for (Value v : sequences) {
    auto t = cast<RankedTensorType>(v.getType());
    block->addArgument(
        RankedTensorType::get(t.getShape().drop_front(), t.getElementType()),
        loc());
  }
  SmallVector<Value> yielded;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    yielded = step(block->getArguments().take_front(init.size()),
                   block->getArguments().drop_front(init.size()));
    b.create<YieldOp>(loc(), yielded);
  }
  int64_t steps = dim(sequences.front(), 0);
  SmallVector<Type> types;
  for (auto [i, v] : llvm::enumerate(yielded)) {
    auto t = cast<RankedTensorType>(v.getType());
    if (i < init.size()) {
      types.push_back(t);
      continue;
    }
    SmallVector<int64_t> shape = {steps};
    llvm::append_range(shape, t.getShape());
    types.push_back(RankedTensorType::get(shape, t.getElementType()));
  }
  auto op = b.create<ScanOp>(loc(), types, init, sequences);
  op.getBody().push_back(block);
  return SmallVector<Value>(op.getResults());
}

Value ModelBuilder::rnnLayer(StringRef prefix, Value xs, Value h,
                             int64_t hidden) {
  int64_t steps = dim(xs, 0), batch = dim(xs, 1), inputs = dim(xs, 2);
  auto [wih, whh, bih, bhh] = recurrentParams(prefix, 0, 1, inputs, hidden);
  auto r = scan({h}, {xs}, [&](ValueRange c, ValueRange x) {
    Value hn = tanh(add(linear(x[0], wih, bih), linear(c[0], whh, bhh)));
    return SmallVector<Value>{hn, hn};
  });
  return reshape(r[1], {steps * batch, hidden});
}

Value ModelBuilder::lstmLayer(StringRef prefix, Value xs, Value h, Value c,
                              int64_t hidden) {
  int64_t steps = dim(xs, 0), batch = dim(xs, 1), inputs = dim(xs, 2);
  auto [wih, whh, bih, bhh] = recurrentParams(prefix, 0, 4, inputs, hidden);
  auto r = scan({h, c}, {xs}, [&](ValueRange s, ValueRange x) {
    Value gates = add(linear(x[0], wih, bih), linear(s[0], whh, bhh));
    auto gate = [&](int64_t k) {
      return slice(gates, 1, k * hidden, (k + 1) * hidden);
    };
    Value i = sigmoid(gate(0)), f = sigmoid(gate(1)), g = tanh(gate(2)),
          o = sigmoid(gate(3));
    Value cn = add(mul(f, s[1]), mul(i, g));
    Value hn = mul(o, tanh(cn));
    return SmallVector<Value>{hn, cn, hn};
  });
  return reshape(r[2], {steps * batch, hidden});
}

Value ModelBuilder::gruCell(const RecurrentParams &p, Value x, Value h) {
  int64_t hidden = dim(h, 1);
  Value gi = linear(x, p.wih, p.bih), gh = linear(h, p.whh, p.bhh);
  auto gate = [&](Value g, int64_t k) {
    return slice(g, 1, k * hidden, (k + 1) * hidden);
  };
  // r = σ(·), z = σ(·), n = tanh(x_n + r (h_n)), h' = n + z (h - n),
  // which is PyTorch's (1 - z) n + z h.
  Value r = sigmoid(add(gate(gi, 0), gate(gh, 0)));
  Value z = sigmoid(add(gate(gi, 1), gate(gh, 1)));
  Value n = tanh(add(gate(gi, 2), mul(r, gate(gh, 2))));
  return add(n, mul(z, sub(h, n)));
}

Value ModelBuilder::gruLayer(StringRef prefix, Value xs, Value h,
                             int64_t hidden) {
  SmallVector<Value> hs = {h};
  return gru(prefix, xs, hs, hidden, 0.0);
}

Value ModelBuilder::gru(StringRef prefix, Value xs, SmallVectorImpl<Value> &hs,
                        int64_t hidden, double dropoutP, StringRef weightInit) {
  int64_t steps = dim(xs, 0), batch = dim(xs, 1);
  Value outputs;
  for (size_t layer = 0; layer < hs.size(); ++layer) {
    if (layer > 0)
      xs = reshape(dropoutP > 0 ? dropout(outputs, dropoutP) : outputs,
                   {steps, batch, hidden});
    RecurrentParams p = recurrentParams(prefix, int64_t(layer), 3, dim(xs, 2),
                                        hidden, weightInit);
    auto r = scan({hs[layer]}, {xs}, [&](ValueRange h, ValueRange x) {
      Value hn = gruCell(p, x[0], h[0]);
      return SmallVector<Value>{hn, hn};
    });
    hs[layer] = r[0];
    outputs = reshape(r[1], {steps * batch, hidden});
  }
  return outputs;
}

Value ModelBuilder::seq2seqAttention(Value src, Value srcLens, Value decIn,
                                     int64_t srcVocab, int64_t tgtVocab,
                                     int64_t embed, int64_t hidden,
                                     int64_t layers, double dropoutP) {
  int64_t batch = dim(src, 0), srcSteps = dim(src, 1), tgtSteps = dim(decIn, 1);
  auto timeMajor = [&](Value v) { // [B, T, D] -> [T, B, D]
    return b.create<TransposeOp>(loc(), v, b.getDenseI64ArrayAttr({1, 0, 2}));
  };
  // Seq2SeqEncoder: embedding, then the GRU from zeros.
  Value xs = timeMajor(embedding("encoder.embedding", src, srcVocab, embed));
  SmallVector<Value> hs(layers, zeros({batch, hidden}));
  Value encOut = gru("encoder.rnn", xs, hs, hidden, dropoutP, "xavier_uniform");
  // init_state: the encoder's outputs batch-major [B, T, H] (keys and
  // values), its final states, the valid lengths.
  Value enc =
      b.create<TransposeOp>(loc(), reshape(encOut, {srcSteps, batch, hidden}),
                            b.getDenseI64ArrayAttr({1, 0, 2}));
  // AdditiveAttention's parameters (W_k applied to the keys once: the book
  // applies it at every step to the same keys).
  Value wk =
      param("decoder.attention.W_k.weight", {hidden, hidden}, "xavier_uniform");
  Value wq =
      param("decoder.attention.W_q.weight", {hidden, hidden}, "xavier_uniform");
  Value wv =
      param("decoder.attention.w_v.weight", {1, hidden}, "xavier_uniform");
  Value keys = linear(enc, wk, Value()); // [B, T, H]
  Value ys = timeMajor(embedding("decoder.embedding", decIn, tgtVocab, embed));
  SmallVector<RecurrentParams> cells;
  for (int64_t l = 0; l < layers; ++l)
    cells.push_back(recurrentParams("decoder.rnn", l, 3,
                                    l == 0 ? embed + hidden : hidden, hidden,
                                    "xavier_uniform"));
  // One decoder step per target token: the states of the layers carried.
  auto r = scan(hs, {ys}, [&](ValueRange state, ValueRange y) {
    // query = hidden_state[-1]: [B, 1, H] against keys [B, T, H].
    SmallVector<Value> next(state);
    Value q = reshape(linear(next.back(), wq, Value()), {batch, 1, hidden});
    Value features = tanh(add(q, keys));                  // [B, T, H]
    Value scores = reshape(linear(features, wv, Value()), // [B, T, 1]
                           {batch, 1, srcSteps});
    Value weights = b.create<MaskedSoftmaxOp>(loc(), scores, srcLens);
    if (dropoutP > 0)
      weights = dropout(weights, dropoutP);
    Value context = reshape(b.create<BatchMatmulOp>(loc(), weights, enc,
                                                    b.getBoolAttr(false),
                                                    b.getBoolAttr(false)),
                            {batch, hidden});
    Value x = concat({context, y[0]}, 1);
    for (int64_t l = 0; l < layers; ++l) {
      if (l > 0 && dropoutP > 0)
        x = dropout(x, dropoutP);
      next[size_t(l)] = gruCell(cells[size_t(l)], x, next[size_t(l)]);
      x = next[size_t(l)];
    }
    next.push_back(x);
    return next;
  });
  Value outputs = reshape(r.back(), {tgtSteps * batch, hidden});
  double bound = 1.0 / std::sqrt(double(hidden));
  Value dw =
      param("decoder.dense.weight", {tgtVocab, hidden}, "xavier_uniform");
  Value db = param("decoder.dense.bias", {tgtVocab},
                   "uniform(-" + std::to_string(bound) + ", " +
                       std::to_string(bound) + ")");
  return linear(outputs, dw, db);
}

Value ModelBuilder::concat(ValueRange xs, int64_t dimension) {
  return b.create<ConcatOp>(loc(), xs, b.getI64IntegerAttr(dimension));
}

Value ModelBuilder::residualBlock(StringRef prefix, Value x, int64_t channels,
                                  bool conv1x1, int64_t stride) {
  Value y =
      relu(batchNorm(join(prefix, "bn1"),
                     conv2d(join(prefix, "conv1"), x, channels, 3, stride, 1)));
  y = batchNorm(join(prefix, "bn2"),
                conv2d(join(prefix, "conv2"), y, channels, 3, 1, 1));
  if (conv1x1)
    x = conv2d(join(prefix, "conv3"), x, channels, 1, stride, 0);
  return relu(add(y, x));
}

Value ModelBuilder::inceptionBlock(StringRef prefix, Value x, int64_t c1,
                                   std::pair<int64_t, int64_t> c2,
                                   std::pair<int64_t, int64_t> c3, int64_t c4) {
  Value p1 = relu(conv2d(join(prefix, "p1_1"), x, c1, 1));
  Value p2 = relu(conv2d(join(prefix, "p2_1"), x, c2.first, 1));
  p2 = relu(conv2d(join(prefix, "p2_2"), p2, c2.second, 3, 1, 1));
  Value p3 = relu(conv2d(join(prefix, "p3_1"), x, c3.first, 1));
  p3 = relu(conv2d(join(prefix, "p3_2"), p3, c3.second, 5, 1, 2));
  Value p4 = relu(conv2d(join(prefix, "p4_2"), maxPool2d(x, 3, 1, 1), c4, 1));
  return concat({p1, p2, p3, p4}, 1);
}

func::FuncOp
ModelBuilder::finish(ArrayRef<std::pair<std::string, Value>> outputs) {
  SmallVector<Value> values;
  SmallVector<Attribute> resAttrs;
  for (const auto &[name, v] : outputs) {
    values.push_back(v);
    resAttrs.push_back(b.getDictionaryAttr(
        {b.getNamedAttr(kOutputAttr, b.getStringAttr(name))}));
  }
  b.create<func::ReturnOp>(loc(), values);
  func.setFunctionType(b.getFunctionType(body->getArgumentTypes(),
                                         ValueRange(values).getTypes()));
  func.setAllArgAttrs(ArrayRef<DictionaryAttr>(argAttrs));
  func.setAllResultAttrs(resAttrs);
  return func;
}
