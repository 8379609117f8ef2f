// attention.cpp: fused standard and DIFF attention on the CPU (flash style, no T×S map stored).
//
// One template serves both ops. A head owns M maps (M = 1 standard, M = 2 DIFF), each with its own
// query and key sub-head, all reading one shared value head, combined with coefficients c:
//   standard: c = {1}           out = O1
//   DIFF:     c = {1, -lambda}  out = O1 - lambda O2   (diff-transformer.md §3, flash1 form)
// Layouts (contiguous), with QH = H·M query sub-heads and KH = Hkv·M key sub-heads:
//   q (B, T, QH, D)  sub-head h·M + m;   k (B, S, KH, D)  sub-head g·M + m, g = h / (H / Hkv);
//   v (B, S, Hkv, Dv);  out, o2 (B, T, H, Dv);  lse (B, QH, T).
// For M = 1 these are the attention_forward layouts, for M = 2 the diff_attention_forward ones.
//
// Forward: a task per (b, head, 64-query tile). Key tiles of 64 are visited in order; tiles
// entirely above the causal diagonal are never touched. The tile products S = Q Kᵀ·scale (64 × 64)
// and acc += P V are small single-threaded BLAS calls straight on the strided rows of q, k, v (no
// copies); the softmax update between them is a plain loop over the 64 scores of a row. Both DIFF
// maps are updated in the same pass over the key tiles, against the same V tile.
//
// Backward: a task per (b, kv head g). It owns gk/gv of group g and gq of every query head that
// reads g, so no two tasks write the same element and nothing is atomic; within a task the loop
// order is fixed (key tile, then query head of the group in order, then query tile), so results do
// not depend on the number of threads.
//
// Threading: BLAS is pinned to one thread (BlasThreadsGuard) around both TBB loops, as
// core/parallel.h requires; every task's BLAS calls then run serially on its own thread.
//
// Precision: everything, including the running max, the running sum, the BLAS products and the
// accumulators, is kept in the tensor's type: double for float64, float for float32 (errors stay
// ~1e-6 relative for the head sizes and lengths used: each output row is a convex combination
// with positive weights, so there is no cancellation in forward).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/cpu/loops.h"
#include "core/cpu/register.h"
#include "core/dispatch.h"

namespace difft::cpu {
namespace {

constexpr int64_t kTileQ = 64, kTileK = 64;

struct Geom {
  int64_t B, T, S, H, Hkv, D, Dv, M;
  bool causal;

