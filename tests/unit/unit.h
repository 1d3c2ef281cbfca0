/* Shared includes for the cmocka unit tests: one test_<module>.c per src/<module>.c. */
#ifndef TJ_UNIT_H
#define TJ_UNIT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>
#endif
