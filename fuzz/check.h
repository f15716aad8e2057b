// FUZZ_CHECK: the fuzz targets' assertion. A broken invariant prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input that caused it (crash-<sha1> in the working
// directory). Active in every build type, unlike assert().
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                        \
  do {                                                                                     \
    if (!(condition)) {                                                                    \
      std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                            \
      std::abort();                                                                        \
    }                                                                                      \
  } while (false)
