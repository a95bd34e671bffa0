/*
 * chanmix._mixloops: the mixing kernel in C, with the NumPy path's arithmetic and bytes.
 *
 * Every pixel goes through exactly the operations of chanmix.kernel.mix_numpy, in the same
 * order and the same float type (the "compute" type, float32 or float64):
 *
 *     y = x[0] * w[m][0];  y = y + x[n] * w[m][n] for n = 1 .. N-1;  y = y + b[m]
 *
 * then, for integer outputs, rint (ties to even), saturation to the output range and NaN -> 0,
 * then the cast. The build turns off FMA contraction (-ffp-contract=off) and never allows
 * reassociation, so each multiply and add is rounded as NumPy rounds it; tests compare the
 * bytes with the NumPy path for every pair of sample types.
 *
 * The loops:
 * - fused: N and M of 1 to 4 are compile-time constants, samples are interleaved and
 *   contiguous; the compiler vectorizes the whole pixel loop (24 MP 3 -> 3 uint8: ~11 ms on
 *   one core of a 2-core x86_64);
 * - 3 -> 3 uint8 with AVX-512 VBMI intrinsics, chosen at run time on CPUs that have it
 *   (~6.5 ms for the same 24 MP);
 * - planar: any N, M, sample strides: chunks of CHUNK pixels are gathered into float rows,
 *   mixed row by row (vectorized) and scattered to the output.
 *
 * On x86_64 with GCC the loops are compiled three times (baseline, AVX2, AVX-512) and the
 * best one for the CPU is chosen when the module loads (target_clones). The float
 * operations are IEEE-754 in every version, so the bytes do not depend on the CPU.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fenv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11 && defined(__linux__)
#define CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define CLONES
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef int16_t i16;
typedef uint32_t u32;
typedef int32_t i32;
typedef float f32;
typedef double f64;

/* Pixels per chunk of the planar loop. */
#define CHUNK 256
/* The most inputs or outputs a compiled mix has (the kernel takes N * M <= 64). */
#define MAX_CHANNELS 64

struct job {
    const void *src;
    void *dst;
    Py_ssize_t npix;
    Py_ssize_t sp, sc; /* source strides, in samples: between pixels, between channels */
    Py_ssize_t dp, dc; /* destination strides, in samples */
    int n, m;
    const void *w; /* (M, N) of the compute type, row-major */
    const void *b; /* (M,) */
    void *scratch; /* SCRATCH_BYTES(N, M), for the planar loop */
};

/* -- finishing a mixed value into an output sample ------------------------------------------
 * fin_f: float outputs, a cast (float64 beyond float32's range becomes +-inf).
 * fin_b: integer outputs of a "bounded" mix (integer inputs, |y| < 2^30 for float32 and 2^62
 *        for float64 whatever the pixel): rint to an integer, then saturation as integers.
 * fin_u: integer outputs otherwise: NaN -> 0 and saturation as floats, then rint. Saturating
 *        before or after rounding gives the same integer, since the bounds are integers.
 */
#define DEF_FINISH(TOUT, TC, LO, HI, INT, RINT)                                                \
    static inline TOUT fin_b_##TC##_##TOUT(TC y)                                               \
    {                                                                                          \
        INT i = (INT)RINT(y);                                                                  \
        i = i < (INT)(LO) ? (INT)(LO) : i;                                                     \
        i = i > (INT)(HI) ? (INT)(HI) : i;                                                     \
        return (TOUT)i;                                                                        \
    }                                                                                          \
    static inline TOUT fin_u_##TC##_##TOUT(TC y)                                               \
    {                                                                                          \
        y = y == y ? y : (TC)0;                                                                \
        y = y > (TC)(LO) ? y : (TC)(LO);                                                       \
        y = y < (TC)(HI) ? y : (TC)(HI);                                                       \
        return (TOUT)(INT)RINT(y);                                                             \
    }

DEF_FINISH(u8, f32, 0, UINT8_MAX, int32_t, __builtin_irintf)
DEF_FINISH(u16, f32, 0, UINT16_MAX, int32_t, __builtin_irintf)
DEF_FINISH(i16, f32, INT16_MIN, INT16_MAX, int32_t, __builtin_irintf)
DEF_FINISH(u8, f64, 0, UINT8_MAX, int64_t, __builtin_llrint)
DEF_FINISH(u16, f64, 0, UINT16_MAX, int64_t, __builtin_llrint)
DEF_FINISH(i16, f64, INT16_MIN, INT16_MAX, int64_t, __builtin_llrint)
DEF_FINISH(u32, f64, 0, UINT32_MAX, int64_t, __builtin_llrint)
DEF_FINISH(i32, f64, INT32_MIN, INT32_MAX, int64_t, __builtin_llrint)

#define DEF_CAST(TOUT, TC) \
    static inline TOUT fin_f_##TC##_##TOUT(TC y) { return (TOUT)y; }
DEF_CAST(f32, f32)
DEF_CAST(f64, f32)
DEF_CAST(f32, f64)
DEF_CAST(f64, f64)

