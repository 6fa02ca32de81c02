/* Pointwise kernels of the built-in cells for the unrolled path (CPU).
 *
 * One call does a whole step's pointwise work (all gates, the state update and its
 * derivative), where torch ops would take a dozen calls. The equations are those of
 * rnnkit/nn/cell_math.py (LSTMMath, GRUMath, ElmanMath); the tests compare the two.
 * Every buffer is row-major and contiguous: n rows, H (or G = k*H) columns.
 * Compiled at first use by rnnkit/nn/native.py; without a C compiler the torch-op
 * version of the same math runs instead.
 */
#include <math.h>
#include <stddef.h>

/* The loops of the backward kernels, for a given expression of the gradient w.r.t. h
 * (with or without the output's gradient dy): one branch per case outside the loop
 * keeps the loop free of conditions, so that it vectorises. */
#define LSTM_BWD_LOOP(T, TANH, DHJ)                                                        \
    for (long r = 0; r < n; r++) {                                                         \
        const T *a = act + r * 4 * H;                                                      \
        T *d = dpre + r * 4 * H;                                                           \
        for (long k = 0; k < H; k++) {                                                     \
            long j = r * H + k;                                                            \
            T i = a[k], f = a[H + k], g = a[2 * H + k], o = a[3 * H + k];                  \
            T tc = TANH(c[j]);                                                             \
            T dhj = DHJ;                                                                   \
            T dct = dc[j] + dhj * o * ((T)1 - tc * tc);                                    \
            d[k] = dct * g * i * ((T)1 - i);                                               \
            d[H + k] = dct * c_prev[j] * f * ((T)1 - f);                                   \
            d[2 * H + k] = dct * i * ((T)1 - g * g);                                       \
            d[3 * H + k] = dhj * tc * o * ((T)1 - o);                                      \
            dc[j] = dct * f;                                                               \
        }                                                                                  \
    }

#define GRU_BWD_LOOP(T, DHJ)                                                               \
    for (long r = 0; r < n; r++) {                                                         \
        const T *a = act + r * 3 * H, *q = hp + r * 3 * H;                                 \
        T *dx = dxp + r * 3 * H, *dq = dhp + r * 3 * H;                                    \
        for (long k = 0; k < H; k++) {                                                     \
            long j = r * H + k;                                                            \
            T rr = a[k], z = a[H + k], nn = a[2 * H + k];                                  \
            T dhj = DHJ;                                                                   \
            T dn = dhj * ((T)1 - z) * ((T)1 - nn * nn);                                    \
            T dr = dn * q[2 * H + k] * rr * ((T)1 - rr);                                   \
            T dz = dhj * (h_prev[j] - nn) * z * ((T)1 - z);                                \
            dx[k] = dr; dx[H + k] = dz; dx[2 * H + k] = dn;                                \
            dq[k] = dr; dq[H + k] = dz; dq[2 * H + k] = dn * rr;                           \
            dh_direct[j] = dhj * z;                                                        \
        }                                                                                  \
    }

#define DEFINE_KERNELS(T, SFX, EXP, TANH, CLAMP)                                          \
static inline T sig_##SFX(T x) {                                                           \
    if (x < -CLAMP) x = -CLAMP;                                                            \
    if (x > CLAMP) x = CLAMP;                                                              \
    return (T)1 / ((T)1 + EXP(-x));                                                        \
}                                                                                          \
                                                                                           \
/* LSTM forward. pre (n, 4H): gate pre-activations i|f|g|o, overwritten with the        \
 * activations i|f|g|o (g = tanh). c_prev (n, H) in; c, h (n, H) out. */                  \
void lstm_fwd_##SFX(T *restrict pre, const T *restrict c_prev, T *restrict c,            \
                    T *restrict h, long n, long H) {                                       \
    for (long r = 0; r < n; r++) {                                                         \
        T *p = pre + r * 4 * H;                                                            \
        const T *cp = c_prev + r * H;                                                      \
        T *cr = c + r * H, *hr = h + r * H;                                                \
        for (long k = 0; k < H; k++) {                                                     \
            T i = sig_##SFX(p[k]), f = sig_##SFX(p[H + k]);                                \
            T g = TANH(p[2 * H + k]), o = sig_##SFX(p[3 * H + k]);                         \
            T cn = f * cp[k] + i * g;                                                      \
            p[k] = i; p[H + k] = f; p[2 * H + k] = g; p[3 * H + k] = o;                    \
            cr[k] = cn;                                                                    \
            hr[k] = o * TANH(cn);                                                          \
        }                                                                                  \
    }                                                                                      \
}                                                                                          \
                                                                                           \
