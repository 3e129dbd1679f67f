//===- Zoo.cpp - the D2L model zoo, written with the model builder --------===//
//
// Each model follows the PyTorch code of Dive into Deep Learning (zh-v2), so
// parameter names are the book's `state_dict` keys: `nn.Sequential` indices
// ("0.weight"), with BatchNorm running statistics as d2l.state. Input sizes,
// batch sizes and initialisers are the book's (../shared/reference).
//
//===----------------------------------------------------------------------===//

#include "d2l/ModelBuilder/ModelBuilder.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {

/// Fashion-MNIST images, [batch, 1, 28, 28].
Value imageInput(ModelBuilder &m, int64_t batch, int64_t size = 28) {
  return m.input("X", {batch, 1, size, size});
}

/// nn.Sequential(nn.Linear(2, 1)), weights normal(0, 0.01), bias 0;
/// batch 10 as in the book's synthetic regression.
void linearRegression(ModelBuilder &m) {
  Value x = m.input("X", {10, 2});
  m.finish({{"y_hat", m.linear("0", x, 1, "normal(0.01)")}});
}

/// nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), normal(0, 0.01).
void softmaxRegression(ModelBuilder &m) {
  Value x = m.flatten(imageInput(m, 256));
  m.finish({{"logits", m.linear("1", x, 10, "normal(0.01)")}});
}

/// nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
///               nn.Linear(256, 10)), normal(0, 0.01).
void mlp(ModelBuilder &m) {
  Value x = m.flatten(imageInput(m, 256));
  x = m.relu(m.linear("1", x, 256, "normal(0.01)"));
  m.finish({{"logits", m.linear("3", x, 10, "normal(0.01)")}});
}

/// The book's dropout MLP: Flatten, Linear(784, 256), ReLU, Dropout(0.2),
/// Linear(256, 256), ReLU, Dropout(0.5), Linear(256, 10).
void mlpDropout(ModelBuilder &m) {
  Value x = m.flatten(imageInput(m, 256));
  x = m.dropout(m.relu(m.linear("1", x, 256, "normal(0.01)")), 0.2);
  x = m.dropout(m.relu(m.linear("4", x, 256, "normal(0.01)")), 0.5);
  m.finish({{"logits", m.linear("7", x, 10, "normal(0.01)")}});
}

/// LeNet-5 as in the book: sigmoid activations, average pooling.
void lenet(ModelBuilder &m) {
  Value x = imageInput(m, 256);
  x = m.avgPool2d(m.sigmoid(m.conv2d("0", x, 6, 5, 1, 2)), 2, 2);
  x = m.avgPool2d(m.sigmoid(m.conv2d("3", x, 16, 5)), 2, 2);
  x = m.flatten(x);
  x = m.sigmoid(m.linear("7", x, 120));
  x = m.sigmoid(m.linear("9", x, 84));
  m.finish({{"logits", m.linear("11", x, 10)}});
}

/// LeNet with nn.BatchNorm2d / nn.BatchNorm1d after every conv and linear
/// layer but the last.
void lenetBN(ModelBuilder &m) {
  Value x = imageInput(m, 256);
  x = m.avgPool2d(m.sigmoid(m.batchNorm("1", m.conv2d("0", x, 6, 5))), 2, 2);
  x = m.avgPool2d(m.sigmoid(m.batchNorm("5", m.conv2d("4", x, 16, 5))), 2, 2);
  x = m.flatten(x);
  x = m.sigmoid(m.batchNorm("10", m.linear("9", x, 120)));
  x = m.sigmoid(m.batchNorm("13", m.linear("12", x, 84)));
  m.finish({{"logits", m.linear("15", x, 10)}});
}

/// ResNet-18's b1..b5: b1 = conv 7x7/2, BN, ReLU, max pool 3/2; b2..b5 =
/// two residual blocks each (64, 128, 256, 512 channels; the first block of
/// b3..b5 halves the size with a 1x1 shortcut). Output: 512 channels at
/// 1/32 of the input size.
Value resnetBody(ModelBuilder &m, Value x) {
  x = m.maxPool2d(m.relu(m.batchNorm("0.1", m.conv2d("0.0", x, 64, 7, 2, 3))),
                  3, 2, 1);
  const int64_t channels[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage)
    for (int i = 0; i < 2; ++i) {
      bool down = stage > 0 && i == 0;
      x = m.residualBlock(std::to_string(stage + 1) + "." + std::to_string(i),
                          x, channels[stage], down, down ? 2 : 1);
    }
  return x;
}