/* -- the fused loop: N, M constants, contiguous interleaved samples ------------------------- */
#define FUSED(TIN, TOUT, TC, FIN, N, M)                                                        \
    CLONES static void fused_##FIN##_##TIN##_##TOUT##_##N##M(const struct job *j)             \
    {                                                                                          \
        const TIN *restrict s = (const TIN *)j->src;                                           \
        TOUT *restrict d = (TOUT *)j->dst;                                                     \
        TC w[M][N], b[M];                                                                      \
        for (int m = 0; m < M; m++) {                                                          \
            b[m] = ((const TC *)j->b)[m];                                                      \
            for (int n = 0; n < N; n++)                                                        \
                w[m][n] = ((const TC *)j->w)[m * N + n];                                       \
        }                                                                                      \
        const Py_ssize_t npix = j->npix;                                                       \
        for (Py_ssize_t p = 0; p < npix; p++) {                                                \
            TC x[N];                                                                           \
            for (int n = 0; n < N; n++)                                                        \
                x[n] = (TC)s[N * p + n];                                                       \
            for (int m = 0; m < M; m++) {                                                      \
                TC y = x[0] * w[m][0];                                                         \
                for (int n = 1; n < N; n++)                                                    \
                    y = y + x[n] * w[m][n];                                                    \
                y = y + b[m];                                                                  \
                d[M * p + m] = fin_##FIN##_##TC##_##TOUT(y);                                   \
            }                                                                                  \
        }                                                                                      \
    }

typedef void (*loop_fn)(const struct job *);

#define FUSED_ROW(TIN, TOUT, TC, FIN, N)                                                       \
    FUSED(TIN, TOUT, TC, FIN, N, 1)                                                            \
    FUSED(TIN, TOUT, TC, FIN, N, 2)                                                            \
    FUSED(TIN, TOUT, TC, FIN, N, 3)                                                            \
    FUSED(TIN, TOUT, TC, FIN, N, 4)
#define FUSED_ALL(TIN, TOUT, TC, FIN)                                                          \
    FUSED_ROW(TIN, TOUT, TC, FIN, 1)                                                           \
    FUSED_ROW(TIN, TOUT, TC, FIN, 2)                                                           \
    FUSED_ROW(TIN, TOUT, TC, FIN, 3)                                                           \
    FUSED_ROW(TIN, TOUT, TC, FIN, 4)                                                           \
    static const loop_fn fused_##FIN##_##TIN##_##TOUT[16] = {                                  \
        fused_##FIN##_##TIN##_##TOUT##_11, fused_##FIN##_##TIN##_##TOUT##_12,                  \
        fused_##FIN##_##TIN##_##TOUT##_13, fused_##FIN##_##TIN##_##TOUT##_14,                  \
        fused_##FIN##_##TIN##_##TOUT##_21, fused_##FIN##_##TIN##_##TOUT##_22,                  \
        fused_##FIN##_##TIN##_##TOUT##_23, fused_##FIN##_##TIN##_##TOUT##_24,                  \
        fused_##FIN##_##TIN##_##TOUT##_31, fused_##FIN##_##TIN##_##TOUT##_32,                  \
        fused_##FIN##_##TIN##_##TOUT##_33, fused_##FIN##_##TIN##_##TOUT##_34,                  \
        fused_##FIN##_##TIN##_##TOUT##_41, fused_##FIN##_##TIN##_##TOUT##_42,                  \
        fused_##FIN##_##TIN##_##TOUT##_43, fused_##FIN##_##TIN##_##TOUT##_44,                  \
    };

/* The common cases: 8- and 16-bit photographs and scenes, float32 data. */
FUSED_ALL(u8, u8, f32, b)
FUSED_ALL(u8, u16, f32, b)
FUSED_ALL(u16, u8, f32, b)
FUSED_ALL(u16, u16, f32, b)
FUSED_ALL(u8, f32, f32, f)
FUSED_ALL(u16, f32, f32, f)
FUSED_ALL(f32, u8, f32, u)
FUSED_ALL(f32, u16, f32, u)
FUSED_ALL(f32, f32, f32, f)

/* -- the planar loop: any N and M, any strides ---------------------------------------------- */

/* Moving samples between interleaved pixels and rows of CHUNK samples depends only on the
 * sample size: N samples of 1, 2, 4 or 8 bytes per pixel, N of 1 to 8, the pixels N apart
 * (interleaved) or N + 1 apart (beside an alpha channel), with these numbers as constants so
 * that the moves vectorize; other layouts take the strided loops of split_T and join_T. */
#define LAYOUT(T, N, S)                                                                        \
    static inline __attribute__((always_inline)) void split_##T##_##N##_##S##_k(               \
        const T *restrict s, T *restrict rows, int k)                                          \
    {                                                                                          \
        for (int p = 0; p < k; p++)                                                            \
            for (int n = 0; n < N; n++)                                                        \
                rows[n * CHUNK + p] = s[S * p + n];                                            \
    }                                                                                          \
    CLONES static void split_##T##_##N##_##S(const T *restrict s, T *restrict rows, int k)    \
    {                                                                                          \
        if (k == CHUNK)                                                                        \
            split_##T##_##N##_##S##_k(s, rows, CHUNK);                                         \
        else                                                                                   \
            split_##T##_##N##_##S##_k(s, rows, k);                                             \
    }                                                                                          \
    static inline __attribute__((always_inline)) void join_##T##_##N##_##S##_k(                \
        const T *restrict rows, T *restrict d, int k)                                          \
    {                                                                                          \
        for (int p = 0; p < k; p++)                                                            \
            for (int n = 0; n < N; n++)                                                        \
                d[S * p + n] = rows[n * CHUNK + p];                                            \
    }                                                                                          \
    CLONES static void join_##T##_##N##_##S(const T *restrict rows, T *restrict d, int k)     \
    {                                                                                          \
        if (k == CHUNK)                                                                        \
            join_##T##_##N##_##S##_k(rows, d, CHUNK);                                          \
        else                                                                                   \
            join_##T##_##N##_##S##_k(rows, d, k);                                              \
    }