/* LSTM backward. act (n, 4H) i|f|g|o; c_prev, c (n, H); dh (n, H): gradient w.r.t.     \
 * h from the next step, plus dy (n, H, may be NULL) from the output; dc (n, H) in:       \
 * gradient w.r.t. c_t from the next step, out: w.r.t. c_{t-1}; dpre (n, 4H) out. */      \
void lstm_bwd_##SFX(const T *restrict act, const T *restrict c_prev, const T *restrict c, \
                    const T *restrict dh, const T *restrict dy, T *restrict dc,           \
                    T *restrict dpre, long n, long H) {                                    \
    if (dy) { LSTM_BWD_LOOP(T, TANH, dh[j] + dy[j]) }                                      \
    else { LSTM_BWD_LOOP(T, TANH, dh[j]) }                                                 \
}                                                                                          \
                                                                                           \
/* GRU forward. xp (n, 3H) input part r|z|n, overwritten with the activations r|z|n;   \
 * hp (n, 3H) hidden part (its n block, W_hn h + b_hn, is read); h_prev in, h out. */   \
void gru_fwd_##SFX(T *restrict xp, const T *restrict hp, const T *restrict h_prev,       \
                   T *restrict h, long n, long H) {                                        \
    for (long r = 0; r < n; r++) {                                                         \
        T *x = xp + r * 3 * H;                                                             \
        const T *q = hp + r * 3 * H;                                                       \
        for (long k = 0; k < H; k++) {                                                     \
            long j = r * H + k;                                                            \
            T rr = sig_##SFX(x[k] + q[k]), z = sig_##SFX(x[H + k] + q[H + k]);             \
            T nn = TANH(x[2 * H + k] + rr * q[2 * H + k]);                                 \
            x[k] = rr; x[H + k] = z; x[2 * H + k] = nn;                                    \
            h[j] = nn + z * (h_prev[j] - nn);                                              \
        }                                                                                  \
    }                                                                                      \
}                                                                                          \
                                                                                           \
/* GRU backward. act (n, 3H) r|z|n; hp (n, 3H); h_prev (n, H); dh, dy as for the LSTM;   \
 * dxp, dhp (n, 3H) out; dh_direct (n, H) out: the gradient w.r.t. h_prev through        \
 * z * h_prev (the part through W_hh is added by the caller). dh_direct may be dh:       \
 * each element is read before it is written. */                                          \
void gru_bwd_##SFX(const T *restrict act, const T *restrict hp, const T *restrict h_prev, \
                   const T *dh, const T *restrict dy, T *restrict dxp,                    \
                   T *restrict dhp, T *dh_direct, long n, long H) {                       \
    if (dy) { GRU_BWD_LOOP(T, dh[j] + dy[j]) }                                             \
    else { GRU_BWD_LOOP(T, dh[j]) }                                                        \
}                                                                                          \
                                                                                           \
/* Elman backward: dpre = (dh + dy) * phi'(pre), from h = phi(pre); relu != 0 for ReLU. */ \
void elman_bwd_##SFX(const T *restrict h, const T *restrict dh, const T *restrict dy,     \
                     T *restrict dpre, long m, int relu) {                                 \
    if (dy && relu) { for (long j = 0; j < m; j++) dpre[j] = h[j] > (T)0 ? dh[j] + dy[j] : (T)0; } \
    else if (dy) { for (long j = 0; j < m; j++) dpre[j] = (dh[j] + dy[j]) * ((T)1 - h[j] * h[j]); } \
    else if (relu) { for (long j = 0; j < m; j++) dpre[j] = h[j] > (T)0 ? dh[j] : (T)0; }  \
    else { for (long j = 0; j < m; j++) dpre[j] = dh[j] * ((T)1 - h[j] * h[j]); }         \
}

