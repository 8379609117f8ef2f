// attention.cpp: fused attention and fused DIFF attention (flash form), each with its own backward.
//
// Standard. q (B, T, Hq, D), k (B, S, Hkv, D), v (B, S, Hkv, Dv); query head h reads kv head
// g = h / n_rep, n_rep = Hq / Hkv. Per (b, h), with the causal mask aligned bottom-right
// (query t sees keys s <= t + S − T):
//   S  (T, S)   = q kᵀ · scale + mask
//   P  (T, S)   = softmax_rows(S)          lse (T) = logsumexp_rows(S)
//   out (T, Dv) = P v
// The kernel never stores S or P. It walks key tiles with an online softmax, per query row:
//   m' = max(m, max_j s_j);  α = exp(m − m');  l' = α l + Σ_j exp(s_j − m');
//   acc' = α acc + Σ_j exp(s_j − m') v_j;     at the end out = acc / l, lse = m + log l.
//
// Backward (flash-2 style; P is recomputed from lse tile by tile), per query row i:
//   D_i = rowsum(dO_i ⊙ O_i);   P_ij = exp(s_ij − lse_i)   (s already scaled)
//   dV += Pᵀ dO;   dP = dO Vᵀ;   dS = P ⊙ (dP − D);   dQ += dS K · scale;   dK += dSᵀ Q · scale
// Under GQA the n_rep query heads of a group add into the same dK, dV.
//
// DIFF (diff-transformer.md §2-3, flash1 form). q (B, T, 2H, d) holds [Q1_i | Q2_i] as sub-heads
// 2i, 2i+1; k (B, S, 2Hkv, d) holds [K1_g | K2_g]; v (B, S, Hkv, 2d); λ a 0-d tensor.
//   O1 = softmax(Q1_i K1_gᵀ·scale + mask) V_g,  O2 = softmax(Q2_i K2_gᵀ·scale + mask) V_g  (T, 2d)
//   out (B, T, H, 2d) = O1 − λ O2;  the kernel also returns o2 = O2 and lse (B, 2H, T), rows 2i
//   (map 1) and 2i + 1 (map 2).
// Backward: the standard one per map, with map 1 using dO1 = dO and O1 = out + λ o2, map 2 using
// dO2 = −λ dO and O2 = o2; dV receives both. dλ = −Σ dO ⊙ o2 (computed here with ops).
//
// Strided inputs are made contiguous first (a recorded copy, so their gradients flow back through
// it); the kernels see only contiguous q, k, v, dO. Saved for backward: q, k, v, out, lse (and o2, λ).
#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/ops.h"
#include "core/ops/common.h"

