//===- Bindings.cpp - named tensors in and out of the evaluator -----------===//

#include "d2l/Eval/Evaluator.h"

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "d2lrt/Init.h"

#include <cstring>

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::eval;

std::vector<ArgumentInfo>
mlir::d2l::eval::describeArguments(func::FuncOp func) {
  std::vector<ArgumentInfo> infos;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
    ArgumentInfo info;
    info.type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
    if (auto n = func.getArgAttrOfType<StringAttr>(i, kParamAttr)) {
      info.kind = ArgumentInfo::Param;
      info.name = n.str();
    } else if (auto n = func.getArgAttrOfType<StringAttr>(i, kStateAttr)) {
      info.kind = ArgumentInfo::State;
      info.name = n.str();
    } else if (auto n = func.getArgAttrOfType<StringAttr>(i, kInputAttr)) {
      info.kind = ArgumentInfo::Input;
      info.name = n.str();
    } else {
      info.name = "arg" + std::to_string(i);
    }
    if (auto init = func.getArgAttrOfType<StringAttr>(i, kInitAttr))
      info.init = init.str();
    infos.push_back(std::move(info));
  }
  return infos;
}

std::vector<std::string> mlir::d2l::eval::resultNames(func::FuncOp func) {
  std::vector<std::string> names;
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
    std::string name = "result" + std::to_string(i);
    for (StringRef key : {kOutputAttr, kParamAttr, kStateAttr})
      if (auto n = func.getResultAttrOfType<StringAttr>(i, key))
        name = n.str();
    names.push_back(name);
  }
  return names;
}

static std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

template <typename T>
std::string
mlir::d2l::eval::bindArguments(func::FuncOp func, const d2lrt::TensorFile &file,
                               uint64_t seed, std::vector<Tensor<T>> &args,
                               std::vector<std::string> *unused) {
  args.clear();
  std::vector<bool> used(file.tensors.size(), false);
  for (const ArgumentInfo &info : describeArguments(func)) {
    if (!info.type || !info.type.hasStaticShape())
      return "argument '" + info.name + "' is not a statically shaped tensor";
    Shape shape(info.type.getShape().begin(), info.type.getShape().end());
    bool isFloat = isa<FloatType>(info.type.getElementType());
    Tensor<T> t;
    t.shape = shape;
    t.isInt = !isFloat;
    const d2lrt::HostTensor *host = nullptr;
    for (size_t i = 0; i < file.tensors.size(); ++i)
      if (file.tensors[i].first == info.name) {
        host = &file.tensors[i].second;
        used[i] = true;
      }
    if (host) {
      if (host->shape != shape)
        return "tensor '" + info.name + "' has shape " +
               formatShape(host->shape) + " but the model expects " +
               typeString(info.type);
      int64_t n = t.numel();
      if (isFloat) {
        t.data.resize(n);
        if (host->dtype == d2lrt::DType::F32) {
          for (int64_t i = 0; i < n; ++i)
            t.data[i] = T(host->data<float>()[i]);
        } else if (host->dtype == d2lrt::DType::F64 &&
                   std::is_same_v<T, double>) {
          for (int64_t i = 0; i < n; ++i)
            t.data[i] = T(host->data<double>()[i]);
        } else {
          return "tensor '" + info.name + "' has dtype " +
                 d2lrt::dtypeName(host->dtype) + " but the model expects " +
                 (std::is_same_v<T, double> ? "F32 or F64 (--f64)" : "F32") +
                 " for " + typeString(info.type);
        }
      } else {
        t.ints.resize(n);
        if (host->dtype == d2lrt::DType::I64) {
          for (int64_t i = 0; i < n; ++i)
            t.ints[i] = host->data<int64_t>()[i];
        } else if (host->dtype == d2lrt::DType::I32) {
          for (int64_t i = 0; i < n; ++i)
            t.ints[i] = host->data<int32_t>()[i];
        } else {
          return "tensor '" + info.name + "' has dtype " +
                 d2lrt::dtypeName(host->dtype) +
                 " but the model expects integers (I64 or I32) for " +
                 typeString(info.type);
        }
      }
    } else if (!info.init.empty() && isFloat) {
      d2lrt::InitSpec spec;
      std::string err;
      if (!d2lrt::parseInitSpec(info.init, spec, err))
        return "argument '" + info.name + "': " + err;
      err = d2lrt::checkInitShape(spec, shape);
      if (!err.empty())
        return "argument '" + info.name + "': " + err;
      t.data.resize(t.numel());
      d2lrt::fillInit(spec, shape, seed, info.name, t.data.data());
    } else {
      const char *kind = info.kind == ArgumentInfo::Param   ? "parameter"
                         : info.kind == ArgumentInfo::State ? "state"
                         : info.kind == ArgumentInfo::Input ? "input"
                                                            : "argument";
      return std::string("missing ") + kind + " tensor '" + info.name + "' (" +
             typeString(info.type) + ")" +
             (info.kind == ArgumentInfo::Param ||
                      info.kind == ArgumentInfo::State
                  ? ", which has no d2l.init to initialise it from"
                  : "");
    }
    args.push_back(std::move(t));
  }
  if (unused)
    for (size_t i = 0; i < file.tensors.size(); ++i)
      if (!used[i])
        unused->push_back(file.tensors[i].first);
  return "";
}

template <typename T>
d2lrt::HostTensor mlir::d2l::eval::toHost(const Tensor<T> &tensor) {
  if (tensor.isInt) {
    d2lrt::HostTensor h =
        d2lrt::HostTensor::zeros(d2lrt::DType::I64, tensor.shape);
    std::memcpy(h.bytes.data(), tensor.ints.data(), h.bytes.size());
    return h;
  }
  d2lrt::HostTensor h = d2lrt::HostTensor::zeros(
      std::is_same_v<T, double> ? d2lrt::DType::F64 : d2lrt::DType::F32,
      tensor.shape);
  std::memcpy(h.bytes.data(), tensor.data.data(), h.bytes.size());
  return h;
}

template std::string
mlir::d2l::eval::bindArguments(func::FuncOp, const d2lrt::TensorFile &,
                               uint64_t, std::vector<Tensor<float>> &,
                               std::vector<std::string> *);
template std::string
mlir::d2l::eval::bindArguments(func::FuncOp, const d2lrt::TensorFile &,
                               uint64_t, std::vector<Tensor<double>> &,
                               std::vector<std::string> *);
template d2lrt::HostTensor mlir::d2l::eval::toHost(const Tensor<float> &);
template d2lrt::HostTensor mlir::d2l::eval::toHost(const Tensor<double> &);