#define LAYOUT_PAIR(T, N, S1) LAYOUT(T, N, N) LAYOUT(T, N, S1)
#define LAYOUT_FNS(KIND, T, N, S1) {KIND##_##T##_##N##_##N, KIND##_##T##_##N##_##S1}
#define LAYOUT_TABLE(KIND, T)                                                                  \
    {LAYOUT_FNS(KIND, T, 1, 2), LAYOUT_FNS(KIND, T, 2, 3), LAYOUT_FNS(KIND, T, 3, 4),          \
     LAYOUT_FNS(KIND, T, 4, 5), LAYOUT_FNS(KIND, T, 5, 6), LAYOUT_FNS(KIND, T, 6, 7),          \
     LAYOUT_FNS(KIND, T, 7, 8), LAYOUT_FNS(KIND, T, 8, 9)}
#define LAYOUTS(T)                                                                             \
    LAYOUT_PAIR(T, 1, 2) LAYOUT_PAIR(T, 2, 3) LAYOUT_PAIR(T, 3, 4) LAYOUT_PAIR(T, 4, 5)        \
    LAYOUT_PAIR(T, 5, 6) LAYOUT_PAIR(T, 6, 7) LAYOUT_PAIR(T, 7, 8) LAYOUT_PAIR(T, 8, 9)        \
    static void split_##T(const void *s, Py_ssize_t sp, Py_ssize_t sc, int n_ch, void *rows, int k) \
    {                                                                                          \
        typedef void (*split_fn)(const T *restrict, T *restrict, int);                         \
        static const split_fn split[8][2] = LAYOUT_TABLE(split, T);                            \
        if (sc == 1 && (sp == n_ch || sp == n_ch + 1) && n_ch <= 8) {                          \
            split[n_ch - 1][sp - n_ch]((const T *)s, (T *)rows, k);                            \
            return;                                                                            \
        }                                                                                      \
        for (int n = 0; n < n_ch; n++)                                                         \
            for (int p = 0; p < k; p++)                                                        \
                ((T *)rows)[n * CHUNK + p] = ((const T *)s)[p * sp + n * sc];                  \
    }                                                                                          \
    static void join_##T(const void *rows, void *d, Py_ssize_t dp, Py_ssize_t dc, int n_ch, int k) \
    {                                                                                          \
        typedef void (*join_fn)(const T *restrict, T *restrict, int);                          \
        static const join_fn join[8][2] = LAYOUT_TABLE(join, T);                               \
        if (dc == 1 && (dp == n_ch || dp == n_ch + 1) && n_ch <= 8) {                          \
            join[n_ch - 1][dp - n_ch]((const T *)rows, (T *)d, k);                             \
            return;                                                                            \
        }                                                                                      \
        for (int n = 0; n < n_ch; n++)                                                         \
            for (int p = 0; p < k; p++)                                                        \
                ((T *)d)[p * dp + n * dc] = ((const T *)rows)[n * CHUNK + p];                  \
    }
LAYOUTS(uint8_t)
LAYOUTS(uint16_t)
LAYOUTS(uint32_t)
LAYOUTS(uint64_t)

typedef void (*split_fn)(const void *, Py_ssize_t, Py_ssize_t, int, void *, int);
typedef void (*join_fn)(const void *, void *, Py_ssize_t, Py_ssize_t, int, int);

static split_fn split_for(Py_ssize_t itemsize)
{
    return itemsize == 1 ? split_uint8_t : itemsize == 2 ? split_uint16_t
         : itemsize == 4 ? split_uint32_t : split_uint64_t;
}

static join_fn join_for(Py_ssize_t itemsize)
{
    return itemsize == 1 ? join_uint8_t : itemsize == 2 ? join_uint16_t
         : itemsize == 4 ? join_uint32_t : join_uint64_t;
}

#define MIX_ROW(TC)                                                                            \
    CLONES static void mix_row_##TC(TC *restrict y, const TC *restrict x, const TC *restrict w, \
                                    TC b, int n_in, int k)                                     \
    {                                                                                          \
        for (int p = 0; p < k; p++)                                                            \
            y[p] = x[p] * w[0];                                                                \
        for (int n = 1; n < n_in; n++) {                                                       \
            const TC *restrict xn = x + (Py_ssize_t)n * CHUNK;                                 \
            const TC wn = w[n];                                                                \
            for (int p = 0; p < k; p++)                                                        \
                y[p] = y[p] + xn[p] * wn;                                                      \
        }                                                                                      \
        for (int p = 0; p < k; p++)                                                            \
            y[p] = y[p] + b;                                                                   \
    }