DEFINE_KERNELS(float, f32, expf, tanhf, 88.0f)
DEFINE_KERNELS(double, f64, exp, tanh, 708.0)

/* ---- The parallel-scan cells (rnnkit/nn/scan_math.py has their equations; the torch-op
 * version of the same numbers is rnnkit/nn/scan.py's blocked_scan):
 *     h_t = a_t h_{t-1} + b_t,  (a_t, b_t) = coefficients(gate pre-activations of step t).
 * One forward call runs the whole sequence, step after step, each step over B*H contiguous
 * numbers (which vectorises): it reads the pre-activations once and writes the states once.
 * One backward call runs from the last step: g~_t = g_t + a_{t+1} g~_{t+1}, and the
 * derivatives of a_t, b_t (recomputed from the pre-activations) with respect to them.
 * Every kernel of this family has the same arguments (NULL where a cell has no such input):
 *   pre (T, B, G*H) gate pre-activations; u (T, B, H) RG-LRU's input; sp (H) RG-LRU's
 *   softplus(-Lambda); h0 (B, H); valid (T, B) bytes or NULL (0: a padded step, a = 1, b = 0);
 *   forward: hs (T, B, H) out; y (T, B, H) out, QRNN's output o_t * c_t (0 at padded steps);
 *   backward: hs in; g (T, B, H) dL/dh_t (NULL: zeros); gy (T, B, H) dL/dy_t (QRNN); dpre (T, B, G*H) out;
 *   du (T, B, H) out;
 *   dsp (H) doubles out (summed over steps and rows); dh0 (B, H) zeros in, dL/dh0 out. */
#define SCAN_FWD_LOOP(G, ...)                                                               \
    for (long t = 0; t < Tn; t++) {                                                        \
        for (long bb = 0; bb < B; bb++) {                                                  \
            long r = t * B + bb;                                                           \
            const T *hp = t ? hs + (r - B) * H : h0 + bb * H;                              \
            T *h = hs + r * H, *yr = y ? y + r * H : 0;                                    \
            if (valid && !valid[r]) {                                                      \
                for (long k = 0; k < H; k++) h[k] = hp[k];                                 \
                if (yr) for (long k = 0; k < H; k++) yr[k] = (T)0;                         \
                continue;                                                                  \
            }                                                                              \
            const T *p = pre + r * (G) * H;                                                \
            const T *ur = u ? u + r * H : 0;                                               \
            (void)ur; (void)yr;                                                            \
            for (long k = 0; k < H; k++) { T a, b; __VA_ARGS__; h[k] = b + a * hp[k]; }       \
        }                                                                                  \
    }

#define SCAN_BWD_LOOP(G, ...)                                                               \
    for (long t = Tn - 1; t >= 0; t--) {                                                   \
        for (long bb = 0; bb < B; bb++) {                                                  \
            long r = t * B + bb;                                                           \
            const T *hp = t ? hs + (r - B) * H : h0 + bb * H;                              \
            const T *gr = g ? g + r * H : 0, *gyr = gy ? gy + r * H : 0;                   \
            T *cr = dh0 + bb * H, *d = dpre + r * (G) * H;                                 \
            T *dur = du ? du + r * H : 0;                                                  \
            if (valid && !valid[r]) {                                                      \
                if (gr) for (long k = 0; k < H; k++) cr[k] += gr[k];                       \
                for (long k = 0; k < (G) * H; k++) d[k] = (T)0;                            \
                if (dur) for (long k = 0; k < H; k++) dur[k] = (T)0;                       \
                continue;                                                                  \
            }                                                                              \
            const T *p = pre + r * (G) * H;                                                \
            const T *ur = u ? u + r * H : 0;                                               \
            (void)ur; (void)dur; (void)gyr;                                                \
            for (long k = 0; k < H; k++) {                                                 \
                T gt = (gr ? gr[k] : (T)0) + cr[k], a;                                     \
                __VA_ARGS__;                                                               \
                cr[k] = a * gt;                                                            \
            }                                                                              \
        }                                                                                  \
    }

