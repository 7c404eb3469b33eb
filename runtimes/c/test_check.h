/* test_check.h - the CHECK macro of the C unit tests (test_unit.c, test_ilv.c): count, report, go on. */
#ifndef FSPLIT_TEST_CHECK_H
#define FSPLIT_TEST_CHECK_H

#include <stdio.h>

static int failures = 0, checks = 0;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        checks++;                                                                                            \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                  \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

#endif /* FSPLIT_TEST_CHECK_H */