  int64_t n_rep() const { return H / Hkv; }
  int64_t q_row(int64_t b, int64_t t, int64_t h, int64_t m) const { return ((b * T + t) * H * M + h * M + m) * D; }
  int64_t k_row(int64_t b, int64_t s, int64_t g, int64_t m) const { return ((b * S + s) * Hkv * M + g * M + m) * D; }
  int64_t v_row(int64_t b, int64_t s, int64_t g) const { return ((b * S + s) * Hkv + g) * Dv; }
  int64_t o_row(int64_t b, int64_t t, int64_t h) const { return ((b * T + t) * H + h) * Dv; }
  int64_t lse_at(int64_t b, int64_t h, int64_t m, int64_t t) const { return ((b * H + h) * M + m) * T + t; }
  // One past the last key query t may see (mask aligned bottom-right: s <= t + S - T).
  int64_t key_end(int64_t t) const { return causal ? std::min(S, t + S - T + 1) : S; }
  // The first query that sees key s.
  int64_t first_query(int64_t s) const { return causal ? std::max<int64_t>(0, s - (S - T)) : 0; }
};

// c (M × N, ldc) = alpha · op(a) op(b) + beta · c, row-major; op transposes when ta / tb.
template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  const CBLAS_TRANSPOSE A = ta ? CblasTrans : CblasNoTrans, B = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, A, B, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, A, B, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// ---- forward ----------------------------------------------------------------------------

template <class T, int M>
struct ForwardArgs {
  Geom g;
  const T *q, *k, *v;
  T scale;
  T coef[M];
  T *out, *o2, *lse;
};

// Per-task scratch: a score tile per map and the online-softmax state of a query tile.
template <class T, int M>
struct ForwardScratch {
  std::vector<T> s, mx, sum, acc;
  explicit ForwardScratch(const Geom& g)
      : s(size_t(M * kTileQ * kTileK)), mx(size_t(M * kTileQ)), sum(size_t(M * kTileQ)), acc(size_t(M * kTileQ * g.Dv)) {}
};

// Online softmax over key tiles for queries [t0, t1) of head h in batch b. Per row and map:
//   m' = max(m, max_j s_j);  a = exp(m − m');  p_j = exp(s_j − m');
//   l' = a l + Σ_j p_j;      acc' = a acc + Σ_j p_j v_j
// and at the end O = acc / l, lse = m + log l. Masked entries get p = 0. Key tile 0 is visible to
// every row, so m is finite from the first tile on.
template <class T, int M>
void forward_tile(const ForwardArgs<T, M>& a, ForwardScratch<T, M>& w, int64_t b, int64_t h, int64_t t0, int64_t t1) {
  const Geom& g = a.g;
  const int64_t grp = h / g.n_rep(), nq = t1 - t0, D = g.D, Dv = g.Dv;
  std::fill(w.mx.begin(), w.mx.end(), -std::numeric_limits<T>::infinity());
  std::fill(w.sum.begin(), w.sum.end(), T(0));
  std::fill(w.acc.begin(), w.acc.end(), T(0));
  const int64_t s_end = g.key_end(t1 - 1);  // no row of the tile sees a key at or past this
  for (int64_t s0 = 0; s0 < s_end; s0 += kTileK) {
    const int64_t nk = std::min(kTileK, g.S - s0);
    for (int m = 0; m < M; ++m) {
      T* st = w.s.data() + m * kTileQ * kTileK;
      gemm<T>(false, true, nq, nk, D, a.scale, a.q + g.q_row(b, t0, h, m), g.H * M * D, a.k + g.k_row(b, s0, grp, m),
              g.Hkv * M * D, T(0), st, kTileK);
      for (int64_t r = 0; r < nq; ++r) {
        T* p = st + r * kTileK;
        const int64_t n = std::clamp<int64_t>(g.key_end(t0 + r) - s0, 0, nk);
        std::fill(p + n, p + nk, T(0));
        if (n == 0) continue;
        T tile_max = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < n; ++j) tile_max = std::max(tile_max, p[j]);
        T& mx = w.mx[size_t(m * kTileQ + r)];
        const T m_new = std::max(mx, tile_max);
        const T alpha = std::exp(mx - m_new);  // 0 on the first tile (mx = -inf)
        T tile_sum = 0;
        for (int64_t j = 0; j < n; ++j) p[j] = std::exp(p[j] - m_new), tile_sum += p[j];
        T& l = w.sum[size_t(m * kTileQ + r)];
        l = alpha * l + tile_sum;
        mx = m_new;
        T* acc = w.acc.data() + (m * kTileQ + r) * Dv;
        for (int64_t e = 0; e < Dv; ++e) acc[e] *= alpha;
      }
    }
    // acc_m += P_m V: both maps read the same V tile while it is in cache
    for (int m = 0; m < M; ++m)
      gemm<T>(false, false, nq, Dv, nk, T(1), w.s.data() + m * kTileQ * kTileK, kTileK, a.v + g.v_row(b, s0, grp),
              g.Hkv * Dv, T(1), w.acc.data() + m * kTileQ * Dv, Dv);
  }
  for (int64_t r = 0; r < nq; ++r) {
    T* out = a.out + g.o_row(b, t0 + r, h);
    std::fill(out, out + Dv, T(0));
    for (int m = 0; m < M; ++m) {
      const T l = w.sum[size_t(m * kTileQ + r)];
      const T c = a.coef[m] / l;
      const T* acc = w.acc.data() + (m * kTileQ + r) * Dv;
      for (int64_t e = 0; e < Dv; ++e) out[e] += c * acc[e];
      if constexpr (M == 2) {
        if (m == 1) {
          T* o2 = a.o2 + g.o_row(b, t0 + r, h);
          for (int64_t e = 0; e < Dv; ++e) o2[e] = acc[e] / l;
        }
      }
      a.lse[g.lse_at(b, h, m, t0 + r)] = w.mx[size_t(m * kTileQ + r)] + std::log(l);
    }
  }
}

template <class T, int M>
void forward(const ForwardArgs<T, M>& a) {
  const Geom& g = a.g;
  const int64_t tiles = (g.T + kTileQ - 1) / kTileQ;
  BlasThreadsGuard one(1);  // BLAS calls run inside the TBB loop (core/parallel.h)
  parallel_for(0, g.B * g.H * tiles, 1, [&](int64_t lo, int64_t hi) {
    ForwardScratch<T, M> w(g);
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t tile = item % tiles, bh = item / tiles;
      const int64_t t0 = tile * kTileQ;
      forward_tile<T, M>(a, w, bh / g.H, bh % g.H, t0, std::min(g.T, t0 + kTileQ));
    }
  });
}

// ---- backward ---------------------------------------------------------------------------

