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
