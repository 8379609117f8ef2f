// demo.cpp: `difft demo`, a two-layer MLP fitted with the engine's autograd and plain SGD.
//
// Regression of y = sin(x0) * cos(x1) on x ~ U(-2, 2)^2:
//   h    = tanh(x (B, 2) @ w1 (2, H) + b1 (H))       (B, H)
//   pred = h @ w2 (H, 1) + b2 (1)                    (B, 1)
//   loss = mean((pred - y)^2)                         ()
// There is no optimizer library yet, so the update is written out with in-place tensor ops under
// NoGradGuard: p -= lr * p.grad. The run is deterministic for a given --seed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "apps/commands.h"
#include "core/autograd.h"
#include "core/generator.h"
#include "core/ops.h"
#include "core/parallel.h"

namespace difft::app {
namespace {

struct Mlp {
  Tensor w1, b1, w2, b2;

  // PyTorch's nn.Linear initialisation: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  Mlp(int64_t hidden, Generator& gen) {
    const TensorOptions leaf{DType::Float32, Device::cpu(), true};
    const double k1 = 1.0 / std::sqrt(2.0), k2 = 1.0 / std::sqrt(double(hidden));
    w1 = uniform({2, hidden}, -k1, k1, gen, leaf);
    b1 = uniform({hidden}, -k1, k1, gen, leaf);
    w2 = uniform({hidden, 1}, -k2, k2, gen, leaf);
    b2 = uniform({1}, -k2, k2, gen, leaf);
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
  Tensor operator()(const Tensor& x) const { return matmul(tanh(matmul(x, w1) + b1), w2) + b2; }
};

struct Data {
  Tensor x, y;  // (n, 2), (n, 1) float32
};

// The targets are computed on the host: the engine has no sin/cos (a transformer needs none).
Data make_data(int64_t n, Generator& gen) {
  Data d;
  d.x = uniform({n, 2}, -2.0, 2.0, gen);
  const std::vector<float> xs = d.x.to_vector<float>();
  std::vector<float> ys(static_cast<size_t>(n));
  for (size_t i = 0; i < ys.size(); ++i) ys[i] = std::sin(xs[2 * i]) * std::cos(xs[2 * i + 1]);
  d.y = from_vector(ys, {n, 1});
  return d;
}

Tensor mse(const Tensor& pred, const Tensor& y) { return mean(pow(pred - y, 2.0)); }

void sgd_step(const std::vector<Tensor>& params, double lr) {
  NoGradGuard no_grad;
  for (Tensor p : params) {  // a handle copy: the update writes the leaf's storage
    p.add_(p.grad(), -lr);
    p.zero_grad();
  }
}

}  // namespace

cli::Command demo_command() {
  return cli::Command("demo", "train a 2 -> H -> 1 tanh MLP on y = sin(x0)*cos(x1) with autograd and SGD",
                      {{"steps", "3000", "SGD steps"},
                       {"seed", "0", "seed of the data and the initial weights"},
                       {"lr", "0.1", "learning rate"},
                       {"hidden", "64", "hidden units H"},
                       {"batch", "64", "examples per step"},
                       {"samples", "1024", "training examples (as many again are held out)"},
                       {"log-every", "250", "print the mean training loss every N steps"}});
}

int run_demo(const cli::Command& c) {
  const int64_t steps = c.integer("steps", 1, 100'000'000), hidden = c.integer("hidden", 1, 1 << 20);
  const int64_t samples = c.integer("samples", 1, 1 << 24), log_every = c.integer("log-every", 1);
  const int64_t batch = c.integer("batch", 1, samples);
  const uint64_t seed = uint64_t(c.integer("seed", 0));
  const double lr = c.number_above("lr", 0.0);

  Generator gen(seed);
  Mlp model(hidden, gen);
  const Data train = make_data(samples, gen), test = make_data(samples, gen);
  const double var = mse(test.y, mean(test.y)).item();  // the loss of predicting the mean
  std::printf("difft demo: 2 -> %lld -> 1 tanh MLP, %lld samples, batch %lld, lr %g, seed %llu, %d threads\n",
              (long long)hidden, (long long)samples, (long long)batch, lr, (unsigned long long)seed, num_threads());
  std::printf("held-out loss of the constant prediction: %.6f\n", var);

  double window = 0;  // sum of the batch losses since the last print
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 1; step <= steps; ++step) {
    // Batches walk through the (already random) training set in order, wrapping around.
    const int64_t start = ((step - 1) * batch) % samples, len = std::min(batch, samples - start);
    Tensor loss = mse(model(train.x.narrow(0, start, len)), train.y.narrow(0, start, len));
    loss.backward();
    sgd_step(model.params(), lr);

    const double l = loss.item();
    if (!std::isfinite(l)) {
      std::fprintf(stderr, "difft demo: the loss diverged at step %lld (try a smaller --lr)\n", (long long)step);
      return 1;
    }
    window += l;
    if (step % log_every == 0 || step == steps) {
      const int64_t n = step % log_every == 0 ? log_every : step % log_every;
      std::printf("step %7lld  train loss %.6f\n", (long long)step, window / double(n));
      window = 0;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  NoGradGuard no_grad;
  const double test_loss = mse(model(test.x), test.y).item();
  std::printf("held-out loss %.6f (constant prediction %.6f); %lld steps in %.2f s (%.0f us/step)\n", test_loss,
              var, (long long)steps, secs, 1e6 * secs / double(steps));
  if (!(test_loss < var)) {
    std::fprintf(stderr, "difft demo: the model did not beat the constant prediction\n");
    return 1;
  }
  return 0;
}

}  // namespace difft::app