/// ResNet-18 on 96x96 Fashion-MNIST: net = nn.Sequential(b1, b2, b3, b4,
/// b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10)).
void resnet18(ModelBuilder &m) {
  Value x = resnetBody(m, imageInput(m, 256, 96));
  x = m.flatten(m.adaptiveAvgPool2d(x, 1, 1));
  m.finish({{"logits", m.linear("7", x, 10)}});
}

/// The book's FCN (14.11) on the ResNet-18 above: its b1..b5 (the network
/// without pooling, Flatten and the linear head, so nn.Sequential indices
/// 0..4), then net.add_module('final_conv', nn.Conv2d(512, classes, 1))
/// and net.add_module('transpose_conv', nn.ConvTranspose2d(classes,
/// classes, kernel_size=64, padding=16, stride=32)) initialised to
/// bilinear upsampling. Fashion-MNIST segmentation: 10 item classes plus
/// background, 96x96 images (3x3 features, upsampled x32 back to 96x96),
/// batch 32 as the book's FCN.
void fcn(ModelBuilder &m) {
  const int64_t classes = 11;
  Value x = resnetBody(m, imageInput(m, 32, 96));
  x = m.conv2d("final_conv", x, classes, 1);
  m.finish({{"logits", m.convTranspose2d("transpose_conv", x, classes, 64, 32,
                                         16, "bilinear")}});
}

/// AlexNet as in the book (7.1), for 224x224 inputs, batch 128.
void alexnet(ModelBuilder &m) {
  Value x = imageInput(m, 128, 224);
  x = m.maxPool2d(m.relu(m.conv2d("0", x, 96, 11, 4, 1)), 3, 2);
  x = m.maxPool2d(m.relu(m.conv2d("3", x, 256, 5, 1, 2)), 3, 2);
  x = m.relu(m.conv2d("6", x, 384, 3, 1, 1));
  x = m.relu(m.conv2d("8", x, 384, 3, 1, 1));
  x = m.maxPool2d(m.relu(m.conv2d("10", x, 256, 3, 1, 1)), 3, 2);
  x = m.flatten(x);
  x = m.dropout(m.relu(m.linear("14", x, 4096)), 0.5);
  x = m.dropout(m.relu(m.linear("17", x, 4096)), 0.5);
  m.finish({{"logits", m.linear("20", x, 10)}});
}

/// VGG-11 with a quarter of the channels, as the book trains it (7.2):
/// conv_arch ((1, 16), (1, 32), (2, 64), (2, 128), (2, 128)); each
/// vgg_block is nn.Sequential(conv 3x3 p1, ReLU, ..., MaxPool2d(2, 2)).
void vgg11(ModelBuilder &m) {
  Value x = imageInput(m, 128, 224);
  const std::pair<int, int64_t> arch[] = {
      {1, 16}, {1, 32}, {2, 64}, {2, 128}, {2, 128}};
  int block = 0;
  for (auto [convs, channels] : arch) {
    for (int i = 0; i < convs; ++i)
      x = m.relu(m.conv2d(std::to_string(block) + "." + std::to_string(2 * i),
                          x, channels, 3, 1, 1));
    x = m.maxPool2d(x, 2, 2);
    ++block;
  }
  x = m.flatten(x);
  x = m.dropout(m.relu(m.linear("6", x, 4096)), 0.5);
  x = m.dropout(m.relu(m.linear("9", x, 4096)), 0.5);
  m.finish({{"logits", m.linear("12", x, 10)}});
}

/// d2l's nin_block: Conv2d(k, s, p), ReLU, then two 1x1 Conv2d + ReLU.
Value ninBlock(ModelBuilder &m, const std::string &p, Value x, int64_t channels,
               int64_t kernel, int64_t stride, int64_t padding) {
  x = m.relu(m.conv2d(p + ".0", x, channels, kernel, stride, padding));
  x = m.relu(m.conv2d(p + ".2", x, channels, 1));
  return m.relu(m.conv2d(p + ".4", x, channels, 1));
}