MIX_ROW(f32)
MIX_ROW(f64)

/* Scratch of the planar loop: rows of input samples, of compute values, one row of mixed
 * values, rows of output samples; CHUNK samples each, 8 bytes apart at most. */
#define SCRATCH_BYTES(N, M) ((size_t)(2 * (N) + 1 + (M)) * CHUNK * 8)

/* Rows of CHUNK samples: input samples to compute values, mixed values to output samples. */
#define CONVERT(TIN, TC)                                                                       \
    CLONES static void convert_##TIN##_##TC(const TIN *restrict s, TC *restrict x, int k)     \
    {                                                                                          \
        for (int p = 0; p < k; p++)                                                            \
            x[p] = (TC)s[p];                                                                   \
    }
CONVERT(u8, f32) CONVERT(u16, f32) CONVERT(i16, f32) CONVERT(f32, f32)
CONVERT(u8, f64) CONVERT(u16, f64) CONVERT(i16, f64) CONVERT(u32, f64) CONVERT(i32, f64)
CONVERT(f32, f64) CONVERT(f64, f64)

#define FINISH(FIN, TC, TOUT)                                                                  \
    CLONES static void finish_##FIN##_##TC##_##TOUT(const TC *restrict y, TOUT *restrict d, int k) \
    {                                                                                          \
        for (int p = 0; p < k; p++)                                                            \
            d[p] = fin_##FIN##_##TC##_##TOUT(y[p]);                                            \
    }
FINISH(b, f32, u8) FINISH(u, f32, u8) FINISH(b, f32, u16) FINISH(u, f32, u16)
FINISH(b, f32, i16) FINISH(u, f32, i16) FINISH(f, f32, f32)
FINISH(b, f64, u8) FINISH(u, f64, u8) FINISH(b, f64, u16) FINISH(u, f64, u16)
FINISH(b, f64, i16) FINISH(u, f64, i16) FINISH(b, f64, u32) FINISH(u, f64, u32)
FINISH(b, f64, i32) FINISH(u, f64, i32) FINISH(f, f64, f32) FINISH(f, f64, f64)

#define PLANAR(TIN, TOUT, TC, FIN)                                                             \
    static void planar_##FIN##_##TIN##_##TOUT(const struct job *j)                             \
    {                                                                                          \
        const int N = j->n, M = j->m;                                                          \
        const TC *w = (const TC *)j->w, *b = (const TC *)j->b;                                 \
        TIN *in = (TIN *)j->scratch;                                                           \
        TC *x = (TC *)((char *)j->scratch + (size_t)N * CHUNK * 8);                           \
        TC *y = (TC *)((char *)j->scratch + (size_t)2 * N * CHUNK * 8);                       \
        TOUT *out = (TOUT *)((char *)j->scratch + (size_t)(2 * N + 1) * CHUNK * 8);           \
        const split_fn split = split_for(sizeof(TIN));                                         \
        const join_fn join = join_for(sizeof(TOUT));                                           \
        for (Py_ssize_t p0 = 0; p0 < j->npix; p0 += CHUNK) {                                   \
            const int k = (int)(j->npix - p0 < CHUNK ? j->npix - p0 : CHUNK);                  \
            split((const TIN *)j->src + p0 * j->sp, j->sp, j->sc, N, in, k);                   \
            for (int n = 0; n < N; n++)                                                        \
                convert_##TIN##_##TC(in + n * CHUNK, x + n * CHUNK, k);                        \
            for (int m = 0; m < M; m++) {                                                      \
                mix_row_##TC(y, x, w + (Py_ssize_t)m * N, b[m], N, k);                         \
                finish_##FIN##_##TC##_##TOUT(y, out + m * CHUNK, k);                           \
            }                                                                                  \
            join(out, (TOUT *)j->dst + p0 * j->dp, j->dp, j->dc, M, k);                        \
        }                                                                                      \
    }

/* Sample types, in the order of the dispatch tables. */
enum { T_U8, T_U16, T_I16, T_U32, T_I32, T_F32, T_F64, N_TYPES };

/* Integer outputs: the bounded and the unbounded finish; float outputs: the cast. */
#define PLANAR_TO_INTS(TIN, TC)                                                                \
    PLANAR(TIN, u8, TC, b) PLANAR(TIN, u8, TC, u)                                              \
    PLANAR(TIN, u16, TC, b) PLANAR(TIN, u16, TC, u)                                            \
    PLANAR(TIN, i16, TC, b) PLANAR(TIN, i16, TC, u)
#define PLANAR_TO_WIDE(TIN)                                                                    \
    PLANAR(TIN, u32, f64, b) PLANAR(TIN, u32, f64, u)                                          \
    PLANAR(TIN, i32, f64, b) PLANAR(TIN, i32, f64, u)                                          \
    PLANAR(TIN, f64, f64, f)

/* The compute type of each (input, output) pair is chanmix.dtypes.compute_dtype's: float64
 * when either side is a 32-bit integer or float64, else float32. */