template <class T, int M>
struct BackwardArgs {
  Geom g;
  const T *q, *k, *v, *out, *o2, *lse, *gout;
  T scale;
  T coef[M];
  T *gq, *gk, *gv;
};

// rowdot[(hl·M + m)·T + t] = D_m of row t of head grp·n_rep + hl: c_m · rowsum(dO ⊙ O_m), with
// O_1 = out for M = 1 and, for DIFF, O_1 = out + λ o2 = out − c_1 o2, O_2 = o2.
template <class T, int M>
std::vector<T> row_dots(const BackwardArgs<T, M>& a, int64_t b, int64_t grp) {
  const Geom& g = a.g;
  const int64_t rep = g.n_rep(), Dv = g.Dv;
  std::vector<T> rowdot(size_t(rep * M * g.T));
  for (int64_t hl = 0; hl < rep; ++hl)
    for (int64_t t = 0; t < g.T; ++t) {
      const int64_t o = g.o_row(b, t, grp * rep + hl);
      const T *dO = a.gout + o, *out = a.out + o;
      for (int m = 0; m < M; ++m) {
        T dot = 0;
        if constexpr (M == 1) {
          for (int64_t e = 0; e < Dv; ++e) dot += dO[e] * out[e];
        } else if (m == 0) {
          for (int64_t e = 0; e < Dv; ++e) dot += dO[e] * (out[e] - a.coef[1] * a.o2[o + e]);
        } else {
          for (int64_t e = 0; e < Dv; ++e) dot += dO[e] * a.o2[o + e];
        }
        rowdot[size_t((hl * M + m) * g.T + t)] = a.coef[m] * dot;
      }
    }
  return rowdot;
}

// Gradients for batch b, kv head grp, and every query head of that group, key tile by key tile
// (flash-2 order: dK, dV of the tile stay in scratch; dQ accumulates in gq). Per map m, with
// dO_m = c_m dO:
//   P = exp(S·scale − lse);  dP_m = c_m dO Vᵀ;  dS = P ⊙ (dP_m − D_m);
//   dV += Σ_m P_mᵀ dO_m;  dQ_m += dS K_m·scale;  dK_m += dSᵀ Q_m·scale.
template <class T, int M>
void backward_group(const BackwardArgs<T, M>& a, int64_t b, int64_t grp) {
  const Geom& g = a.g;
  const int64_t D = g.D, Dv = g.Dv, rep = g.n_rep(), ldq = g.H * M * D, ldk = g.Hkv * M * D, ldo = g.H * Dv,
                ldv = g.Hkv * Dv;
  for (int64_t t = 0; t < g.T; ++t) std::fill_n(a.gq + g.q_row(b, t, grp * rep, 0), rep * M * D, T(0));
  const std::vector<T> rowdot = row_dots(a, b, grp);
  std::vector<T> s(size_t(kTileQ * kTileK)), dp(size_t(kTileQ * kTileK)), pv(size_t(kTileQ * kTileK)),
      dk(size_t(M * kTileK * D)), dv(size_t(kTileK * Dv));
  for (int64_t s0 = 0; s0 < g.S; s0 += kTileK) {
    const int64_t nk = std::min(kTileK, g.S - s0);
    std::fill(dk.begin(), dk.end(), T(0));
    std::fill(dv.begin(), dv.end(), T(0));
    for (int64_t hl = 0; hl < rep; ++hl) {
      const int64_t h = grp * rep + hl;
      for (int64_t t0 = g.first_query(s0); t0 < g.T; t0 += kTileQ) {
        const int64_t nq = std::min(kTileQ, g.T - t0);
        const T* dO = a.gout + g.o_row(b, t0, h);
        gemm<T>(false, true, nq, nk, Dv, T(1), dO, ldo, a.v + g.v_row(b, s0, grp), ldv, T(0), dp.data(), kTileK);
        std::fill(pv.begin(), pv.end(), T(0));
        for (int m = 0; m < M; ++m) {
          const T* q = a.q + g.q_row(b, t0, h, m);
          const T* k = a.k + g.k_row(b, s0, grp, m);
          gemm<T>(false, true, nq, nk, D, a.scale, q, ldq, k, ldk, T(0), s.data(), kTileK);
          const T c = a.coef[m];
          for (int64_t r = 0; r < nq; ++r) {
            const T L = a.lse[g.lse_at(b, h, m, t0 + r)], Dm = rowdot[size_t((hl * M + m) * g.T + t0 + r)];
            const int64_t n = std::min(nk, g.key_end(t0 + r) - s0);  // >= 1 from first_query
            T *sr = s.data() + r * kTileK, *pr = pv.data() + r * kTileK;
            const T* dpr = dp.data() + r * kTileK;
            for (int64_t j = 0; j < n; ++j) {
              const T p = std::exp(sr[j] - L);
              pr[j] += c * p;
              sr[j] = p * (c * dpr[j] - Dm) * a.scale;  // dS·scale
            }
            std::fill(sr + n, sr + nk, T(0));
          }
          gemm<T>(true, false, nk, D, nq, T(1), s.data(), kTileK, q, ldq, T(1), dk.data() + m * kTileK * D, D);
          gemm<T>(false, false, nq, D, nk, T(1), s.data(), kTileK, k, ldk, T(1), a.gq + g.q_row(b, t0, h, m), ldq);
        }
        gemm<T>(true, false, nk, Dv, nq, T(1), pv.data(), kTileK, dO, ldo, T(1), dv.data(), Dv);
      }
    }
    for (int64_t j = 0; j < nk; ++j) {
      for (int m = 0; m < M; ++m) std::copy_n(dk.data() + (m * kTileK + j) * D, D, a.gk + g.k_row(b, s0 + j, grp, m));
      std::copy_n(dv.data() + j * Dv, Dv, a.gv + g.v_row(b, s0 + j, grp));
    }
  }
}

