// train_example.cpp: train a compiled model on Fashion-MNIST with the d2lrt
// C++ API (the README shows this file; a test builds and runs it).
//
//   d2lc models/softmax_regression.mlir --train -o softmax.cu
//   d2lrt-example softmax.cu 0.1 30
#include "d2lrt/Idx.h"
#include "d2lrt/Runtime.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL.cu LR STEPS\n", argv[0]);
    return 2;
  }
  try {
    // Load the model and compile it for the host (or Device::Cuda).
    d2lrt::Model model(argv[1], {d2lrt::Device::Host});
    model.initialize(/*seed=*/0); // parameters from their initialisers

    d2lrt::IdxArray images, labels;
    std::string err = d2lrt::loadFashionMnist(d2lrt::kFashionMnistDir,
                                              /*train=*/true, images, labels);
    if (!err.empty())
      throw d2lrt::Error(err);

    // The batch size is the model's: dimension 0 of its input X.
    const d2lrt::EntrySpec *step = model.manifest().entry("train_step");
    if (!step)
      throw d2lrt::Error("compile the model with d2lc --train");
    std::vector<int64_t> shape;
    for (const d2lrt::BindingSpec &a : step->arguments)
      if (a.name == "X")
        shape = step->buffers[a.buffer].shape;
    const int64_t n = shape.at(0), pixels = 28 * 28;

    d2lrt::TensorFile in;
    d2lrt::HostTensor lr = d2lrt::HostTensor::zeros(d2lrt::DType::F32, {});
    lr.data<float>()[0] = float(std::atof(argv[2]));
    in.set("lr", lr);
    for (int s = 0, steps = std::atoi(argv[3]); s < steps; ++s) {
      d2lrt::HostTensor x = d2lrt::HostTensor::zeros(d2lrt::DType::F32, shape);
      d2lrt::HostTensor y = d2lrt::HostTensor::zeros(d2lrt::DType::I64, {n});
      for (int64_t i = 0; i < n; ++i) {
        int64_t example = (s * n + i) % images.dims[0];
        for (int64_t p = 0; p < pixels; ++p)
          x.data<float>()[i * pixels + p] =
              images.data[example * pixels + p] / 255.0f;
        y.data<int64_t>()[i] = labels.data[example];
      }
      in.set("X", x);
      in.set("labels", y);
      // Parameters stay in the model (on the device); the step updates them
      // and returns the loss. model.tensor(name) reads a parameter back.
      d2lrt::TensorFile out =
          model.run("train_step", in, d2lrt::Fetch::Outputs);
      std::printf("step %d loss %.4f\n", s + 1,
                  out.find("loss")->data<float>()[0]);
    }
    const d2lrt::EntryPlan &plan = model.plan("train_step");
    std::printf("arena %llu bytes (lower bound %llu, naive %llu) on %s\n",
                (unsigned long long)plan.plan.arenaBytes,
                (unsigned long long)plan.plan.lowerBound,
                (unsigned long long)plan.plan.naiveBytes,
                model.deviceName().c_str());
    return 0;
  } catch (const d2lrt::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
