/* The `encode` and `decode` subcommands of the lvc tool (tools/lvc_codec.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef LVC_TOOLS_LVC_CODEC_H
#define LVC_TOOLS_LVC_CODEC_H

extern const char lvc_encode_usage[];
extern const char lvc_decode_usage[];
int lvc_cmd_encode(int argc, char **argv);
int lvc_cmd_decode(int argc, char **argv);

#endif
