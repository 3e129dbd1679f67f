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

/// d2l's Residual(input_channels, num_channels, use_1x1conv, strides):
/// Y = ReLU(BN(conv3x3(X))); Y = BN(conv3x3(Y)); ReLU(Y + shortcut(X)),
/// the shortcut a 1x1 convolution when the shape changes. The convolutions
/// keep their biases, as in the book.
Value residual(ModelBuilder &m, const std::string &p, Value x, int64_t channels,
               bool conv1x1, int64_t stride) {
  Value y = m.relu(m.batchNorm(
      p + ".bn1", m.conv2d(p + ".conv1", x, channels, 3, stride, 1)));
  y = m.batchNorm(p + ".bn2", m.conv2d(p + ".conv2", y, channels, 3, 1, 1));
  if (conv1x1)
    x = m.conv2d(p + ".conv3", x, channels, 1, stride, 0);
  return m.relu(m.add(y, x));
}

/// ResNet-18 on 96x96 Fashion-MNIST: b1 = conv 7x7/2, BN, ReLU, max pool
/// 3/2; b2..b5 = two residual blocks each (64, 128, 256, 512 channels; the
/// first block of b3..b5 halves the size with a 1x1 shortcut); global
/// average pool, Flatten, Linear(512, 10). net = nn.Sequential(b1, b2, b3,
/// b4, b5, nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512, 10)).
void resnet18(ModelBuilder &m) {
  Value x = imageInput(m, 256, 96);
  x = m.maxPool2d(m.relu(m.batchNorm("0.1", m.conv2d("0.0", x, 64, 7, 2, 3))),
                  3, 2, 1);
  const int64_t channels[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage)
    for (int i = 0; i < 2; ++i) {
      bool down = stage > 0 && i == 0;
      x = residual(m, std::to_string(stage + 1) + "." + std::to_string(i), x,
                   channels[stage], down, down ? 2 : 1);
    }
  x = m.flatten(m.adaptiveAvgPool2d(x, 1, 1));
  m.finish({{"logits", m.linear("7", x, 10)}});
}

/// One residual block of ResNet-18 with its 1x1 shortcut (the first block
/// of b3: 64 -> 128 channels, stride 2, on b2's 24x24 output), with a
/// classifier head so that it trains alone: nn.Sequential(Residual(64, 128,
/// use_1x1conv=True, strides=2), nn.AdaptiveAvgPool2d((1, 1)),
/// nn.Flatten(), nn.Linear(128, 10)). For tests and benchmarks of fusion.
void residualBlock(ModelBuilder &m) {
  Value x = m.input("X", {32, 64, 24, 24});
  x = residual(m, "0", x, 128, true, 2);
  x = m.flatten(m.adaptiveAvgPool2d(x, 1, 1));
  m.finish({{"logits", m.linear("3", x, 10)}});
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
    {"residual_block", residualBlock},
    {"resnet18", resnet18},
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
