#include "gcam_internal.h"
#include "test.h"

GCAM_TEST(registry_every_op_linked)
{
    int missing = 0;
    for (int i = 0; i < gcam_op_count(); i++) {
        if (!gcam_op_at(i)) {
            fprintf(stderr, "    op %s listed in ops.def but not linked\n", gcam_op_name_at(i));
            missing++;
            continue;
        }
        CHECK_MSG(strcmp(gcam_op_at(i)->op_type, gcam_op_name_at(i)) == 0, "op %s has op_type %s",
                  gcam_op_name_at(i), gcam_op_at(i)->op_type);
        CHECK_MSG(gcam_op_at(i)->infer && gcam_op_at(i)->forward, "op %s lacks infer/forward",
                  gcam_op_name_at(i));
    }
    CHECK(missing == 0);
}

/* Every descriptor passes gcam_op_check (name, entry points, opsets,
 * required inputs), and the check rejects each kind of broken descriptor. */
GCAM_TEST(registry_descriptors_coherent)
{
    for (int i = 0; i < gcam_op_count(); i++) {
        const char *why = gcam_op_check(i);
        CHECK_MSG(why == NULL, "op %s: %s", gcam_op_name_at(i), why ? why : "");
    }
    CHECK(gcam_op_check(gcam_op_count()) != NULL);
    const gcam_op *relu = gcam_op_lookup("Relu");
    CHECK(relu && gcam_op_check_desc(relu, "Relu") == NULL);
    if (!relu) return;
    gcam_op bad = *relu;
    CHECK(gcam_op_check_desc(&bad, "Sigmoid") != NULL); /* another row's name */
    bad.since = 0; /* a descriptor that never said its opsets */
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.until = 3, bad.since = 6;
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.until = GCAM_OPSET_MAX + 1;
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.forward = NULL;
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.required = 9;
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.required_from = 1, bad.required_then = 2; /* a change before the op exists */
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.required_from = 10, bad.required_then = relu->required; /* no change */
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
    bad = *relu, bad.param_slot = 1; /* a shape parameter the flags do not announce */
    CHECK(gcam_op_check_desc(&bad, "Relu") != NULL);
}

/* What the descriptors say is what the loader applied before they said it
 * (graph.c's tables until issue 11): spot checks of each kind. */
GCAM_TEST(registry_opsets_and_required_inputs)
{
    const gcam_op *slice = gcam_op_lookup("Slice"), *conv = gcam_op_lookup("Conv"), *add = gcam_op_lookup("Add");
    const gcam_op *k = gcam_op_lookup("Constant"), *bn = gcam_op_lookup("BatchNormalization");
    const gcam_op *qc = gcam_op_lookup("QLinearConv"), *unsq = gcam_op_lookup("Unsqueeze");
    CHECK(slice && conv && add && k && bn && qc && unsq);
    if (!slice || !conv || !add || !k || !bn || !qc || !unsq) return;
    CHECK(gcam_op_required(slice, 9) == 1 && gcam_op_required(slice, 10) == 3);
    CHECK(gcam_op_required(unsq, 12) == 1 && gcam_op_required(unsq, 13) == 2);
    CHECK(gcam_op_required(conv, 11) == 2 && gcam_op_required(k, 13) == 0 && gcam_op_required(bn, 9) == 5);
    CHECK(gcam_op_required(qc, 10) == 8);
    CHECK(gcam_op_opset_ok(conv, 1) && !gcam_op_opset_ok(add, 5) && gcam_op_opset_ok(add, 6));
    CHECK(gcam_op_opset_ok(add, GCAM_OPSET_MAX) && !gcam_op_opset_ok(add, GCAM_OPSET_MAX + 1));
    CHECK(gcam_op_opset_ok(add, 0)); /* no opset import: taken as supported */
}

/* The method list (GCAM_METHOD_LIST) round-trips and describes every method. */
GCAM_TEST(method_list_complete)
{
    for (int k = 0; k < GCAM_METHOD_COUNT; k++) {
        const char *name = gcam_method_name(k);
        CHECK(name != NULL);
        if (!name) continue;
        CHECK_MSG(gcam_method_parse(name) == k, "%s does not parse back to %d", name, k);
        CHECK(gcam_method_summary(k) && *gcam_method_summary(k));
        const int f = gcam_method_flags(k);
        CHECK_MSG(f & (GCAM_MF_LAYER | GCAM_MF_INPUT_GRAD | GCAM_MF_BATCHED | GCAM_MF_ATTENTION), "%s needs nothing",
                  name);
        CHECK_MSG(!(f & GCAM_MF_LAYER_GRAD) || (f & (GCAM_MF_LAYER | GCAM_MF_ATTENTION)),
                  "%s: layer gradient without a layer", name);
    }
    CHECK(gcam_method_name(GCAM_METHOD_COUNT) == NULL && gcam_method_summary(-1) == NULL);
    CHECK(gcam_method_flags(GCAM_METHOD_COUNT) == 0 && gcam_method_parse("nope") == -1);
    CHECK(gcam_method_flags(GCAM_METHOD_SCORECAM) == GCAM_MF_LAYER);
}

/* docs/ops.md has one table row "| Name | ..." per op of ops.def, and no
 * row for an op the table lacks (rows of other tables start with a
 * lower-case word or are listed in the out-of-scope section). */
GCAM_TEST(registry_ops_doc_matches_table)
{
    FILE *f = fopen(GCAM_SOURCE_DIR "/docs/ops.md", "r");
    CHECK_MSG(f != NULL, "cannot open docs/ops.md");
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    for (int i = 0; i < gcam_op_count(); i++) {
        char key[96];
        snprintf(key, sizeof key, "\n| %s | ", gcam_op_name_at(i));
        CHECK_MSG(strstr(doc, key) != NULL, "docs/ops.md has no row for %s", gcam_op_name_at(i));
    }
    /* the other way: every "| Name | <digit>" row is an op of the table */
    const char *section = strstr(doc, "| op | opsets |"), *end = section ? strstr(section, "\n## ") : NULL;
    CHECK(section && end);
    int rows = 0;
    for (const char *p = strstr(section, "\n| "); p && p < end; p = strstr(p + 1, "\n| ")) {
        char name[96];
        if (sscanf(p, "\n| %95[A-Za-z0-9] |", name) != 1) continue;
        rows++;
        CHECK_MSG(gcam_op_lookup(name) != NULL, "docs/ops.md lists %s, which ops.def lacks", name);
    }
    CHECK_MSG(rows == gcam_op_count(), "docs/ops.md has %d rows for %d ops", rows, gcam_op_count());
}
