// autograd.h: the define-by-run graph and the reverse-mode engine.
//
// Every differentiable op that runs with grad mode on and an input that requires grad attaches a
// Node to its output. The node holds a backward closure and one edge per input: the input's own
// grad_fn, the input leaf's AccumulateGrad node, or null when that input needs no gradient.
//
//   y = mul(a, b)      y.grad_fn = Node{"mul", next = {a's node, b's node},
//                                       backward = [sa, sb](gy) { return {gy*b, gy*a}; }}
//
// backward() sorts the nodes reachable from the root topologically, runs each node's closure once
// all gradients flowing into it are summed, and adds the results into the leaves' .grad. It runs
// with grad mode off, so backward formulas are written with ordinary ops.
//
// Conventions: a backward closure returns one gradient per input (undefined = zero, or not needed),
// each of the input's shape; the engine checks that shape. Tensors a closure needs are held as
// SavedTensor, which detects in-place modification through the storage's version counter.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace difft {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  std::string name;                         // the op, e.g. "matmul"
  std::vector<std::shared_ptr<Node>> next;  // per input; null if that input needs no grad
  std::vector<Shape> input_shapes;          // per input, to check the returned gradients
  std::vector<DType> input_dtypes;

  virtual ~Node();  // releases the chain of `next` iteratively: a deep graph must not recurse
  virtual std::vector<Tensor> apply(const Tensor& grad_out) = 0;
  virtual void release() {}  // frees saved tensors once the graph is not retained
};

// The node of a recorded op: runs a closure.
struct FunctionNode final : Node {
  BackwardFn fn;
  std::vector<Tensor> apply(const Tensor& grad_out) override;
  void release() override { fn = nullptr; }
};

// The node of a leaf: adds the incoming gradient into leaf.grad.
struct AccumulateGrad final : Node {
  std::weak_ptr<TensorImpl> leaf;
  std::vector<Tensor> apply(const Tensor& grad_out) override;
};

// A tensor saved for backward, with the version it had when saved.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t);  // NOLINT: implicit so closures can capture save(x) naturally
  // Throws if the storage was modified in place since it was saved.
  const Tensor& get() const;

 private:
  Tensor t_;
  uint64_t version_ = 0;
};

// ---- grad mode ---------------------------------------------------------------------------
bool grad_enabled();
class NoGradGuard {  // like torch.no_grad(): ops record nothing inside its scope
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and any defined input requires grad.
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attaches a FunctionNode named `op` with `fn` to `out` when any_requires_grad(inputs); returns out.
// `fn` must return inputs.size() gradients.
Tensor record(const char* op, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn);

// Runs the engine (Tensor::backward calls this).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

// Sums `g` over broadcast dims so that it has `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace difft