template <class T, int M>
void backward(const BackwardArgs<T, M>& a) {
  BlasThreadsGuard one(1);  // BLAS calls run inside the TBB loop (core/parallel.h)
  parallel_for(0, a.g.B * a.g.Hkv, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t item = lo; item < hi; ++item) backward_group<T, M>(a, item / a.g.Hkv, item % a.g.Hkv);
  });
}

// ---- kernel entry points ----------------------------------------------------------------

template <class T>
const T* cp(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T>
T* mp(const Tensor& t) { return static_cast<T*>(t.raw_data()); }

// M = 1: q (B, T, Hq, D), k (B, S, Hkv, D), v (B, S, Hkv, Dv).
// M = 2: q (B, T, 2H, d), k (B, S, 2Hkv, d), v (B, S, Hkv, 2d).
Geom geometry(const Tensor& q, const Tensor& k, const Tensor& v, int64_t M, bool causal) {
  return {q.size(0), q.size(1), k.size(1), q.size(2) / M, v.size(2), q.size(3), v.size(3), M, causal};
}

void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                       const Tensor& out, const Tensor& lse) {
  dispatch_float(q.dtype(), "attention", [&](auto z) {
    using T = decltype(z);
    forward<T, 1>({geometry(q, k, v, 1, causal), cp<T>(q), cp<T>(k), cp<T>(v), T(scale), {T(1)}, mp<T>(out), nullptr, mp<T>(lse)});
  });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                        const Tensor& gout, double scale, bool causal, const Tensor& gq, const Tensor& gk,
                        const Tensor& gv) {
  dispatch_float(q.dtype(), "attention", [&](auto z) {
    using T = decltype(z);
    backward<T, 1>({geometry(q, k, v, 1, causal), cp<T>(q), cp<T>(k), cp<T>(v), cp<T>(out), nullptr, cp<T>(lse),
                    cp<T>(gout), T(scale), {T(1)}, mp<T>(gq), mp<T>(gk), mp<T>(gv)});
  });
}

void diff_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, double lambda, double scale,
                            bool causal, const Tensor& out, const Tensor& o2, const Tensor& lse) {
  dispatch_float(q.dtype(), "diff_attention", [&](auto z) {
    using T = decltype(z);
    forward<T, 2>({geometry(q, k, v, 2, causal), cp<T>(q), cp<T>(k), cp<T>(v), T(scale), {T(1), T(-lambda)},
                   mp<T>(out), mp<T>(o2), mp<T>(lse)});
  });
}

void diff_attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, double lambda, const Tensor& out,
                             const Tensor& o2, const Tensor& lse, const Tensor& gout, double scale, bool causal,
                             const Tensor& gq, const Tensor& gk, const Tensor& gv) {
  dispatch_float(q.dtype(), "diff_attention", [&](auto z) {
    using T = decltype(z);
    backward<T, 2>({geometry(q, k, v, 2, causal), cp<T>(q), cp<T>(k), cp<T>(v), cp<T>(out), cp<T>(o2), cp<T>(lse),
                    cp<T>(gout), T(scale), {T(1), T(-lambda)}, mp<T>(gq), mp<T>(gk), mp<T>(gv)});
  });
}

}  // namespace

void register_attention(Kernels& k) {
  k.attention_forward = attention_forward;
  k.attention_backward = attention_backward;
  k.diff_attention_forward = diff_attention_forward;
  k.diff_attention_backward = diff_attention_backward;
}

}  // namespace difft::cpu