#define SCAN_ARGS_FWD                                                                      \
    const T *restrict pre, const T *restrict u, const T *restrict sp, const T *restrict h0, \
    const unsigned char *restrict valid, T *hs, T *restrict y, long Tn, long B, long H
#define SCAN_ARGS_BWD                                                                      \
    const T *restrict pre, const T *restrict u, const T *restrict sp, const T *restrict h0, \
    const unsigned char *restrict valid, const T *hs, const T *restrict g,                \
    const T *restrict gy,                                                                  \
    T *restrict dpre, T *restrict du, double *restrict dsp, T *restrict dh0,              \
    long Tn, long B, long H
#define SCAN_NAMES_FWD pre, u, sp, h0, valid, hs, y, Tn, B, H
#define SCAN_NAMES_BWD pre, u, sp, h0, valid, hs, g, gy, dpre, du, dsp, dh0, Tn, B, H

/* The helpers of the coefficients (one dtype):
 * tanh: from one expm1 (libmvec's tanh measured slower);
 * sig2: sigmoid(x) and sigmoid(-x) = 1 - sigmoid(x) from one exp, each to its own relative
 *   precision (sigmoid(-x) is not computed as 1 - sigmoid(x));
 * gact / dgact: minGRU's g(x) = x + 1/2 (x >= 0), sigmoid(x) (x < 0), and its derivative
 *   (0 at x = 0, as autograd of relu(x) + sigmoid(-relu(-x)) gives);
 * minlstm_gates: minLSTM's normalised gates f' = f / (f + i), i' = i / (f + i) and
 *   sigmoid(-kf), sigmoid(-ki) (the derivatives of its softplus terms), as
 *   f' = (1 + e^-ki) / ((1 + e^-ki) + (1 + e^-kf)): the log-space form
 *   f' = sigmoid(softplus(-ki) - softplus(-kf)) without its logarithms, every exponential
 *   scaled by e^-m, m = max(0, -ki, -kf), so that none overflows. */
#define DEFINE_SCAN_HELPERS(T, SFX, EXP, EXPM1, CLAMP)                                            \
static inline void sig2_##SFX(T x, T *s, T *sneg) {                                        \
    if (x < -CLAMP) x = -CLAMP;                                                            \
    if (x > CLAMP) x = CLAMP;                                                              \
    T e = EXP(-x), q = (T)1 / ((T)1 + e);                                                  \
    *s = q; *sneg = e * q;                                                                 \
}                                                                                          \
static inline T tanh_##SFX(T x) {  /* from one expm1: -e / (2 + e), e = expm1(-2|x|) */      \
    T ax = x < (T)0 ? -x : x;                                                              \
    if (ax > CLAMP / 2) ax = CLAMP / 2;                                                    \
    T e = EXPM1((T)(-2) * ax), t = -e / ((T)2 + e);                                        \
    return x < (T)0 ? -t : t;                                                              \
}                                                                                          \
static inline T gact_##SFX(T x) { return x >= (T)0 ? x + (T)0.5 : sig_##SFX(x); }          \
static inline T dgact_##SFX(T x) {                                                         \
    T s = sig_##SFX(x);                                                                    \
    return x > (T)0 ? (T)1 : (x < (T)0 ? s * ((T)1 - s) : (T)0);                           \
}                                                                                          \
static inline void minlstm_gates_##SFX(T kf, T ki, T *fn, T *in, T *sf, T *si) {          \
    T m = -kf > -ki ? -kf : -ki;                                                           \
    if (m < (T)0) m = (T)0;                                                                \
    T e0 = EXP(-m), ef = EXP(-kf - m), ei = EXP(-ki - m);                                  \
    T A = e0 + ei, Bf = e0 + ef, q = (T)1 / (A + Bf);   /* A = e^-m / i, Bf = e^-m / f */   \
    *fn = A * q; *in = Bf * q; *sf = ef / Bf; *si = ei / A;                                \
}

/* The kernels of one dtype (its helpers end in HS), with ATTR (a target attribute, or
 * nothing) and names ending in SFX: the loops above name the element type T. */