PLANAR_TO_INTS(u8, f32) PLANAR(u8, f32, f32, f) PLANAR_TO_WIDE(u8)
PLANAR_TO_INTS(u16, f32) PLANAR(u16, f32, f32, f) PLANAR_TO_WIDE(u16)
PLANAR_TO_INTS(i16, f32) PLANAR(i16, f32, f32, f) PLANAR_TO_WIDE(i16)
PLANAR_TO_INTS(u32, f64) PLANAR(u32, f32, f64, f) PLANAR_TO_WIDE(u32)
PLANAR_TO_INTS(i32, f64) PLANAR(i32, f32, f64, f) PLANAR_TO_WIDE(i32)
PLANAR(f32, u8, f32, u) PLANAR(f32, u16, f32, u) PLANAR(f32, i16, f32, u)
PLANAR(f32, f32, f32, f) PLANAR(f32, u32, f64, u) PLANAR(f32, i32, f64, u) PLANAR(f32, f64, f64, f)
PLANAR(f64, u8, f64, u) PLANAR(f64, u16, f64, u) PLANAR(f64, i16, f64, u)
PLANAR(f64, f32, f64, f) PLANAR(f64, u32, f64, u) PLANAR(f64, i32, f64, u) PLANAR(f64, f64, f64, f)

/* [input][output]: {bounded finish, unbounded finish} (one cast for float outputs). */
#define ROW_INT(TIN)                                                                           \
    {{planar_b_##TIN##_u8, planar_u_##TIN##_u8}, {planar_b_##TIN##_u16, planar_u_##TIN##_u16}, \
     {planar_b_##TIN##_i16, planar_u_##TIN##_i16}, {planar_b_##TIN##_u32, planar_u_##TIN##_u32}, \
     {planar_b_##TIN##_i32, planar_u_##TIN##_i32}, {planar_f_##TIN##_f32, planar_f_##TIN##_f32}, \
     {planar_f_##TIN##_f64, planar_f_##TIN##_f64}}
#define ROW_FLOAT(TIN)                                                                         \
    {{planar_u_##TIN##_u8, planar_u_##TIN##_u8}, {planar_u_##TIN##_u16, planar_u_##TIN##_u16}, \
     {planar_u_##TIN##_i16, planar_u_##TIN##_i16}, {planar_u_##TIN##_u32, planar_u_##TIN##_u32}, \
     {planar_u_##TIN##_i32, planar_u_##TIN##_i32}, {planar_f_##TIN##_f32, planar_f_##TIN##_f32}, \
     {planar_f_##TIN##_f64, planar_f_##TIN##_f64}}
static const loop_fn planar_loops[N_TYPES][N_TYPES][2] = {
    ROW_INT(u8), ROW_INT(u16), ROW_INT(i16), ROW_INT(u32), ROW_INT(i32), ROW_FLOAT(f32), ROW_FLOAT(f64),
};

/* -- 3 -> 3 uint8 with AVX-512 VBMI --------------------------------------------------------
 * The commonest mix of all (an RGB photograph), written with intrinsics for CPUs with
 * AVX-512 VBMI: 64 pixels at a time, channels gathered from and scattered to the
 * interleaved bytes by byte permutes, the same float32 multiplies and adds in the same
 * order, then cvtps2dq (rint, ties to even, as __builtin_irintf), max with 0 and an
 * unsigned-saturating narrowing (min with 255). The pixels left over take the fused loop.
 * 24 MP: about 6.3 ms on one core here, against 10.5 ms for the compiler's loop. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_VBMI_33 1
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi")))

/* Channel c of 64 pixels held in the 192 bytes A|B|C (byte 3p + c of pixel p). */
T512 static inline __m512i vbmi_channel(__m512i a, __m512i b, __m512i c, __m512i from_ab,
                                       __m512i from_c, __mmask64 in_c)
{
    return _mm512_mask_permutexvar_epi8(_mm512_permutex2var_epi8(a, from_ab, b), in_c, from_c, c);
}

/* Samples 16k .. 16k + 15 of a 64-byte channel, as float32. */
T512 static inline __m512 vbmi_floats(__m512i v, const int k)
{
    switch (k) {  /* the lane index of an extract must be a constant */
    case 0: return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 0)));
    case 1: return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 1)));
    case 2: return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 2)));
    default: return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(v, 3)));
    }
}

/* y = ((x0 * w0 + x1 * w1) + x2 * w2) + b, rounded and saturated to 16 bytes. */
T512 static inline __m128i vbmi_output(__m512 x0, __m512 x1, __m512 x2, __m512 w0, __m512 w1,
                                       __m512 w2, __m512 b)
{
    __m512 y = _mm512_mul_ps(x0, w0);
    y = _mm512_add_ps(y, _mm512_mul_ps(x1, w1));
    y = _mm512_add_ps(y, _mm512_mul_ps(x2, w2));
    y = _mm512_add_ps(y, b);
    return _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_cvtps_epi32(y), _mm512_setzero_si512()));
}

