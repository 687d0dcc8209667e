/* Quantised (QDQ) graphs: QuantizeLinear's integer output carries the
 * straight-through gradient, so the backward pass reaches a layer before a
 * Quantize -> Dequantize pair with d(dq(q(r)))/dr = 1 inside the integer
 * range and 0 where the value was clipped; plus float16/float64 tensors
 * converted at load. */
#include "graph/graph.h"
#include "onnx_builder.h"
#include "test.h"

GCAM_TEST(qdq_straight_through_gradient)
{
    /* x -> Relu -> r -> Q(scale 0.1, uint8) -> DQ -> d -> Mul(w) -> y */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1,4");
    ob_init_f32(b, "s", 0, NULL, (float[]){0.1f});
    ob_init_f32(b, "w", 2, (int64_t[]){1, 4}, (float[]){2, -3, 5, 7});
    ob_node(b, "Relu", "relu", "x", "r");
    ob_node(b, "QuantizeLinear", "q", "r,s", "q");
    ob_node(b, "DequantizeLinear", "dq", "q,s", "d");
    ob_node(b, "Mul", "mul", "d,w", "y");
    ob_output(b, "y", OB_F32, NULL);
    size_t len;
    uint8_t *buf = ob_pack(b, &len);
    ob_free(b);
    gcam_graph *g = NULL;
    gcam_err e = {0};
    CHECK_MSG(gcam_graph_load_buffer(buf, len, ".", &g, &e) == 0, "%s", e.msg);
    free(buf);
    gcam_tensor *x = &g->tensors[g->inputs[0]];
    x->ndim = 2;
    x->dims[0] = 1;
    x->dims[1] = 4;
    gcam_bwd_plan bp = {.target = gcam_graph_find(g, "y"), .n_layers = 1};
    bp.layers[0] = gcam_graph_find(g, "r");
    CHECK(gcam_graph_plan(g, NULL, &e) == 0); /* dtypes known before the gradient plan */
    CHECK_MSG(gcam_bwd_prepare(g, &bp, &e) == 0, "%s", e.msg);
    unsigned char keep[64] = {0};
    CHECK(g->n_tensors <= 64);
    keep[bp.layers[0]] = 1;
    const gcam_plan_request req = {.keep = keep, .backward = bp.on_path};
    CHECK_MSG(gcam_graph_plan(g, &req, &e) == 0, "%s", e.msg);
    const float xv[4] = {1.23f, 0.5f, 30.0f, -1.0f}; /* 30 clips at 25.5; -1 is 0 after Relu */
    memcpy(x->data, xv, sizeof xv);
    CHECK(gcam_graph_forward(g, &e) == 0);
    const float *y = gcam_f32(&g->tensors[bp.target]);
    CHECK(fabsf(y[0] - 2 * 1.2f) < 1e-5f && fabsf(y[2] - 5 * 25.5f) < 1e-4f);
    const float want[4] = {2, -3, 0, 7}; /* clipped: 0; r = 0 is inside the range */
    for (int k = 0; k < 4; k++) {
        CHECK_MSG(gcam_bwd_run(g, &bp, NULL, k, 1.0f, 0, &e) == 0, "%s", e.msg);
        const float *dr = gcam_f32(&g->grads[bp.layers[0]]);
        for (int j = 0; j < 4; j++) CHECK_MSG(fabsf(dr[j] - (j == k ? want[k] : 0.0f)) < 1e-5f, "seed %d: dr[%d] = %g", k, j, dr[j]);
    }
    gcam_bwd_release(&bp);
    gcam_graph_free(g);
}

GCAM_TEST(float16_and_float64_become_float32)
{
    /* a float64 initializer and a Cast to float16 then float64: all float32 inside */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "3");
    double dv[3] = {0.5, -1.25, 1e-3};
    ob_init_raw(b, "k", OB_F64, 1, (int64_t[]){3}, dv, sizeof dv);
    Onnx__NodeProto *c1 = ob_node(b, "Cast", "c1", "x", "h");
    ob_attr_int(b, c1, "to", 10);
    Onnx__NodeProto *c2 = ob_node(b, "Cast", "c2", "h", "dd");
    ob_attr_int(b, c2, "to", 11);
    ob_node(b, "Mul", "mul", "dd,k", "y");
    ob_output(b, "y", OB_F64, NULL);
    gcam_model *m = NULL;
    CHECK_MSG(ob_load(b, &m) == 0, "%s", gcam_model_errmsg(m));
    /* the float64 initializer, the two casts and the float64 output */
    CHECK(gcam_model_float_conversions(m) == 4);
    gcam_array in = {.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {3}, .data = (float[]){1.0f + 1.0f / 4096, 2.0f, 3.0f}};
    CHECK_MSG(gcam_model_run(m, NULL, &in, 1) == 0, "%s", gcam_model_errmsg(m));
    gcam_array y;
    CHECK(gcam_model_tensor(m, "y", &y) == 0);
    CHECK(y.dtype == GCAM_FLOAT32);
    const float *v = y.data;
    CHECK(v[0] == 0.5f && v[1] == -2.5f && fabsf(v[2] - 3e-3f) < 1e-9f); /* 1 + 2^-12 rounds to 1 in float16 */
    gcam_model_free(m);
}

GCAM_TEST(folded_constant_obeys_memory_limit)
{
    /* ConstantOfShape of a constant [65536, 65536] float: 16 GB computed at
     * plan time must be refused like any activation, not calloc'd and filled */
    ob *b = ob_new(13);
    ob_input(b, "x", OB_F32, "1");
    ob_init_i64(b, "shape", 1, (int64_t[]){2}, (int64_t[]){65536, 65536});
    ob_node(b, "ConstantOfShape", "big", "shape", "c");
    ob_node(b, "Identity", "id", "x", "y");
    ob_output(b, "y", OB_F32, NULL);
    ob_output(b, "c", OB_F32, NULL);
    gcam_model *m = NULL;
    CHECK_MSG(ob_load(b, &m) == 0, "%s", gcam_model_errmsg(m));
    gcam_model_set_memory_limit(m, (size_t)64 << 20);
    gcam_array in = {.dtype = GCAM_FLOAT32, .ndim = 1, .dims = {1}, .data = (float[]){1.0f}};
    CHECK(gcam_model_run(m, NULL, &in, 1) == GCAM_E_NOMEM);
    CHECK_MSG(strstr(gcam_model_errmsg(m), "'big' (ConstantOfShape)") && strstr(gcam_model_errmsg(m), "memory limit"),
              "%s", gcam_model_errmsg(m));
    gcam_model_free(m);
}
