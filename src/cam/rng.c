/* rng.c - the random numbers of SmoothGrad and the uniform IG baseline,
 * specified exactly so that a numpy reference can draw the same ones:
 *   SplitMix64 (state += 0x9E3779B97F4A7C15, then the usual two multiply-xorshift
 *   rounds), state starts at the seed;
 *   uniform u = (next >> 11) * 2^-53 in [0, 1);
 *   normal: Box-Muller from two uniforms u1, u2 (in that order):
 *   r = sqrt(-2 ln(1 - u1)), z0 = r cos(2 pi u2), then z1 = r sin(2 pi u2)
 *   on the following call. */
#include "cam/cam.h"

void gcam_rng_seed(gcam_rng *r, uint64_t seed)
{
    r->state = seed;
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t gcam_rng_next(gcam_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double gcam_rng_uniform(gcam_rng *r) { return (double)(gcam_rng_next(r) >> 11) * 0x1.0p-53; }

double gcam_rng_normal(gcam_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = gcam_rng_uniform(r), u2 = gcam_rng_uniform(r);
    double rad = sqrt(-2.0 * log(1.0 - u1)), th = 2.0 * M_PI * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}