T512 static void fused_b_u8_u8_33_vbmi(const struct job *j)
{
    const float *wt = (const float *)j->w, *bs = (const float *)j->b;
    __m512 w[3][3], b[3];
    for (int m = 0; m < 3; m++) {
        b[m] = _mm512_set1_ps(bs[m]);
        for (int n = 0; n < 3; n++)
            w[m][n] = _mm512_set1_ps(wt[3 * m + n]);
    }
    /* Permutes: in, channel c of pixel p is byte 3p + c of A|B (index < 128) or of C;
     * out, byte i of output vector k is channel (64k + i) % 3 of pixel (64k + i) / 3, taken
     * from the channels' bytes R|G (index p or 64 + p) or B. */
    uint8_t idx[4][3][64];
    uint64_t in_c[3] = {0, 0, 0}, from_b[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++) {
        for (int p = 0; p < 64; p++) {
            const int byte = 3 * p + c, k = 64 * c + p, channel = k % 3;
            idx[0][c][p] = (uint8_t)(byte & 127);
            idx[1][c][p] = (uint8_t)((byte - 128) & 63);
            in_c[c] |= (uint64_t)(byte >= 128) << p;
            idx[2][c][p] = (uint8_t)(channel == 0 ? k / 3 : channel == 1 ? 64 + k / 3 : 0);
            idx[3][c][p] = (uint8_t)(k / 3);
            from_b[c] |= (uint64_t)(channel == 2) << p;
        }
    }
    __m512i from_ab[3], from_c[3], from_rg[3], from_bch[3];
    for (int c = 0; c < 3; c++) {
        from_ab[c] = _mm512_loadu_si512(idx[0][c]);
        from_c[c] = _mm512_loadu_si512(idx[1][c]);
        from_rg[c] = _mm512_loadu_si512(idx[2][c]);
        from_bch[c] = _mm512_loadu_si512(idx[3][c]);
    }
    const u8 *src = (const u8 *)j->src;
    u8 *dst = (u8 *)j->dst;
    Py_ssize_t p = 0;
    for (; p + 64 <= j->npix; p += 64) {
        const u8 *s = src + 3 * p;
        const __m512i a = _mm512_loadu_si512(s), bb = _mm512_loadu_si512(s + 64), cc = _mm512_loadu_si512(s + 128);
        const __m512i x[3] = {
            vbmi_channel(a, bb, cc, from_ab[0], from_c[0], in_c[0]),
            vbmi_channel(a, bb, cc, from_ab[1], from_c[1], in_c[1]),
            vbmi_channel(a, bb, cc, from_ab[2], from_c[2], in_c[2]),
        };
        __m512i out[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int k = 0; k < 4; k++) {
            const __m512 x0 = vbmi_floats(x[0], k), x1 = vbmi_floats(x[1], k), x2 = vbmi_floats(x[2], k);
            for (int m = 0; m < 3; m++) {
                const __m128i o = vbmi_output(x0, x1, x2, w[m][0], w[m][1], w[m][2], b[m]);
                switch (k) {
                case 0: out[m] = _mm512_inserti32x4(out[m], o, 0); break;
                case 1: out[m] = _mm512_inserti32x4(out[m], o, 1); break;
                case 2: out[m] = _mm512_inserti32x4(out[m], o, 2); break;
                default: out[m] = _mm512_inserti32x4(out[m], o, 3); break;
                }
            }
        }
        u8 *d = dst + 3 * p;
        for (int c = 0; c < 3; c++) {
            const __m512i rg = _mm512_permutex2var_epi8(out[0], from_rg[c], out[1]);
            _mm512_storeu_si512(d + 64 * c, _mm512_mask_permutexvar_epi8(rg, from_b[c], from_bch[c], out[2]));
        }
    }
    struct job rest = *j;
    rest.src = src + 3 * p;
    rest.dst = dst + 3 * p;
    rest.npix = j->npix - p;
    fused_b_u8_u8_33(&rest);
}

/* Whether this CPU runs fused_b_u8_u8_33_vbmi; set when the module loads. */
static int vbmi = 0;

static int have_vbmi(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vbmi");
}
#endif

/* [input][output] of the fused loops, or NULL; each takes one finish only (see below). */
static const loop_fn *fused_loops(int tin, int tout, int bounded)
{
    if (tin == T_F32) {
        switch (tout) {
        case T_U8: return fused_u_f32_u8;
        case T_U16: return fused_u_f32_u16;
        case T_F32: return fused_f_f32_f32;
        default: return NULL;
        }
    }
    if (tin != T_U8 && tin != T_U16)
        return NULL;
    if (tout == T_F32)
        return tin == T_U8 ? fused_f_u8_f32 : fused_f_u16_f32;
    if (!bounded)
        return NULL;
    if (tout == T_U8)
        return tin == T_U8 ? fused_b_u8_u8 : fused_b_u16_u8;
    if (tout == T_U16)
        return tin == T_U8 ? fused_b_u8_u16 : fused_b_u16_u16;
    return NULL;
}

/* -- Python binding ------------------------------------------------------------------------ */

