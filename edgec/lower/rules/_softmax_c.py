"""The C of TFLM's int8 SOFTMAX (see ``softmax.py`` for why it is a template).

``FUNC``, ``ROWS`` and ``DEPTH`` are replaced by the rule. The int8 output is
``scale 1/256, zero point -128``, as TFLM requires.
"""

SOFTMAX_INT8_C = r"""void FUNC(const int8_t *restrict x, const int32_t *restrict params, int8_t *restrict y)
{
    /* TFLM's int8 softmax (gemmlowp fixed point); params = {input multiplier, input left
     * shift, diff_min}. All arithmetic in int64 on int32 quantities: nothing overflows.
     * The macros take plain variables only and are undefined at the end. */
#define EDGEC_WRAP32(v) ((((v) + INT64_C(2147483648)) & INT64_C(4294967295)) - INT64_C(2147483648))
#define EDGEC_SRDHM(a, b) ((((a) == (b)) && ((a) == -INT64_C(2147483648))) ? INT64_C(2147483647) \
    : ((((a) * (b)) + ((((a) * (b)) >= 0) ? INT64_C(1073741824) : INT64_C(-1073741823))) \
       / INT64_C(2147483648)))
#define EDGEC_RDBPOT(v, e) (((v) >> (e)) + \
    ((((v) & ((INT64_C(1) << (e)) - 1)) > ((((INT64_C(1) << (e)) - 1) >> 1) + ((v) < 0))) ? 1 : 0))
#define EDGEC_SAT_MUL_POT(v, e) (((v) > ((INT64_C(1) << (31 - (e))) - 1)) ? INT64_C(2147483647) \
    : (((v) < -((INT64_C(1) << (31 - (e))) - 1)) ? -INT64_C(2147483648) : ((v) * (INT64_C(1) << (e)))))
    static const int64_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535,
                                      720401, 242};
    const int64_t multiplier = params[0];
    const int64_t left_shift = params[1];
    const int64_t diff_min = params[2];
    int32_t row;
    for (row = 0; row < ROWS; ++row) {
        const int8_t *restrict xr = x + row * DEPTH;
        int8_t *restrict yr = y + row * DEPTH;
        int64_t max_value = -128;
        int64_t sum = 0;
        int64_t recip = 0;
        int32_t clz = 0;
        int32_t pass;
        int32_t c;
        for (c = 0; c < DEPTH; ++c) {
            max_value = (xr[c] > max_value) ? xr[c] : max_value;
        }
        /* Pass 0 sums exp(diff) in Q12.19; pass 1 scales each exp by 1/sum. */
        for (pass = 0; pass < 2; ++pass) {
            for (c = 0; c < DEPTH; ++c) {
                const int64_t diff = xr[c] - max_value;
                int64_t shifted, a, a_mod, t, t2, t3, t4, poly, result, remainder;
                int32_t k;
                if (diff < diff_min) {
                    if (pass == 1) {
                        yr[c] = -128;
                    }
                    continue;
                }
                shifted = EDGEC_WRAP32(diff * (INT64_C(1) << left_shift));
                a = EDGEC_SRDHM(shifted, multiplier);
                /* exp_on_negative_values with 5 integer bits: a polynomial on the
                 * fractional part modulo 1/4, then one factor per set bit of the rest. */
                a_mod = (a & ((INT64_C(1) << 24) - 1)) - (INT64_C(1) << 24);
                t = a_mod * 32 + (INT64_C(1) << 28); /* rescale to Q0.31 (exact), + 1/8 */
                t2 = EDGEC_SRDHM(t, t);
                t3 = EDGEC_SRDHM(t2, t);
                t4 = EDGEC_SRDHM(t2, t2);
                t4 = EDGEC_RDBPOT(t4, 2);
                poly = EDGEC_WRAP32(t4 + t3);
                poly = EDGEC_SRDHM(poly, INT64_C(715827883));
                poly = EDGEC_WRAP32(poly + t2);
                poly = EDGEC_RDBPOT(poly, 1);
                poly = EDGEC_WRAP32(t + poly);
                result = EDGEC_SRDHM(INT64_C(1895147668), poly);
                result = EDGEC_WRAP32(INT64_C(1895147668) + result);
                remainder = EDGEC_WRAP32(a_mod - a);
                for (k = 0; k < 7; ++k) {
                    if ((remainder >> (24 + k)) & 1) {
                        const int64_t factor = barrel[k];
                        result = EDGEC_SRDHM(result, factor);
                    }
                }
                if (a == 0) {
                    result = INT64_C(2147483647);
                }
                if (pass == 0) {
                    sum += EDGEC_RDBPOT(result, 12);
                } else {
                    int64_t out = EDGEC_SRDHM(recip, result);
                    out = EDGEC_RDBPOT(out, 35 - clz) - 128;
                    yr[c] = (int8_t)((out > 127) ? 127 : ((out < -128) ? -128 : out));
                }
            }
            if (pass == 0) {
                /* GetReciprocal(sum, 12): normalise, then 1/(1+x) by Newton-Raphson. */
                uint32_t u = (uint32_t)EDGEC_WRAP32(sum);
                int64_t half, d, r, one_minus;
                int32_t i;
                clz = 0;
                while (u < UINT32_C(2147483648)) {
                    u <<= 1;
                    ++clz;
                }
                d = (int64_t)u - INT64_C(2147483648);
                half = d + INT64_C(2147483647);
                half = (half + ((half >= 0) ? 1 : -1)) / 2;
                r = EDGEC_SRDHM(half, INT64_C(-1010580540));
                r = EDGEC_WRAP32(INT64_C(1515870810) + r);
                for (i = 0; i < 3; ++i) {
                    one_minus = EDGEC_SRDHM(half, r);
                    one_minus = EDGEC_WRAP32((INT64_C(1) << 29) - one_minus);
                    one_minus = EDGEC_SRDHM(r, one_minus);
                    one_minus = EDGEC_SAT_MUL_POT(one_minus, 2);
                    r = EDGEC_WRAP32(r + one_minus);
                }
                recip = EDGEC_SAT_MUL_POT(r, 1);
            }
        }
    }
#undef EDGEC_WRAP32
#undef EDGEC_SRDHM
#undef EDGEC_RDBPOT
#undef EDGEC_SAT_MUL_POT
}
"""
