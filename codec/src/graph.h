/* The graph interpreter: runs a loaded sub-network (codec/FORMAT.md §3.3) over the op
 * vocabulary of codec/ARITHMETIC.md §3 with the kernels of kernels.h.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A graph is planned once per frame size (lvc_graph_plan): every value's C × H × W is derived
 * from the canonical sizes of the graph's inputs (ARITHMETIC.md §4), the outputs are checked to
 * be canonical, convolution parameters are prepared, and the node outputs are laid out: the
 * graph's outputs in the plan's own arena, every other value in a scratch buffer (shareable
 * between plans) where a value's memory is reused once its last consumer has run.  lvc_graph_run then
 * allocates nothing; each node is split into row bands run on the thread pool (the result never
 * depends on the number of threads). */
#ifndef LVC_GRAPH_H
#define LVC_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"
#include "model.h"
#include "threadpool.h"

typedef struct LvcGraphPlan LvcGraphPlan;

/* Plan graph g (borrowed from its model, which must outlive the plan) for a width × height
 * picture.  Returns 0, LVC_EUNSUPPORTED when the graph cannot run at this size (a value would
 * be empty, an UNSHUFFLE input is not a multiple of r, an output is not canonical), or
 * LVC_ENOMEM. */
int lvc_graph_plan(LvcGraphPlan **out, const LvcGraph *g, int width, int height);
void lvc_graph_plan_free(LvcGraphPlan *p); /* NULL accepted */

/* The graph this plan runs. */
const LvcGraph *lvc_graph_plan_graph(const LvcGraphPlan *p);

/* The planned shape of graph input i (data NULL). */
LvcTensor lvc_graph_input_shape(const LvcGraphPlan *p, int i);

/* The planned shape of value vi (the graph's inputs, then one value per node; data NULL), and
 * the prepared layer of CONV node k (NULL for other ops); for other backends that run the
 * plan's graph with the same shapes. */
LvcTensor lvc_graph_value_shape(const LvcGraphPlan *p, int vi);
const LvcConvParams *lvc_graph_conv_params(const LvcGraphPlan *p, int k);

/* Run the graph for a frame of the given qp (0..63).  inputs[i] are the graph's inputs in order
 * (borrowed; shapes must equal the planned ones, exponents those of the graph).  outputs[i]
 * receives graph output i; its data points into the plan's own arena and stays valid until the
 * next run of this plan.  The graph's other values live in scratch (at least
 * lvc_graph_plan_scratch() elements, 64-byte aligned), which may be shared by plans that do not
 * run concurrently; its contents are meaningless after the run.  pool may be NULL.  Returns 0
 * or LVC_EINVAL (a shape mismatch, a missing scratch buffer). */
int lvc_graph_run(LvcGraphPlan *p, const LvcDsp *dsp, LvcThreadPool *pool, int qp,
                  const LvcTensor *const *inputs, LvcTensor *outputs, int16_t *scratch);

/* int16 elements of scratch memory a run needs (0 when every value is a graph output). */
size_t lvc_graph_plan_scratch(const LvcGraphPlan *p);

/* Bytes held by the plan (its output arena and parameters, not the scratch). */
size_t lvc_graph_plan_memory(const LvcGraphPlan *p);

#endif