#define DEFINE_SCAN_KERNELS(T, HS, SFX, ATTR, EXP, EXPM1, SQRT, TANH)                          \
/* minGRU: pre = [k | h~]; a = sigmoid(-k), b = sigmoid(k) g(h~) */                       \
ATTR static void mingru_scan_fwd_##SFX(SCAN_ARGS_FWD) {                                    \
    SCAN_FWD_LOOP(2, T z; sig2_##HS(p[k], &z, &a); b = z * gact_##HS(p[H + k]))          \
}                                                                                          \
ATTR static void mingru_scan_bwd_##SFX(SCAN_ARGS_BWD) {                                    \
    SCAN_BWD_LOOP(2,                                                                       \
        T z; sig2_##HS(p[k], &z, &a); T gv = gact_##HS(p[H + k]);                        \
        d[k] = a * z * gt * (gv - hp[k]);                                                  \
        d[H + k] = gt * z * dgact_##HS(p[H + k]))                                         \
}                                                                                          \
                                                                                           \
/* minLSTM: pre = [kf | ki | h~]; a = f', b = i' g(h~) */                                  \
ATTR static void minlstm_scan_fwd_##SFX(SCAN_ARGS_FWD) {                                   \
    SCAN_FWD_LOOP(3,                                                                       \
        T s, sf, si; minlstm_gates_##HS(p[k], p[H + k], &a, &s, &sf, &si);                \
        b = s * gact_##HS(p[2 * H + k]))                                                  \
}                                                                                          \
ATTR static void minlstm_scan_bwd_##SFX(SCAN_ARGS_BWD) {                                   \
    /* d = log f - log i: da/dd = f' i' = -d(i')/dd; dd/dkf = sigmoid(-kf), dd/dki = -sigmoid(-ki) */ \
    SCAN_BWD_LOOP(3,                                                                       \
        T s, sf, si; minlstm_gates_##HS(p[k], p[H + k], &a, &s, &sf, &si);                \
        T gv = gact_##HS(p[2 * H + k]);                                                   \
        T ddd = a * s * gt * (hp[k] - gv);                                                 \
        d[k] = ddd * sf;                                                                   \
        d[H + k] = -ddd * si;                                                              \
        d[2 * H + k] = gt * s * dgact_##HS(p[2 * H + k]))                                 \
}                                                                                          \
                                                                                           \
/* RG-LRU: pre = [kr | ki], u the input, sp = softplus(-Lambda);                          \
 * log a = -c sigmoid(kr) sp, b = sqrt(-expm1(2 log a)) sigmoid(ki) u (c = 8) */           \
ATTR static void rglru_scan_fwd_##SFX(SCAN_ARGS_FWD) {                                     \
    SCAN_FWD_LOOP(2,                                                                       \
        T la = (T)(-8.0) * sig_##HS(p[k]) * sp[k];                                        \
        a = EXP(la); b = SQRT(-EXPM1((T)2 * la)) * (sig_##HS(p[H + k]) * ur[k]))          \
}                                                                                          \
ATTR static void rglru_scan_bwd_##SFX(SCAN_ARGS_BWD) {                                     \
    for (long k = 0; k < H; k++) dsp[k] = 0.0;                                             \
    SCAN_BWD_LOOP(2,                                                                       \
        T rr = sig_##HS(p[k]); T ii = sig_##HS(p[H + k]);                                \
        T la = (T)(-8.0) * rr * sp[k];                                                     \
        a = EXP(la); T sq = SQRT(-EXPM1((T)2 * la));                                       \
        T dla = gt * a * (hp[k] - a * ii * ur[k] / sq);                                    \
        d[k] = dla * (T)(-8.0) * sp[k] * rr * ((T)1 - rr);                                 \
        dsp[k] += (double)(dla * (T)(-8.0) * rr);                                          \
        d[H + k] = gt * sq * ur[k] * ii * ((T)1 - ii);                                     \
        dur[k] = gt * sq * ii)                                                             \
}                                                                                          \
                                                                                           \
/* QRNN fo-pooling with its output gate: pre = [kz | kf | ko]; a = sigmoid(kf),            \
 * b = sigmoid(-kf) tanh(kz); y = sigmoid(ko) c (the state c is h here) */                \
