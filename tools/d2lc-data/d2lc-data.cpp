//===- d2lc-data.cpp - a batch of Fashion-MNIST as safetensors ------------===//
//
//   d2lc-data --split test --offset 0 --count 256 -o batch.safetensors
//
// Writes images as X [count, 1, S, S] F32 scaled to [0, 1] (torchvision's
// ToTensor; S is 28, or --resize S, bilinear as torchvision's Resize) and
// their classes as labels [count] I64.
//
//===----------------------------------------------------------------------===//

#include "d2lrt/Idx.h"
#include "d2lrt/Safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static int usage() {
  std::fprintf(stderr, "usage: d2lc-data [--dir DIR] [--split train|test] "
                       "[--offset N] [--count N] [--resize S] [--image-name X] "
                       "[--label-name labels] -o OUT.safetensors\n");
  return 2;
}

static bool parseCount(const char *s, long &out) {
  char *end = nullptr;
  out = std::strtol(s, &end, 10);
  return end != s && *end == 0 && out >= 0;
}

int main(int argc, char **argv) {
  std::string dir = d2lrt::kFashionMnistDir, split = "test", out;
  std::string imageName = "X", labelName = "labels";
  long offset = 0, count = 256, size = 28;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    const char *v = nullptr;
    if ((a == "--dir" || a == "--split" || a == "--offset" || a == "--count" ||
         a == "-o" || a == "--image-name" || a == "--label-name" ||
         a == "--resize") &&
        !(v = value()))
      return usage();
    if (a == "--dir")
      dir = v;
    else if (a == "--split")
      split = v;
    else if (a == "-o")
      out = v;
    else if (a == "--image-name")
      imageName = v;
    else if (a == "--label-name")
      labelName = v;
    else if (a == "--offset" && parseCount(v, offset))
      ;
    else if (a == "--count" && parseCount(v, count) && count > 0)
      ;
    else if (a == "--resize" && parseCount(v, size) && size > 0)
      ;
    else
      return usage();
  }
  if (out.empty() || (split != "train" && split != "test"))
    return usage();
  d2lrt::IdxArray images, labels;
  std::string err =
      d2lrt::loadFashionMnist(dir, split == "train", images, labels);
  if (!err.empty()) {
    std::fprintf(stderr, "d2lc-data: error: %s\n", err.c_str());
    return 1;
  }
  long n = long(images.dims[0]);
  if (offset + count > n) {
    std::fprintf(stderr,
                 "d2lc-data: error: examples [%ld, %ld) are outside the %s "
                 "split's %ld\n",
                 offset, offset + count, split.c_str(), n);
    return 1;
  }
  d2lrt::TensorFile file;
  auto x = d2lrt::HostTensor::zeros(d2lrt::DType::F32, {count, 1, size, size});
  auto y = d2lrt::HostTensor::zeros(d2lrt::DType::I64, {count});
  std::vector<float> image(28 * 28);
  for (long i = 0; i < count; ++i) {
    for (int k = 0; k < 28 * 28; ++k)
      image[size_t(k)] = float(images.data[(offset + i) * 784 + k]) / 255.0f;
    float *dst = x.data<float>() + i * size * size;
    if (size == 28)
      std::copy(image.begin(), image.end(), dst);
    else
      d2lrt::resizeBilinear(image.data(), 28, dst, size);
    y.data<int64_t>()[i] = labels.data[offset + i];
  }
  file.set(imageName, std::move(x));
  file.set(labelName, std::move(y));
  err = d2lrt::writeSafetensors(out, file);
  if (!err.empty()) {
    std::fprintf(stderr, "d2lc-data: error: %s\n", err.c_str());
    return 1;
  }
  return 0;
}