/// Network in Network (7.3) for 224x224 inputs, batch 128.
void nin(ModelBuilder &m) {
  Value x = imageInput(m, 128, 224);
  x = m.maxPool2d(ninBlock(m, "0", x, 96, 11, 4, 0), 3, 2);
  x = m.maxPool2d(ninBlock(m, "2", x, 256, 5, 1, 2), 3, 2);
  x = m.maxPool2d(ninBlock(m, "4", x, 384, 3, 1, 1), 3, 2);
  x = m.dropout(x, 0.5);
  x = ninBlock(m, "7", x, 10, 3, 1, 1);
  m.finish({{"logits", m.flatten(m.adaptiveAvgPool2d(x, 1, 1))}});
}

/// GoogLeNet (7.4) on 96x96 inputs, batch 128: nn.Sequential(b1, b2, b3,
/// b4, b5, nn.Linear(1024, 10)).
void googlenet(ModelBuilder &m) {
  Value x = imageInput(m, 128, 96);
  x = m.maxPool2d(m.relu(m.conv2d("0.0", x, 64, 7, 2, 3)), 3, 2, 1);
  x = m.relu(m.conv2d("1.0", x, 64, 1));
  x = m.maxPool2d(m.relu(m.conv2d("1.2", x, 192, 3, 1, 1)), 3, 2, 1);
  x = m.inceptionBlock("2.0", x, 64, {96, 128}, {16, 32}, 32);
  x = m.inceptionBlock("2.1", x, 128, {128, 192}, {32, 96}, 64);
  x = m.maxPool2d(x, 3, 2, 1);
  x = m.inceptionBlock("3.0", x, 192, {96, 208}, {16, 48}, 64);
  x = m.inceptionBlock("3.1", x, 160, {112, 224}, {24, 64}, 64);
  x = m.inceptionBlock("3.2", x, 128, {128, 256}, {24, 64}, 64);
  x = m.inceptionBlock("3.3", x, 112, {144, 288}, {32, 64}, 64);
  x = m.inceptionBlock("3.4", x, 256, {160, 320}, {32, 128}, 128);
  x = m.maxPool2d(x, 3, 2, 1);
  x = m.inceptionBlock("4.0", x, 256, {160, 320}, {32, 128}, 128);
  x = m.inceptionBlock("4.1", x, 384, {192, 384}, {48, 128}, 128);
  x = m.flatten(m.adaptiveAvgPool2d(x, 1, 1));
  m.finish({{"logits", m.linear("5", x, 10)}});
}

/// One residual block of ResNet-18 with its 1x1 shortcut (the first block
/// of b3: 64 -> 128 channels, stride 2, on b2's 24x24 output), with a
/// classifier head so that it trains alone: nn.Sequential(Residual(64, 128,
/// use_1x1conv=True, strides=2), nn.AdaptiveAvgPool2d((1, 1)),
/// nn.Flatten(), nn.Linear(128, 10)). For tests and benchmarks of fusion.
void residualBlock(ModelBuilder &m) {
  Value x = m.input("X", {32, 64, 24, 24});
  x = m.residualBlock("0", x, 128, true, 2);
  x = m.flatten(m.adaptiveAvgPool2d(x, 1, 1));
  m.finish({{"logits", m.linear("3", x, 10)}});
}

/// The book's concise character-level language model (RNNModel around
/// nn.GRU(28, 256), 9.6 and 10.1) unrolled over 35 time steps at batch 32:
/// X is the one-hot input [35, 32, 28] (time-major, F.one_hot(inputs.T)),
/// `state` the initial hidden state [1, 32, 256]; the result is the logits
/// of every step, [35 * 32, 28] (rows t * 32 + b), as RNNModel returns
/// them. The linear layer is initialised as PyTorch's nn.Linear
/// (uniform in ±1/sqrt(256)).
enum class Cell { RNN, GRU, LSTM };

void languageModel(ModelBuilder &m, Cell cell) {
  const int64_t steps = 35, batch = 32, vocab = 28, hidden = 256;
  Value xs = m.input("X", {steps, batch, vocab});
  Value h = m.reshape(m.input("state", {1, batch, hidden}), {batch, hidden});
  Value y;
  if (cell == Cell::GRU)
    y = m.gruLayer("rnn", xs, h, hidden);
  else if (cell == Cell::RNN)
    y = m.rnnLayer("rnn", xs, h, hidden);
  else
    y = m.lstmLayer(
        "rnn", xs, h,
        m.reshape(m.input("cell", {1, batch, hidden}), {batch, hidden}),
        hidden);
  const char *init = "uniform(-0.0625, 0.0625)";
  Value w = m.param("linear.weight", {vocab, hidden}, init);
  Value b = m.param("linear.bias", {vocab}, init);
  m.finish({{"logits", m.linear(y, w, b)}});
}

