//===- Evaluator.cpp - dispatch of d2l ops to the evaluator's kernels -----===//

#include "d2l/Eval/Evaluator.h"

#include "Kernels.h"

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::eval;

namespace {

Shape shapeOf(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return Shape(t.getShape().begin(), t.getShape().end());
}

Pair pair(ArrayRef<int64_t> a) { return {a[0], a[1]}; }

template <typename T> class Interpreter {
public:
  FailureOr<std::vector<Tensor<T>>> run(func::FuncOp func,
                                        std::vector<Tensor<T>> args) {
    Block &body = func.getBody().front();
    if (args.size() != body.getNumArguments())
      return func.emitError()
             << "evaluator: expected " << body.getNumArguments()
             << " arguments, got " << args.size();
    // Free each value after its last use, so large graphs fit in memory.
    llvm::DenseMap<Operation *, unsigned> position;
    unsigned pos = 0;
    for (Operation &op : body)
      position[&op] = pos++;
    for (Operation &op : body)
      for (Value v : op.getOperands())
        lastUse[v] = std::max(lastUse.lookup(v), position[&op]);
    for (auto [arg, t] : llvm::zip(body.getArguments(), args))
      values[arg] = std::move(t);
    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        std::vector<Tensor<T>> results;
        for (Value v : ret.getOperands())
          results.push_back(values[v]);
        return results;
      }
      if (failed(step(&op)))
        return failure();
      for (Value v : op.getOperands())
        if (lastUse.lookup(v) == position[&op])
          values.erase(v);
    }
    return func.emitError() << "evaluator: function has no return";
  }