/* The sample type of a buffer's struct format, or -1. */
static int sample_type(const Py_buffer *view)
{
    const char *f = view->format ? view->format : "B";
    if (*f == '@' || *f == '=')
        f++;
#if PY_LITTLE_ENDIAN
    if (*f == '<')
        f++;
#else
    if (*f == '>' || *f == '!')
        f++;
#endif
    if (f[0] == '\0' || f[1] != '\0')
        return -1;
    switch (f[0]) {
    case 'B': return view->itemsize == 1 ? T_U8 : -1;
    case 'H': return view->itemsize == 2 ? T_U16 : -1;
    case 'h': return view->itemsize == 2 ? T_I16 : -1;
    case 'I': case 'L': return view->itemsize == 4 ? T_U32 : -1;
    case 'i': case 'l': return view->itemsize == 4 ? T_I32 : -1;
    case 'f': return view->itemsize == 4 ? T_F32 : -1;
    case 'd': return view->itemsize == 8 ? T_F64 : -1;
    default: return -1;
    }
}

static int is_wide(int t) { return t == T_U32 || t == T_I32 || t == T_F64; }

static PyObject *mix(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj, *w_obj, *b_obj;
    int bounded;
    Py_buffer src = {0}, dst = {0}, w = {0}, b = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOp", &src_obj, &dst_obj, &w_obj, &b_obj, &bounded))
        return NULL;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_RECORDS_RO) < 0)
        goto done;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_RECORDS) < 0)
        goto done;
    if (PyObject_GetBuffer(w_obj, &w, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto done;
    if (PyObject_GetBuffer(b_obj, &b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto done;

    int tin = sample_type(&src), tout = sample_type(&dst), tw = sample_type(&w), tb = sample_type(&b);
    if (tin < 0 || tout < 0) {
        PyErr_SetString(PyExc_TypeError, "mix: unsupported sample type");
        goto done;
    }
    int tc = (is_wide(tin) || is_wide(tout)) ? T_F64 : T_F32;
    if (tw != tc || tb != tc) {
        PyErr_SetString(PyExc_TypeError, "mix: weights and bias must be of the compute type");
        goto done;
    }
    if (src.ndim != 2 || dst.ndim != 2 || src.shape[0] != dst.shape[0]) {
        PyErr_SetString(PyExc_ValueError, "mix: expected (P, N) and (P, M) arrays");
        goto done;
    }
    Py_ssize_t n = src.shape[1], m = dst.shape[1];
    if (n < 1 || m < 1 || n > MAX_CHANNELS || m > MAX_CHANNELS || w.len != n * m * w.itemsize ||
        b.len != m * b.itemsize) {
        PyErr_SetString(PyExc_ValueError, "mix: weights must be (M, N) and bias (M,)");
        goto done;
    }
    for (int i = 0; i < 2; i++) {
        if (src.strides[i] % src.itemsize || dst.strides[i] % dst.itemsize) {
            PyErr_SetString(PyExc_ValueError, "mix: strides must be whole samples");
            goto done;
        }
    }
    struct job job = {
        .src = src.buf, .dst = dst.buf, .npix = src.shape[0],
        .sp = src.strides[0] / src.itemsize, .sc = src.strides[1] / src.itemsize,
        .dp = dst.strides[0] / dst.itemsize, .dc = dst.strides[1] / dst.itemsize,
        .n = (int)n, .m = (int)m, .w = w.buf, .b = b.buf, .scratch = NULL,
    };
    int finish_b = bounded && tin < T_F32 && tout < T_F32;
    const loop_fn *fused = (n <= 4 && m <= 4) ? fused_loops(tin, tout, finish_b) : NULL;
    int overflowed;
    int contiguous = job.sp == n && job.sc == 1 && job.dp == m && job.dc == 1;
    if (fused && contiguous) {
        loop_fn loop = fused[(n - 1) * 4 + (m - 1)];
#ifdef HAVE_VBMI_33
        if (vbmi && tin == T_U8 && tout == T_U8 && n == 3 && m == 3 && finish_b)
            loop = fused_b_u8_u8_33_vbmi;  /* (function addresses of target clones can differ) */
#endif
        Py_BEGIN_ALLOW_THREADS
        feclearexcept(FE_OVERFLOW);
        loop(&job);
        overflowed = fetestexcept(FE_OVERFLOW) != 0;
        Py_END_ALLOW_THREADS
    } else {
        job.scratch = PyMem_RawMalloc(SCRATCH_BYTES(n, m));
        if (!job.scratch) {
            PyErr_NoMemory();
            goto done;
        }
        loop_fn loop = planar_loops[tin][tout][finish_b ? 0 : 1];
        Py_BEGIN_ALLOW_THREADS
        feclearexcept(FE_OVERFLOW);
        loop(&job);
        overflowed = fetestexcept(FE_OVERFLOW) != 0;
        Py_END_ALLOW_THREADS
        PyMem_RawFree(job.scratch);
    }
    result = PyBool_FromLong(overflowed);
done:
    if (src.obj) PyBuffer_Release(&src);
    if (dst.obj) PyBuffer_Release(&dst);
    if (w.obj) PyBuffer_Release(&w);
    if (b.obj) PyBuffer_Release(&b);
    return result;
}

/* dst = float32(src) - shift, row by row: the float32 fits' shifted chunk (chanmix.fit.moments).
 * One pass over src (read from memory) into dst (a cache-resident buffer): about 1.6 times
 * NumPy's broadcast subtraction here. Each value is converted exactly (8/16-bit integers) and
 * rounded once by the subtraction, as NumPy does, so the bytes are NumPy's. */
#define SHIFT_LOOP(NAME, T)                                                                    \
    CLONES static void NAME(const void *src_, Py_ssize_t sp, Py_ssize_t sc, f32 *dst,           \
                            Py_ssize_t dp, Py_ssize_t dc, const f32 *shift, Py_ssize_t rows,    \
                            Py_ssize_t cols)                                                    \
    {                                                                                           \
        const T *src = (const T *)src_;                                                         \
        for (Py_ssize_t i = 0; i < rows; i++) {                                                 \
            const T *s = src + i * sp;                                                          \
            f32 *d = dst + i * dp;                                                              \
            if (sc == 1 && dc == 1) {                                                           \
                for (Py_ssize_t j = 0; j < cols; j++)                                           \
                    d[j] = (f32)s[j] - shift[j];                                                \
            } else {                                                                            \
                for (Py_ssize_t j = 0; j < cols; j++)                                           \
                    d[j * dc] = (f32)s[j * sc] - shift[j];                                      \
            }                                                                                   \
        }                                                                                       \
    }
SHIFT_LOOP(shift_u8, u8)
SHIFT_LOOP(shift_u16, u16)
SHIFT_LOOP(shift_i16, i16)
SHIFT_LOOP(shift_f32, f32)

typedef void (*shift_fn)(const void *, Py_ssize_t, Py_ssize_t, f32 *, Py_ssize_t, Py_ssize_t,
                         const f32 *, Py_ssize_t, Py_ssize_t);

static PyObject *shift(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *dst_obj, *shift_obj;
    Py_buffer src = {0}, dst = {0}, sh = {0};
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOO", &src_obj, &dst_obj, &shift_obj))
        return NULL;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_RECORDS_RO) < 0)
        goto done;
    if (PyObject_GetBuffer(dst_obj, &dst, PyBUF_RECORDS) < 0)
        goto done;
    if (PyObject_GetBuffer(shift_obj, &sh, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        goto done;
    int tin = sample_type(&src);
    shift_fn loop = tin == T_U8 ? shift_u8 : tin == T_U16 ? shift_u16 : tin == T_I16 ? shift_i16
                  : tin == T_F32 ? shift_f32 : NULL;
    if (!loop || sample_type(&dst) != T_F32 || sample_type(&sh) != T_F32) {
        PyErr_SetString(PyExc_TypeError, "shift: src must be uint8, uint16, int16 or float32, dst and shift float32");
        goto done;
    }
    if (src.ndim != 2 || dst.ndim != 2 || src.shape[0] != dst.shape[0] || src.shape[1] != dst.shape[1] ||
        sh.len != src.shape[1] * sh.itemsize) {
        PyErr_SetString(PyExc_ValueError, "shift: expected (P, N) src and dst and an (N,) shift");
        goto done;
    }
    for (int i = 0; i < 2; i++) {
        if (src.strides[i] % src.itemsize || dst.strides[i] % dst.itemsize) {
            PyErr_SetString(PyExc_ValueError, "shift: strides must be whole samples");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    loop(src.buf, src.strides[0] / src.itemsize, src.strides[1] / src.itemsize, (f32 *)dst.buf,
         dst.strides[0] / dst.itemsize, dst.strides[1] / dst.itemsize, (const f32 *)sh.buf,
         src.shape[0], src.shape[1]);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    if (src.obj) PyBuffer_Release(&src);
    if (dst.obj) PyBuffer_Release(&dst);
    if (sh.obj) PyBuffer_Release(&sh);
    return result;
}

PyDoc_STRVAR(shift_doc,
"shift(src, dst, shift)\n--\n\n"
"dst[:] = src.astype(float32) - shift, as NumPy computes it, byte for byte: src (P, N) of\n"
"uint8, uint16, int16 or float32 and dst (P, N) of float32, with any strides in whole\n"
"samples; shift (N,) C-contiguous float32. The GIL is released.");

PyDoc_STRVAR(mix_doc,
"mix(src, dst, weights, bias, bounded)\n--\n\n"
"Mix src (P, N) into dst (P, M) as chanmix.kernel.mix_numpy does, byte for byte.\n\n"
"Samples are uint8, uint16, int16, uint32, int32, float32 or float64, with any strides in\n"
"whole samples; weights (M, N) and bias (M,) are C-contiguous arrays of the compute type\n"
"(float64 when either side is a 32-bit integer or float64, else float32), applied to raw\n"
"samples. bounded: the inputs are integers and |mixed value| stays below 2^30 (float32) or\n"
"2^62 (float64) for every possible pixel, so rounding may be done in integers.\n"
"N and M are at most 64. The GIL is released while mixing.\n\n"
"Returns True when an operation overflowed (the processor's overflow flag: an infinite\n"
"value made from finite ones), as NumPy's errstate(over=...) would see it.");

static PyMethodDef methods[] = {
    {"mix", mix, METH_VARARGS, mix_doc},
    {"shift", shift, METH_VARARGS, shift_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_mixloops",
    "The mixing kernel in C: the NumPy path's arithmetic, byte for byte (see chanmix.kernel).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__mixloops(void)
{
#ifdef HAVE_VBMI_33
    vbmi = have_vbmi();
#endif
    return PyModule_Create(&module);
}