ATTR static void qrnn_scan_fwd_##SFX(SCAN_ARGS_FWD) {                                      \
    SCAN_FWD_LOOP(3,                                                                       \
        T s; sig2_##HS(p[H + k], &a, &s); b = s * tanh_##HS(p[k]);                         \
        yr[k] = sig_##HS(p[2 * H + k]) * (b + a * hp[k]))                                  \
}                                                                                          \
ATTR static void qrnn_scan_bwd_##SFX(SCAN_ARGS_BWD) {                                      \
    /* dL/dc_t = g_t + o_t gy_t + a_{t+1} dL/dc_{t+1}; dL/do_t = gy_t c_t */               \
    SCAN_BWD_LOOP(3,                                                                       \
        T s; sig2_##HS(p[H + k], &a, &s); T tz = tanh_##HS(p[k]);                          \
        T o = sig_##HS(p[2 * H + k]), c = hs[r * H + k];                                   \
        d[2 * H + k] = gyr[k] * c * o * ((T)1 - o);                                        \
        gt += gyr[k] * o;                                                                  \
        d[k] = gt * s * ((T)1 - tz * tz);                                                  \
        d[H + k] = a * s * gt * (hp[k] - tz))                                              \
}

/* On x86-64 each kernel is compiled twice, for the architecture's baseline (SSE2) and for
 * AVX2 + FMA, and the exported name calls the AVX2 build where the CPU has it: the
 * vectorised exp/tanh of these loops run twice as many lanes per call (measured: minGRU's
 * forward 2.8x faster). The classic cells' kernels, a step of B rows at a time, did not
 * gain from it (benchmarks/README.md). */
#if defined(__x86_64__) && defined(__GNUC__)
#define SCAN_AVX2 1
#endif

#define DEFINE_SCAN_EXPORTS(T, SFX)                                                        \
    SCAN_EXPORT_ONE(T, SFX, mingru) SCAN_EXPORT_ONE(T, SFX, minlstm)                       \
    SCAN_EXPORT_ONE(T, SFX, rglru) SCAN_EXPORT_ONE(T, SFX, qrnn)

#ifdef SCAN_AVX2
#define SCAN_EXPORT_ONE(T, SFX, NAME)                                                      \
void NAME##_scan_fwd_##SFX(SCAN_ARGS_FWD) {                                                \
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))                   \
        NAME##_scan_fwd_##SFX##_avx2(SCAN_NAMES_FWD);                                      \
    else NAME##_scan_fwd_##SFX##_base(SCAN_NAMES_FWD);                                     \
}                                                                                          \
void NAME##_scan_bwd_##SFX(SCAN_ARGS_BWD) {                                                \
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))                   \
        NAME##_scan_bwd_##SFX##_avx2(SCAN_NAMES_BWD);                                      \
    else NAME##_scan_bwd_##SFX##_base(SCAN_NAMES_BWD);                                     \
}
#else
#define SCAN_EXPORT_ONE(T, SFX, NAME)                                                      \
void NAME##_scan_fwd_##SFX(SCAN_ARGS_FWD) { NAME##_scan_fwd_##SFX##_base(SCAN_NAMES_FWD); } \
void NAME##_scan_bwd_##SFX(SCAN_ARGS_BWD) { NAME##_scan_bwd_##SFX##_base(SCAN_NAMES_BWD); }
#endif

#define T float
DEFINE_SCAN_HELPERS(float, f32, expf, expm1f, 88.0f)
DEFINE_SCAN_KERNELS(float, f32, f32_base, , expf, expm1f, sqrtf, tanhf)
#ifdef SCAN_AVX2
DEFINE_SCAN_KERNELS(float, f32, f32_avx2, __attribute__((target("avx2,fma"))), expf, expm1f, sqrtf, tanhf)
#endif
DEFINE_SCAN_EXPORTS(float, f32)
#undef T
#define T double
DEFINE_SCAN_HELPERS(double, f64, exp, expm1, 708.0)
DEFINE_SCAN_KERNELS(double, f64, f64_base, , exp, expm1, sqrt, tanh)
#ifdef SCAN_AVX2
DEFINE_SCAN_KERNELS(double, f64, f64_avx2, __attribute__((target("avx2,fma"))), exp, expm1, sqrt, tanh)
#endif
DEFINE_SCAN_EXPORTS(double, f64)
#undef T
