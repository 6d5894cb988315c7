// Hot loops built twice, for baseline x86-64 and for AVX2 + FMA (x86-64-v3),
// the one to run picked at load time: the wheel's flags, and so ours, are
// baseline x86-64, which leaves the vector units of any CPU since 2013 half used.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define CDAE_X86_64_V3_CLONE __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CDAE_X86_64_V3_CLONE
#endif
