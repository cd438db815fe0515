/* rng.h: counter-based random numbers for training: a value is a hash of
 * (key, index), so any draw can be recomputed (dropout masks in backward,
 * a resumed run) without carrying a generator's stream. splitmix64's mixer. */
#ifndef OWL_TRAIN_RNG_H
#define OWL_TRAIN_RNG_H

#include <stdint.h>

static inline uint64_t owl_rng_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t owl_rng_hash(uint64_t key, uint64_t index) {
    return owl_rng_mix(owl_rng_mix(key + 0x9e3779b97f4a7c15ull) ^ (index * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull));
}

/* [0, 1) with 24 bits */
static inline float owl_rng_unit(uint64_t h) { return (float)(h >> 40) * (1.0f / 16777216.0f); }

#endif
