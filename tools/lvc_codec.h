/* The `encode` and `decode` subcommands of the lvc tool (tools/lvc_codec.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TOOLS_LVC_CODEC_H
#define LVC_TOOLS_LVC_CODEC_H

extern const char lvc_encode_usage[];
extern const char lvc_decode_usage[];
int lvc_cmd_encode(int argc, char **argv);
int lvc_cmd_decode(int argc, char **argv);

typedef struct LvcModel LvcModel;
/* Load --model FILE, else $LVC_MODEL, else models/default.lvcm of the source tree, else the
 * installed default.lvcm; messages name the subcommand cmd.  Returns 0, 1 (cannot load) or 2
 * (no model given or found). */
int lvc_load_model(const char *cmd, const char *path, LvcModel **m);

/* --backend auto|cpu|vulkan into *backend (LVC_BACKEND_*); -1 with a message otherwise. */
int lvc_parse_backend(const char *cmd, const char *v, int *backend);
/* The log callback of the tool (lvc_set_log_callback): warnings always, information when
 * lvc_tool_log_info is set (--verbose). */
extern int lvc_tool_log_info;
void lvc_tool_log(void *opaque, int level, const char *msg);
/* Print a coder's time per frame by stage and its multiply-add rate (--verbose). */
typedef struct LvcTimings LvcTimings;
void lvc_print_timings(const char *who, int backend, const LvcTimings *t);

#endif