void gruLM(ModelBuilder &m) { languageModel(m, Cell::GRU); }

/// The same with nn.RNN(28, 256) (tanh; 9.6).
void rnnLM(ModelBuilder &m) { languageModel(m, Cell::RNN); }

/// The same with nn.LSTM(28, 256) (10.2); its state (h, c) is the inputs
/// `state` and `cell`.
void lstmLM(ModelBuilder &m) { languageModel(m, Cell::LSTM); }

/// One encoder block of the book's Transformer (11.7: hidden 32, 4 heads,
/// FFN 64, dropout 0.1) on [64, 10, 32] inputs (batch 64, 10 steps), with
/// the book's module names inside `0.`. For tests of attention and layer
/// norm until the whole Transformer is in the zoo.
void transformerBlock(ModelBuilder &m) {
  Value x = m.input("X", {64, 10, 32});
  m.finish({{"Y", m.transformerEncoderBlock("0", x, 4, 64, 0.1)}});
}

/// The inputs of the translation models (batch 64, 10 steps, as the book
/// trains them): X (source indices [64, 10]), X_valid_len [64] and dec_X
/// (<bos> and the target shifted right [64, 10]).
struct TranslationInputs {
  Value x, lens, dec;
};
TranslationInputs translationInputs(ModelBuilder &m) {
  const int64_t batch = 64, steps = 10;
  auto i64 = m.builder().getI64Type();
  return {m.input("X", {batch, steps}, i64),
          m.input("X_valid_len", {batch}, i64),
          m.input("dec_X", {batch, steps}, i64)};
}
/// The vocabularies of d2lc-train's English-French pairs (LibreOffice's
/// French catalogues, min_freq 2; the book's smaller fra-eng set has 184
/// and 201).
constexpr int64_t kEnglishTokens = 2139, kFrenchTokens = 2379;

/// The book's sequence to sequence model with Bahdanau attention (10.4,
/// trained as in 9.7: embed 32, hidden 32, 2 GRU layers, dropout 0.1); the
/// logits are [10 * 64, 2379], rows t * 64 + b.
void seq2seqAttention(ModelBuilder &m) {
  auto [x, lens, dec] = translationInputs(m);
  m.finish({{"logits", m.seq2seqAttention(x, lens, dec, kEnglishTokens,
                                          kFrenchTokens, 32, 32, 2, 0.1)}});
}

/// The book's Transformer (10.7: hidden 32, 2 layers, 4 heads, FFN 64,
/// dropout 0.1) for the same data and inputs as seq2seq_attention.
void transformer(ModelBuilder &m) {
  auto [x, lens, dec] = translationInputs(m);
  m.finish({{"logits", m.transformer(x, lens, dec, kEnglishTokens,
                                     kFrenchTokens, 32, 4, 64, 2, 0.1)}});
}

struct ZooEntry {
  const char *name;
  void (*build)(ModelBuilder &);
};

const ZooEntry kZoo[] = {
    {"linear_regression", linearRegression},
    {"softmax_regression", softmaxRegression},
    {"mlp", mlp},
    {"mlp_dropout", mlpDropout},
    {"lenet", lenet},
    {"lenet_bn", lenetBN},
    {"alexnet", alexnet},
    {"vgg11", vgg11},
    {"nin", nin},
    {"googlenet", googlenet},
    {"residual_block", residualBlock},
    {"resnet18", resnet18},
    {"fcn", fcn},
    {"rnn_lm", rnnLM},
    {"gru_lm", gruLM},
    {"lstm_lm", lstmLM},
    {"transformer_block", transformerBlock},
    {"seq2seq_attention", seq2seqAttention},
    {"transformer", transformer},
};

} // namespace

std::vector<std::string> mlir::d2l::zooModelNames() {
  std::vector<std::string> names;
  for (const ZooEntry &e : kZoo)
    names.push_back(e.name);
  return names;
}

bool mlir::d2l::buildZooModel(StringRef name, ModuleOp module) {
  for (const ZooEntry &e : kZoo) {
    if (name != e.name)
      continue;
    ModelBuilder m(module);
    e.build(m);
    return true;
  }
  return false;
}