namespace difft {

// Checks shared by both ops: defined floating tensors of one dtype/device, all 4-d, equal batch,
// equal key length in k and v, and a key to attend to.
static void check_qkv(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, bool causal) {
  check_floating(op, q);
  check_same(op, q, k);
  check_same(op, q, v);
  DIFFT_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, op, ": q, k, v must be 4-d (B, T, H, D), got q ",
              shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
  DIFFT_CHECK(q.size(0) == k.size(0) && q.size(0) == v.size(0), op, ": batch sizes differ: q ", shape_str(q.shape()),
              ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()));
  DIFFT_CHECK(k.size(1) == v.size(1), op, ": k and v have different lengths: k ", shape_str(k.shape()), ", v ",
              shape_str(v.shape()));
  DIFFT_CHECK(q.size(3) == k.size(3), op, ": q and k head dims differ: q ", shape_str(q.shape()), ", k ",
              shape_str(k.shape()));
  DIFFT_CHECK(q.size(3) > 0 && v.size(3) > 0, op, ": head dims must be positive, got q ", shape_str(q.shape()), ", v ",
              shape_str(v.shape()));
  const int64_t T = q.size(1), S = k.size(1);
  DIFFT_CHECK(!causal || S >= T, op, ": causal attention needs S >= T (mask aligned bottom-right), got q ",
              shape_str(q.shape()), " and k ", shape_str(k.shape()));
  DIFFT_CHECK(S > 0 || T == 0, op, ": no keys to attend to: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()));
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal) {
  check_qkv("attention", q, k, v, causal);
  const int64_t B = q.size(0), T = q.size(1), Hq = q.size(2), Hkv = k.size(2), Dv = v.size(3);
  DIFFT_CHECK(v.size(2) == Hkv, "attention: k and v head counts differ: k ", shape_str(k.shape()), ", v ",
              shape_str(v.shape()));
  DIFFT_CHECK(Hkv > 0 && Hq % Hkv == 0, "attention: query heads must be a multiple of kv heads, got q ",
              shape_str(q.shape()), " and k ", shape_str(k.shape()));
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Tensor out = empty({B, T, Hq, Dv}, {q.dtype(), q.device()});
  Tensor lse = empty({B, Hq, T}, {q.dtype(), q.device()});
  DIFFT_KERNEL(q.device(), attention_forward, "attention")(qc, kc, vc, scale, causal, out, lse);
  SavedTensor sq = qc, sk = kc, sv = vc, so = out, slse = lse;
  return record("attention", out, {qc, kc, vc}, [=](const Tensor& g) -> std::vector<Tensor> {
    const Tensor &q_ = sq.get(), &k_ = sk.get(), &v_ = sv.get();
    Tensor gq = empty(q_.shape(), {q_.dtype(), q_.device()});
    Tensor gk = empty(k_.shape(), {k_.dtype(), k_.device()});
    Tensor gv = empty(v_.shape(), {v_.dtype(), v_.device()});
    DIFFT_KERNEL(q_.device(), attention_backward, "attention")(q_, k_, v_, so.get(), slse.get(), g.contiguous(),
                                                               scale, causal, gq, gk, gv);
    return {gq, gk, gv};
  });
}

Tensor diff_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& lambda, double scale,
                      bool causal) {
  check_qkv("diff_attention", q, k, v, causal);
  check_same("diff_attention", q, lambda);
  DIFFT_CHECK(lambda.numel() == 1 && lambda.dim() <= 1, "diff_attention: lambda must be a 0-d (or 1-element) tensor, got ",
              shape_str(lambda.shape()));
  const int64_t B = q.size(0), T = q.size(1), d = q.size(3);
  DIFFT_CHECK(q.size(2) % 2 == 0 && k.size(2) % 2 == 0,
              "diff_attention: q and k need an even sub-head count (2H, 2Hkv: [Q1|Q2] per head), got q ",
              shape_str(q.shape()), " and k ", shape_str(k.shape()));
  const int64_t H = q.size(2) / 2, Hkv = k.size(2) / 2;
  DIFFT_CHECK(v.size(2) == Hkv, "diff_attention: v must have Hkv = k.size(2) / 2 heads, got k ", shape_str(k.shape()),
              " and v ", shape_str(v.shape()));
  DIFFT_CHECK(v.size(3) == 2 * d, "diff_attention: v's last dim must be 2·d = ", 2 * d, ", got q ",
              shape_str(q.shape()), " and v ", shape_str(v.shape()));
  DIFFT_CHECK(Hkv > 0 && H % Hkv == 0, "diff_attention: query heads must be a multiple of kv heads, got q ",
              shape_str(q.shape()), " and k ", shape_str(k.shape()));
  const double lam = lambda.item();
  const Tensor qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
  Tensor out = empty({B, T, H, 2 * d}, {q.dtype(), q.device()});
  Tensor o2 = empty({B, T, H, 2 * d}, {q.dtype(), q.device()});
  Tensor lse = empty({B, 2 * H, T}, {q.dtype(), q.device()});
  DIFFT_KERNEL(q.device(), diff_attention_forward, "diff_attention")(qc, kc, vc, lam, scale, causal, out, o2, lse);
  SavedTensor sq = qc, sk = kc, sv = vc, so = out, so2 = o2, slse = lse, slam = lambda;
  const Shape lambda_shape = lambda.shape();
  return record("diff_attention", out, {qc, kc, vc, lambda}, [=](const Tensor& g) -> std::vector<Tensor> {
    const Tensor &q_ = sq.get(), &k_ = sk.get(), &v_ = sv.get(), &o2_ = so2.get();
    slam.get();  // lambda's value was captured in forward: reject it if it changed in place since
    Tensor gq = empty(q_.shape(), {q_.dtype(), q_.device()});
    Tensor gk = empty(k_.shape(), {k_.dtype(), k_.device()});
    Tensor gv = empty(v_.shape(), {v_.dtype(), v_.device()});
    DIFFT_KERNEL(q_.device(), diff_attention_backward, "diff_attention")(
        q_, k_, v_, lam, so.get(), o2_, slse.get(), g.contiguous(), scale, causal, gq, gk, gv);
    const Tensor glambda = neg(sum(mul(g, o2_))).reshape(lambda_shape);
    return {gq, gk, gv, glambda};
  });
}

}  // namespace difft
