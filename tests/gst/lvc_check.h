/* The common frame of the element tests: the lvc elements registered statically (no plugin
 * on the path needed) and a check suite run with the closing "N passed, N failed" line.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TESTS_GST_LVC_CHECK_H
#define LVC_TESTS_GST_LVC_CHECK_H

#include <stdio.h>

#include <gst/check/gstcheck.h>

#include "gstlvc.h"

/* Register the elements; on failure print the failing result line and return FALSE. */
static inline gboolean
lvc_check_register (void)
{
  if (!gst_plugin_register_static (GST_VERSION_MAJOR, GST_VERSION_MINOR, "lvc",
          "lvc elements (static, for the tests)", gst_lvc_plugin_init, "0.1.0", "LGPL", "lvc",
          "lvc", "https://example.invalid/lvc")) {
    printf ("cannot register the lvc elements\n0 passed, 1 failed\n");
    return FALSE;
  }
  return TRUE;
}

/* Run every test of the suite; the process exit status. */
static inline int
lvc_check_run (Suite * suite)
{
  SRunner *sr = srunner_create (suite);
  int run, failed;

  srunner_run_all (sr, CK_NORMAL);
  run = srunner_ntests_run (sr);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  printf ("%d passed, %d failed\n", run - failed, failed);
  return failed ? 1 : 0;
}

#endif