private:
  llvm::DenseMap<Value, Tensor<T>> values;
  llvm::DenseMap<Value, unsigned> lastUse;

  const Tensor<T> &get(Value v) { return values.find(v)->second; }
  const Tensor<T> *getOptional(Value v) { return v ? &get(v) : nullptr; }
  void set(Value v, Tensor<T> t) { values[v] = std::move(t); }

  LogicalResult step(Operation *op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<ReluOp>([&](auto o) { return un(o, UnaryKind::Relu); })
        .template Case<SigmoidOp>(
            [&](auto o) { return un(o, UnaryKind::Sigmoid); })
        .template Case<TanhOp>([&](auto o) { return un(o, UnaryKind::Tanh); })
        .template Case<ExpOp>([&](auto o) { return un(o, UnaryKind::Exp); })
        .template Case<LogOp>([&](auto o) { return un(o, UnaryKind::Log); })
        .template Case<SqrtOp>([&](auto o) { return un(o, UnaryKind::Sqrt); })
        .template Case<NegOp>([&](auto o) { return un(o, UnaryKind::Neg); })
        .template Case<AbsOp>([&](auto o) { return un(o, UnaryKind::Abs); })
        .template Case<SignOp>([&](auto o) { return un(o, UnaryKind::Sign); })
        .template Case<ReluBackwardOp>(
            [&](auto o) { return act(o, ActivationKind::Relu); })
        .template Case<SigmoidBackwardOp>(
            [&](auto o) { return act(o, ActivationKind::Sigmoid); })
        .template Case<TanhBackwardOp>(
            [&](auto o) { return act(o, ActivationKind::Tanh); })
        .template Case<SoftmaxBackwardOp, LogSoftmaxBackwardOp>([&](auto o) {
          const Tensor<T> &y = get(o.getOutput());
          int64_t dim = o.getDim() < 0 ? o.getDim() + y.rank() : o.getDim();
          set(o.getResult(),
              softmaxBackward(get(o.getGradOutput()), y, dim,
                              isa<LogSoftmaxBackwardOp>(o.getOperation())));
          return success();
        })
        .template Case<CrossEntropyBackwardOp>(
            [&](CrossEntropyBackwardOp o) -> LogicalResult {
              Tensor<T> out;
              std::string err =
                  crossEntropyBackward(get(o.getGradLoss()), get(o.getLogits()),
                                       get(o.getLabels()), out);
              if (!err.empty())
                return o.emitOpError() << "evaluation failed: " << err;
              set(o.getResult(), std::move(out));
              return success();
            })
        .template Case<Conv2dBackwardInputOp>([&](Conv2dBackwardInputOp o) {
          // The adjoint of conv2d is the transposed convolution; the result
          // shape settles the rows the forward stride skipped.
          ConvParams p{pair(o.getStride()),
                       pair(o.getPadding()),
                       pair(o.getDilation()),
                       {0, 0},
                       o.getGroups()};
          set(o.getResult(),
              convTranspose2d(get(o.getGradOutput()), get(o.getWeight()),
                              static_cast<const Tensor<T> *>(nullptr), p,
                              shapeOf(o.getResult())));
          return success();
        })
        .template Case<Conv2dBackwardFilterOp>([&](Conv2dBackwardFilterOp o) {
          ConvParams p{pair(o.getStride()),
                       pair(o.getPadding()),
                       pair(o.getDilation()),
                       {0, 0},
                       o.getGroups()};
          set(o.getResult(),
              conv2dBackwardFilter(get(o.getInput()), get(o.getGradOutput()), p,
                                   shapeOf(o.getResult())));
          return success();
        })
        .template Case<MaxPool2dBackwardOp>([&](MaxPool2dBackwardOp o) {
          set(o.getResult(),
              maxPool2dBackward(get(o.getGradOutput()), get(o.getInput()),
                                pair(o.getKernelSize()),
                                pair(o.getEffectiveStride()),
                                pair(o.getPadding())));
          return success();
        })
        .template Case<MaxPool2dSelectOp>([&](MaxPool2dSelectOp o) {
          set(o.getResult(),
              maxPool2dSelect(get(o.getInput()), get(o.getValues()),
                              pair(o.getKernelSize()),
                              pair(o.getEffectiveStride()),
                              pair(o.getPadding()), shapeOf(o.getResult())));
          return success();
        })
        .template Case<AvgPool2dBackwardOp>([&](AvgPool2dBackwardOp o) {
          set(o.getResult(),
              avgPool2dBackward(get(o.getGradOutput()), shapeOf(o.getResult()),
                                pair(o.getKernelSize()),
                                pair(o.getEffectiveStride()),
                                pair(o.getPadding()), o.getCountIncludePad()));
          return success();
        })
        .template Case<AdaptiveAvgPool2dBackwardOp>(
            [&](AdaptiveAvgPool2dBackwardOp o) {
              set(o.getResult(),
                  adaptiveAvgPool2dBackward(get(o.getGradOutput()),
                                            shapeOf(o.getResult())));
              return success();
            })
        .template Case<BatchNormBackwardOp>([&](BatchNormBackwardOp o) {
          auto r = batchNormBackward(get(o.getGradOutput()), get(o.getInput()),
                                     get(o.getWeight()), get(o.getBatchMean()),
                                     get(o.getBatchInvstd()));
          for (int i = 0; i < 3; ++i)
            set(o->getResult(i), std::move(r[i]));
          return success();
        })
        .template Case<EmbeddingOp>([&](EmbeddingOp o) -> LogicalResult {
          const Tensor<T> &ids = get(o.getIndices());
          const Tensor<T> &w = get(o.getWeight());
          int64_t v = w.dim(0), d = w.dim(1);
          Tensor<T> r = Tensor<T>::zeros(shapeOf(o.getResult()));
          for (int64_t i = 0; i < ids.numel(); ++i) {
            int64_t k = ids.ints[size_t(i)];
            if (k < 0 || k >= v)
              return o.emitOpError()
                     << "evaluation failed: index " << k << " at position " << i
                     << " is outside [0, " << v << ")";
            std::copy(w.data.begin() + k * d, w.data.begin() + (k + 1) * d,
                      r.data.begin() + i * d);
          }
          set(o.getResult(), std::move(r));
          return success();
        })
        .template Case<EmbeddingBackwardOp>([&](EmbeddingBackwardOp o) {
          const Tensor<T> &g = get(o.getGradOutput());
          const Tensor<T> &ids = get(o.getIndices());
          Tensor<T> r = Tensor<T>::zeros(shapeOf(o.getResult()));
          int64_t v = r.dim(0), d = r.dim(1);
          for (int64_t i = 0; i < ids.numel(); ++i) {
            int64_t k = ids.ints[size_t(i)];
            if (k < 0 || k >= v)
              continue;
            for (int64_t j = 0; j < d; ++j)
              r.data[size_t(k * d + j)] += g.data[size_t(i * d + j)];
          }
          set(o.getResult(), std::move(r));
          return success();
        })
        .template Case<SliceBackwardOp>([&](SliceBackwardOp o) {
          int64_t rank = int64_t(o.getInputShape().size());
          int64_t dim = o.getDim() < 0 ? o.getDim() + rank : o.getDim();
          set(o.getResult(),
              sliceBackward(get(o.getGradOutput()), shapeOf(o.getResult()), dim,
                            o.getStart(), o.getStep()));
          return success();
        })
        .template Case<ArgmaxOp>([&](ArgmaxOp o) {
          const Tensor<T> &x = get(o.getInput());
          int64_t dim = o.getDim() < 0 ? o.getDim() + x.rank() : o.getDim();
          Tensor<T> r = argmax(x, dim);
          r.shape = shapeOf(o.getResult());
          set(o.getResult(), std::move(r));
          return success();
        })
        .template Case<AddOp>([&](auto o) { return bin(o, BinaryKind::Add); })
        .template Case<SubOp>([&](auto o) { return bin(o, BinaryKind::Sub); })
        .template Case<MulOp>([&](auto o) { return bin(o, BinaryKind::Mul); })
        .template Case<DivOp>([&](auto o) { return bin(o, BinaryKind::Div); })
        .template Case<DropoutOp>([&](DropoutOp o) {
          if (!o.getSeed()) {
            set(o.getResult(), get(o.getInput()));
          } else {
            uint64_t seed = uint64_t(get(o.getSeed()).ints[0]);
            set(o.getResult(),
                dropout(get(o.getInput()), seed, o.getP().convertToDouble(),
                        uint64_t(o.getSalt())));
          }
          return success();
        })
        .template Case<Conv2dOp>([&](Conv2dOp o) {
          ConvParams p{pair(o.getStride()),
                       pair(o.getPadding()),
                       pair(o.getDilation()),
                       {0, 0},
                       o.getGroups()};
          set(o.getResult(),
              conv2d(get(o.getInput()), get(o.getWeight()),
                     getOptional(o.getBias()), p, shapeOf(o.getResult())));
          return success();
        })
        .template Case<ConvTranspose2dOp>([&](ConvTranspose2dOp o) {
          ConvParams p{pair(o.getStride()), pair(o.getPadding()),
                       pair(o.getDilation()), pair(o.getOutputPadding()),
                       o.getGroups()};
          set(o.getResult(),
              convTranspose2d(get(o.getInput()), get(o.getWeight()),
                              getOptional(o.getBias()), p,
                              shapeOf(o.getResult())));
          return success();
        })
        .template Case<LinearOp>([&](LinearOp o) {
          set(o.getResult(), linear(get(o.getInput()), get(o.getWeight()),
                                    getOptional(o.getBias())));
          return success();
        })
        .template Case<MatmulOp, BatchMatmulOp>([&](auto o) {
          set(o.getResult(),
              matmul(get(o.getLhs()), get(o.getRhs()), o.getTransposeLhs(),
                     o.getTransposeRhs(), shapeOf(o.getResult())));
          return success();
        })
        .template Case<BatchNormOp>([&](BatchNormOp o) {
          auto r = batchNormTrain(
              get(o.getInput()), get(o.getWeight()), get(o.getBias()),
              get(o.getRunningMean()), get(o.getRunningVar()),
              o.getEps().convertToDouble(), o.getMomentum().convertToDouble());
          for (int i = 0; i < 5; ++i)
            set(o->getResult(i), std::move(r[i]));
          return success();
        })
        .template Case<Conv2dBatchStatsOp>([&](Conv2dBatchStatsOp o) {
          // The convolution, then training BatchNorm's statistics of it.
          ConvParams p{pair(o.getStride()),
                       pair(o.getPadding()),
                       pair(o.getDilation()),
                       {0, 0},
                       o.getGroups()};
          Tensor<T> y =
              conv2d(get(o.getInput()), get(o.getWeight()),
                     getOptional(o.getBias()), p, shapeOf(o.getResult()));
          const Tensor<T> &mean = get(o.getRunningMean());
          auto r = batchNormTrain(y, mean, mean, mean, get(o.getRunningVar()),
                                  o.getEps().convertToDouble(),
                                  o.getMomentum().convertToDouble());
          set(o.getResult(), std::move(y));
          for (int i = 1; i < 5; ++i)
            set(o->getResult(i), std::move(r[i]));
          return success();
        })
        .template Case<BatchNormActBackwardOp>([&](BatchNormActBackwardOp o) {
          // dz = da act'(z), z recomputed from x and the statistics.
          const Tensor<T> &x = get(o.getInput());
          Tensor<T> dz = get(o.getGradOutput());
          StringRef act = o.getActivation();
          if (act != "none") {
            Tensor<T> z =
                batchNormApply(x, get(o.getWeight()), get(o.getBias()),
                               get(o.getBatchMean()), get(o.getBatchInvstd()));
            auto kind = act == "relu"      ? ActivationKind::Relu
                        : act == "sigmoid" ? ActivationKind::Sigmoid
                                           : ActivationKind::Tanh;
            auto ukind = act == "relu"      ? UnaryKind::Relu
                         : act == "sigmoid" ? UnaryKind::Sigmoid
                                            : UnaryKind::Tanh;
            dz = activationBackward(kind, dz, unary(ukind, z));
          }
          auto r =
              batchNormBackward(dz, x, get(o.getWeight()),
                                get(o.getBatchMean()), get(o.getBatchInvstd()));
          for (int i = 0; i < 3; ++i)
            set(o->getResult(i), std::move(r[i]));
          return success();
        })
        .template Case<ConvBnReluPoolBackwardOp>(
            [&](ConvBnReluPoolBackwardOp o) {
              // The ops it stands for, materialising every intermediate.
              const Tensor<T> &x = get(o.getInput()), &w = get(o.getWeight());
              auto st = pair(o.getStride()), pad = pair(o.getPadding());
              Shape ys{x.shape[0], w.shape[0], 0, 0};
              for (int i = 0; i < 2; ++i)
                ys[2 + i] =
                    (x.shape[2 + i] + 2 * pad[i] - w.shape[2 + i]) / st[i] + 1;
              ConvParams p{st, pad, {1, 1}, {0, 0}, 1};
              Tensor<T> y = conv2d(x, w, getOptional(o.getBias()), p, ys);
              Tensor<T> z = batchNormApply(
                  y, get(o.getBnWeight()), get(o.getBnBias()),
                  get(o.getBatchMean()), get(o.getBatchInvstd()));
              Tensor<T> a = unary(UnaryKind::Relu, z);
              Tensor<T> da = maxPool2dBackward(
                  get(o.getGradOutput()), a, pair(o.getPoolKernelSize()),
                  pair(o.getPoolStride()), pair(o.getPoolPadding()));
              Tensor<T> dz = activationBackward(ActivationKind::Relu, da, a);
              auto r = batchNormBackward(dz, y, get(o.getBnWeight()),
                                         get(o.getBatchMean()),
                                         get(o.getBatchInvstd()));
              set(o.getGradWeight(),
                  conv2dBackwardFilter(x, r[0], p, shapeOf(o.getGradWeight())));
              set(o.getGradBnWeight(), std::move(r[1]));
              set(o.getGradBnBias(), std::move(r[2]));
              std::vector<bool> reduced{true, false, true, true};
              set(o.getGradBias(),
                  reduce(r[0], reduced, false, shapeOf(o.getGradBias())));
              return success();
            })
        .template Case<BatchNormInferenceOp>([&](BatchNormInferenceOp o) {
          set(o.getResult(),
              batchNormInference(get(o.getInput()), get(o.getWeight()),
                                 get(o.getBias()), get(o.getRunningMean()),
                                 get(o.getRunningVar()),
                                 o.getEps().convertToDouble()));
          return success();
        })
        .template Case<MaxPool2dOp>([&](MaxPool2dOp o) {
          set(o.getResult(),
              maxPool2d(get(o.getInput()), pair(o.getKernelSize()),
                        pair(o.getEffectiveStride()), pair(o.getPadding()),
                        shapeOf(o.getResult())));
          return success();
        })
        .template Case<AvgPool2dOp>([&](AvgPool2dOp o) {
          set(o.getResult(),
              avgPool2d(get(o.getInput()), pair(o.getKernelSize()),
                        pair(o.getEffectiveStride()), pair(o.getPadding()),
                        o.getCountIncludePad(), shapeOf(o.getResult())));
          return success();
        })
        .template Case<AdaptiveAvgPool2dOp>([&](AdaptiveAvgPool2dOp o) {
          set(o.getResult(),
              adaptiveAvgPool2d(get(o.getInput()), pair(o.getOutputSize())));
          return success();
        })
        .template Case<FlattenOp, ReshapeOp>([&](auto o) {
          Tensor<T> t = get(o.getInput());
          t.shape = shapeOf(o.getResult());
          set(o.getResult(), std::move(t));
          return success();
        })
        .template Case<TransposeOp>([&](TransposeOp o) {
          auto perm = o.getPermutation();
          set(o.getResult(),
              transpose(get(o.getInput()),
                        std::vector<int64_t>(perm.begin(), perm.end())));
          return success();
        })
        .template Case<ConcatOp>([&](ConcatOp o) {
          std::vector<const Tensor<T> *> xs;
          for (Value v : o.getInputs())
            xs.push_back(&get(v));
          int64_t rank = cast<RankedTensorType>(o.getType()).getRank();
          int64_t dim = o.getDim() < 0 ? o.getDim() + rank : o.getDim();
          set(o.getResult(), concat(xs, dim, shapeOf(o.getResult())));
          return success();
        })
        .template Case<SliceOp>([&](SliceOp o) {
          const Tensor<T> &x = get(o.getInput());
          int64_t dim = o.getDim() < 0 ? o.getDim() + x.rank() : o.getDim();
          int64_t start = o.getStart();
          if (start < 0)
            start += x.shape[dim];
          start = std::clamp<int64_t>(start, 0, x.shape[dim]);
          set(o.getResult(),
              slice(x, dim, start, o.getStep(), shapeOf(o.getResult())));
          return success();
        })
        .template Case<BroadcastToOp>([&](BroadcastToOp o) {
          set(o.getResult(),
              broadcastTo(get(o.getInput()), shapeOf(o.getResult())));
          return success();
        })
        .template Case<ConstantOp>([&](ConstantOp o) { return constant(o); })
        .template Case<FusedOp>([&](FusedOp o) -> LogicalResult {
          // A fused group means its body, run in order.
          Block &block = o.getBlock();
          // set() copies before inserting: a reference into `values` dies
          // when the map grows.
          for (auto [arg, in] : llvm::zip(block.getArguments(), o.getInputs()))
            set(arg, get(in));
          for (Operation &inner : block.without_terminator())
            if (failed(step(&inner)))
              return failure();
          auto yield = cast<YieldOp>(block.getTerminator());
          for (auto [r, v] : llvm::zip(o.getResults(), yield.getValues()))
            set(r, get(v));
          for (Operation &inner : block.without_terminator())
            for (Value r : inner.getResults())
              values.erase(r);
          for (BlockArgument arg : block.getArguments())
            values.erase(arg);
          return success();
        })
        .template Case<SumOp, MeanOp>([&](auto o) {
          const Tensor<T> &x = get(o.getInput());
          std::vector<bool> reduced(x.rank(), o.getDims().empty());
          for (int64_t d : o.getDims())
            reduced[d < 0 ? d + x.rank() : d] = true;
          set(o.getResult(), reduce(x, reduced, isa<MeanOp>(o.getOperation()),
                                    shapeOf(o.getResult())));
          return success();
        })
        .template Case<SoftmaxOp, LogSoftmaxOp>([&](auto o) {
          const Tensor<T> &x = get(o.getInput());
          int64_t dim = o.getDim() < 0 ? o.getDim() + x.rank() : o.getDim();
          set(o.getResult(),
              softmax(x, dim, isa<LogSoftmaxOp>(o.getOperation())));
          return success();
        })
        .template Case<LayerNormOp>([&](LayerNormOp o) {
          // Rows of D: the row's mean and biased variance, in double.
          const Tensor<T> &x = get(o.getInput());
          const Tensor<T> &w = get(o.getWeight());
          const Tensor<T> &bias = get(o.getBias());
          int64_t d = x.dim(-1), rows = x.numel() / d;
          double eps = o.getEps().convertToDouble();
          Tensor<T> y = Tensor<T>::zeros(x.shape);
          Tensor<T> mean = Tensor<T>::zeros(shapeOf(o.getMean()));
          Tensor<T> rstd = Tensor<T>::zeros(shapeOf(o.getRstd()));
          for (int64_t row = 0; row < rows; ++row) {
            const T *px = &x.data[size_t(row * d)];
            double m = 0, v = 0;
            for (int64_t j = 0; j < d; ++j)
              m += double(px[j]);
            m /= double(d);
            for (int64_t j = 0; j < d; ++j)
              v += (double(px[j]) - m) * (double(px[j]) - m);
            double r = 1.0 / std::sqrt(v / double(d) + eps);
            for (int64_t j = 0; j < d; ++j)
              y.data[size_t(row * d + j)] =
                  T((double(px[j]) - m) * r * double(w.data[size_t(j)]) +
                    double(bias.data[size_t(j)]));
            mean.data[size_t(row)] = T(m);
            rstd.data[size_t(row)] = T(r);
          }
          set(o.getResult(), std::move(y));
          set(o.getMean(), std::move(mean));
          set(o.getRstd(), std::move(rstd));
          return success();
        })
        .template Case<LayerNormBackwardOp>([&](LayerNormBackwardOp o) {
          // dx = rstd / D (D g - Σg - x̂ Σ(g x̂)), g = dy w.
          const Tensor<T> &dy = get(o.getGradOutput());
          const Tensor<T> &x = get(o.getInput());
          const Tensor<T> &w = get(o.getWeight());
          const Tensor<T> &mean = get(o.getMean());
          const Tensor<T> &rstd = get(o.getRstd());
          int64_t d = x.dim(-1), rows = x.numel() / d;
          Tensor<T> dx = Tensor<T>::zeros(x.shape);
          std::vector<double> dw(size_t(d), 0.0), db(size_t(d), 0.0);
          for (int64_t row = 0; row < rows; ++row) {
            double m = double(mean.data[size_t(row)]),
                   r = double(rstd.data[size_t(row)]), s1 = 0, s2 = 0;
            auto at = [&](const Tensor<T> &t, int64_t j) {
              return double(t.data[size_t(row * d + j)]);
            };
            for (int64_t j = 0; j < d; ++j) {
              double xhat = (at(x, j) - m) * r;
              double g = at(dy, j) * double(w.data[size_t(j)]);
              s1 += g;
              s2 += g * xhat;
              dw[size_t(j)] += at(dy, j) * xhat;
              db[size_t(j)] += at(dy, j);
            }
            for (int64_t j = 0; j < d; ++j) {
              double xhat = (at(x, j) - m) * r;
              double g = at(dy, j) * double(w.data[size_t(j)]);
              dx.data[size_t(row * d + j)] =
                  T(r / double(d) * (double(d) * g - s1 - xhat * s2));
            }
          }
          Tensor<T> gw = Tensor<T>::zeros({d}), gb = Tensor<T>::zeros({d});
          for (int64_t j = 0; j < d; ++j) {
            gw.data[size_t(j)] = T(dw[size_t(j)]);
            gb.data[size_t(j)] = T(db[size_t(j)]);
          }
          set(o.getGradInput(), std::move(dx));
          set(o.getGradWeight(), std::move(gw));
          set(o.getGradBias(), std::move(gb));
          return success();
        })
        .template Case<ScanOp>([&](ScanOp o) -> LogicalResult {
          // Step t binds the carried values and sequences[i][t], runs the
          // body, carries the first yielded values on and stacks the rest.
          Block &block = o.getBlock();
          auto yield = cast<YieldOp>(block.getTerminator());
          size_t carried = o.getInit().size();
          int64_t steps = o.getLength();
          std::vector<Tensor<T>> state;
          for (Value v : o.getInit())
            state.push_back(get(v));
          std::vector<Tensor<T>> stacked;
          for (Value r : o.getResults().drop_front(carried)) {
            Tensor<T> t = cast<RankedTensorType>(r.getType())
                                  .getElementType()
                                  .isIntOrIndex()
                              ? Tensor<T>::integers(shapeOf(r))
                              : Tensor<T>::zeros(shapeOf(r));
            stacked.push_back(std::move(t));
          }
          for (int64_t t = 0; t < steps; ++t) {
            for (size_t i = 0; i < carried; ++i)
              set(block.getArgument(unsigned(i)), state[i]);
            for (auto [i, seq] : llvm::enumerate(o.getSequences())) {
              const Tensor<T> &all = get(seq);
              Tensor<T> one;
              one.shape.assign(all.shape.begin() + 1, all.shape.end());
              one.isInt = all.isInt;
              int64_t n = one.numel();
              if (all.isInt)
                one.ints.assign(all.ints.begin() + t * n,
                                all.ints.begin() + (t + 1) * n);
              else
                one.data.assign(all.data.begin() + t * n,
                                all.data.begin() + (t + 1) * n);
              set(block.getArgument(unsigned(carried + i)), one);
            }
            for (Operation &inner : block.without_terminator())
              if (failed(step(&inner)))
                return failure();
            for (size_t i = 0; i < carried; ++i)
              state[i] = get(yield.getValues()[i]);
            for (size_t k = 0; k < stacked.size(); ++k) {
              const Tensor<T> &y = get(yield.getValues()[carried + k]);
              int64_t n = y.numel();
              if (y.isInt)
                std::copy(y.ints.begin(), y.ints.end(),
                          stacked[k].ints.begin() + t * n);
              else
                std::copy(y.data.begin(), y.data.end(),
                          stacked[k].data.begin() + t * n);
            }
            for (Operation &inner : block.without_terminator())
              for (Value r : inner.getResults())
                values.erase(r);
          }
          for (BlockArgument arg : block.getArguments())
            values.erase(arg);
          for (size_t i = 0; i < carried; ++i)
            set(o.getResult(unsigned(i)), state[i]);
          for (size_t k = 0; k < stacked.size(); ++k)
            set(o.getResult(unsigned(carried + k)), stacked[k]);
          return success();
        })
        .template Case<MaskedSoftmaxOp, MaskedSoftmaxBackwardOp>([&](auto o) {
          // Rows of K in [B, Q, K]; valid length from [B] or [B, Q].
          constexpr bool backward =
              std::is_same_v<decltype(o), MaskedSoftmaxBackwardOp>;
          const Tensor<T> &x =
              backward ? get(o->getOperand(1)) : get(o->getOperand(0));
          const Tensor<T> &lens = get(o.getValidLens());
          int64_t q = x.dim(1), k = x.dim(2), rows = x.numel() / k;
          Tensor<T> r = Tensor<T>::zeros(x.shape);
          for (int64_t row = 0; row < rows; ++row) {
            int64_t vl = lens.ints[size_t(lens.rank() == 2 ? row : row / q)];
            const T *px = &x.data[size_t(row * k)];
            T *pr = &r.data[size_t(row * k)];
            if (!backward) {
              auto value = [&](int64_t j) {
                return j < vl ? double(px[j]) : -1e6;
              };
              double mx = -INFINITY, sum = 0;
              for (int64_t j = 0; j < k; ++j)
                mx = std::max(mx, value(j));
              for (int64_t j = 0; j < k; ++j)
                sum += std::exp(value(j) - mx);
              for (int64_t j = 0; j < k; ++j)
                pr[j] = T(std::exp(value(j) - mx) / sum);
            } else {
              const T *pg = &get(o->getOperand(0)).data[size_t(row * k)];
              double s = 0;
              for (int64_t j = 0; j < k; ++j)
                s += double(pg[j]) * double(px[j]);
              for (int64_t j = 0; j < k; ++j)
                pr[j] = j < vl ? T(double(px[j]) * (double(pg[j]) - s)) : T(0);
            }
          }
          set(o.getResult(), std::move(r));
          return success();
        })
        .template Case<CrossEntropyOp>([&](CrossEntropyOp o) -> LogicalResult {
          Tensor<T> out;
          std::string err =
              crossEntropy(get(o.getLogits()), get(o.getLabels()), out);
          if (!err.empty())
            return o.emitOpError() << "evaluation failed: " << err;
          set(o.getResult(), std::move(out));
          return success();
        })
        .template Case<MseLossOp>([&](MseLossOp o) {
          set(o.getResult(), mseLoss(get(o.getInput()), get(o.getTarget())));
          return success();
        })
        .Default([&](Operation *o) {
          return o->emitOpError() << "is not supported by the evaluator";
        });
  }

  template <typename OpT> LogicalResult un(OpT op, UnaryKind kind) {
    set(op.getResult(), unary(kind, get(op.getInput())));
    return success();
  }

  template <typename OpT> LogicalResult act(OpT op, ActivationKind kind) {
    set(op.getResult(),
        activationBackward(kind, get(op.getGradOutput()), get(op.getOutput())));
    return success();
  }

  template <typename OpT> LogicalResult bin(OpT op, BinaryKind kind) {
    set(op.getResult(), binary(kind, get(op.getLhs()), get(op.getRhs()),
                               shapeOf(op.getResult())));
    return success();
  }

  LogicalResult constant(ConstantOp op) {
    auto type = cast<RankedTensorType>(op.getType());
    Tensor<T> t;
    t.shape = Shape(type.getShape().begin(), type.getShape().end());
    auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!dense)
      return op.emitOpError()
             << "evaluator: only dense constants are supported";
    if (isa<FloatType>(type.getElementType())) {
      for (APFloat v : dense.getValues<APFloat>())
        t.data.push_back(T(v.convertToDouble()));
    } else {
      t.isInt = true;
      for (APInt v : dense.getValues<APInt>())
        t.ints.push_back(v.getSExtValue());
    }
    set(op.getResult(), std::move(t));
    return success();
  }
};

} // namespace

template <typename T>
FailureOr<std::vector<Tensor<T>>>
mlir::d2l::eval::evaluate(func::FuncOp func, std::vector<Tensor<T>> args) {
  Interpreter<T> interpreter;
  return interpreter.run(func, std::move(args));
}

template FailureOr<std::vector<Tensor<float>>>
    mlir::d2l::eval::evaluate(func::FuncOp, std::vector<Tensor<float>>);
template FailureOr<std::vector<Tensor<double>>>
    mlir::d2l::eval::evaluate(func::FuncOp, std::vector<Tensor<double>>);
