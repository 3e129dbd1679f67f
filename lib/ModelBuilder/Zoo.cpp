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
