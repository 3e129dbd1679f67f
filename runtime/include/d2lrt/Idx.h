//===- Idx.h - the IDX format of MNIST and Fashion-MNIST -------*- C++ -*-===//
//
// IDX files (optionally gzipped): a magic number 0x0000TTNN (TT the element
// type, NN the number of dimensions), big-endian 32-bit dimension sizes, then
// the data. Fashion-MNIST ships as gzipped IDX files of unsigned bytes.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_IDX_H
#define D2LRT_IDX_H

#include <cstdint>
#include <string>
#include <vector>

namespace d2lrt {

/// An IDX array of unsigned bytes.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads a (gzipped or plain) IDX file of unsigned bytes. Returns "" or a
/// message naming the file and the problem (wrong magic, truncated data,
/// trailing bytes).
std::string readIdx(const std::string &path, IdxArray &out);

/// The directory of Debian's dataset-fashion-mnist package.
constexpr const char *kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// The ten Fashion-MNIST class names, as in the book's
/// get_fashion_mnist_labels.
const char *fashionMnistLabel(int64_t label);

/// Loads the train (60000) or test (10000) split: images [N, 28, 28] and
/// labels [N], checking that they agree and that every label is in [0, 10).
std::string loadFashionMnist(const std::string &dir, bool train,
                             IdxArray &images, IdxArray &labels);

/// Bilinear resampling of a `from` x `from` image to `to` x `to`, with
/// half-pixel centres and edge clamping: torchvision's Resize (and
/// F.interpolate(mode="bilinear", align_corners=False)) when upsampling, as
/// the book does for AlexNet, VGG, NiN (224) and GoogLeNet, ResNet (96).
void resizeBilinear(const float *in, int64_t from, float *out, int64_t to);

} // namespace d2lrt

#endif // D2LRT_IDX_H
