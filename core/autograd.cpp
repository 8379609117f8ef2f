// autograd.cpp: the engine. Read top to bottom: grad mode, saved tensors, recording, backward.
#include "core/autograd.h"

#include <unordered_map>

#include "core/error.h"
#include "core/ops.h"

namespace difft {

// ---- grad mode -----------------------------------------------------------------------------
static thread_local bool g_grad_enabled = true;
bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

// ---- saved tensors -------------------------------------------------------------------------
SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  t_ = t.detach();  // no grad_fn: a saved output must not keep its own node alive (a cycle)
  version_ = t.version();  // no message text here: formatting it cost more than a small op
}

const Tensor& SavedTensor::get() const {
  DIFFT_CHECK(!t_.defined() || t_.version() == version_,
              "autograd: a tensor of shape ", shape_str(t_.shape()), " needed for backward was modified in place "
              "(version ", version_, " when saved, now ", t_.version(),
              "); make a copy (clone) before changing it, or change it after backward()");
  return t_;
}

// ---- recording -----------------------------------------------------------------------------
bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

static std::shared_ptr<Node> edge_of(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  TensorImpl* impl = t.impl();  // a leaf: share its accumulator while the graph lives
  if (auto acc = impl->grad_accumulator.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>();
  acc->name = "AccumulateGrad";
  acc->leaf = t.impl_ptr();
  impl->grad_accumulator = acc;
  return acc;
}

Tensor record(const char* op, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!any_requires_grad(inputs)) return out;
  auto node = std::make_shared<FunctionNode>();
  node->name = op;
  node->fn = std::move(fn);
  for (const Tensor& t : inputs) {
    node->next.push_back(edge_of(t));
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->input_dtypes.push_back(t.defined() ? t.dtype() : DType::Float32);
  }
  // `out` may be a view sharing a handle with nothing else; give it its own impl if it is one
  // of the inputs (an op that returned its input unchanged).
  for (const Tensor& t : inputs)
    if (t.impl() == out.impl()) out = make_view(out, out.shape(), out.strides(), out.offset());
  out.impl()->requires_grad = true;
  out.impl()->grad_fn = std::move(node);
  return out;
}

// Dropping the last reference to the root of a long chain would destroy node after node
// recursively (one stack frame set per node) and overflow the stack near 10^5 nodes. Instead,
// each dying node adopts the edges of the nodes it holds the last reference to, so they die
// with empty `next` lists.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack = std::move(next);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& e : n->next) stack.push_back(std::move(e));
      n->next.clear();
    }
  }
}

std::vector<Tensor> FunctionNode::apply(const Tensor& grad_out) {
  DIFFT_CHECK(fn != nullptr, "backward: trying to backward through the graph of '", name,
              "' a second time, but its saved tensors were freed; call backward(grad, "
              "/*retain_graph=*/true) the first time");
  return fn(grad_out);
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& g) {
  auto impl = leaf.lock();
  if (!impl) return {};  // the leaf is gone: nobody can read its gradient
  Tensor t(impl);
  if (!impl->grad.defined()) {
    // Own the memory: g may be a view of a saved tensor or of another gradient, the very tensor
    // the caller passed to backward(), or a gradient the engine also hands to another leaf (add's
    // backward returns one tensor for both inputs). Steal it only when nothing else refers to
    // its handle or its storage, else a later add_ would write into the other holder.
    const bool sole_owner = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
    impl->grad = g.is_contiguous() && sole_owner ? g : g.clone();
  } else {
    impl->grad.add_(g);
  }
  return {};
}

// ---- backward ------------------------------------------------------------------------------
Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - int64_t(shape.size());
  DIFFT_CHECK(lead >= 0, "sum_to: cannot reduce ", shape_str(g.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < g.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.size(i) != 1)) dims.push_back(i);
  Tensor r = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  return r.reshape(shape);
}

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  DIFFT_CHECK(root.requires_grad(), "backward: the tensor of shape ", shape_str(root.shape()),
              " does not require grad and has no grad_fn (did you call it under no_grad, or "
              "forget requires_grad_() on the inputs?)");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    DIFFT_CHECK(root.numel() == 1, "backward: implicit gradient needs a one-element tensor, got ",
                shape_str(root.shape()), "; pass an explicit gradient");
    grad = ones(root.shape(), {root.dtype(), root.device()});
  }
  DIFFT_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad.shape()),
              " for a tensor of shape ", shape_str(root.shape()));

  std::shared_ptr<Node> start = root.grad_fn();
  if (!start) start = edge_of(root);  // backward from a leaf: just accumulate

  // Count, for every reachable node, how many edges point into it (iterative DFS: graphs of
  // deep models are too deep for recursion).
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack{start.get()};
  deps[start.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& next : n->next) {
      if (!next) continue;
      auto [it, fresh] = deps.try_emplace(next.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(next.get());
    }
  }

  // Run nodes whose incoming gradients are all summed (Kahn's algorithm).
  NoGradGuard no_grad;
  std::unordered_map<Node*, Tensor> pending{{start.get(), grad}};
  std::vector<Node*> ready{start.get()};
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    Tensor g = std::move(pending[n]);
    pending.erase(n);
    std::vector<Tensor> grads = n->apply(g);
    if (!retain_graph) n->release();
    if (dynamic_cast<AccumulateGrad*>(n)) continue;
    DIFFT_CHECK(grads.size() == n->next.size(), "backward of '", n->name, "' returned ",
                grads.size(), " gradients for ", n->next.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      Node* next = n->next[i].get();
      if (!next) continue;
      Tensor& gi = grads[i];
      if (gi.defined()) {
        DIFFT_CHECK(gi.shape() == n->input_shapes[i], "backward of '", n->name,
                    "' returned a gradient of shape ", shape_str(gi.shape()), " for input ", i,
                    " of shape ", shape_str(n->input_shapes[i]));
        if (gi.dtype() != n->input_dtypes[i]) gi = gi.to(n->input_dtypes[i]);
        Tensor& acc = pending[next];
        acc = acc.defined() ? add(acc, gi) : gi;
      }
      if (--deps[next] == 0) {
        if (pending.count(next)) ready.push_back(next);
        // A node that got no gradient at all (every path returned undefined) is skipped, but
        // its own inputs still wait for it: propagate "nothing" by walking it as done.
        else {
          std::vector<Node*> skip{next};
          while (!skip.empty()) {
            Node* s = skip.back();
            skip.pop_back();
            if (!retain_graph) s->release();
            for (const auto& nn : s->next) {
              if (!nn) continue;
              if (--deps[nn.get()] == 0) {
                if (pending.count(nn.get())) ready.push_back(nn.get());
                else skip.push_back(nn.get());
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace difft
