/* Unit tests for src/patch.c: RFC 7386 merge patch and RFC 6902 JSON patch.
 *
 * Most cases are rows of a table (document, patch, expected result or error) and each row runs as
 * its own named cmocka test. JSON in the tables is written with ' for " to stay readable. */
#include "unit.h"
#include "patch.h"

/* Parses JSON written with ' for " (no ' may appear inside strings). */
static json_t *J(const char *s)
{
    char *t = strdup(s);
    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t e;
    json_t *v = json_loads(t, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!v)
        fail_msg("bad test JSON %s: %s", t, e.text);
    free(t);
    return v;
}

static void assert_json_eq(const json_t *got, const json_t *want)
{
    if (!json_equal((json_t *)got, (json_t *)want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        print_error("got  %s\nwant %s\n", g ? g : "NULL", w ? w : "NULL");
        free(g);
        free(w);
        fail();
    }
}

/* ---- merge patch ----------------------------------------------------------------------------- */

typedef struct {
    const char *name, *target, *patch, *want;
} merge_case;

static const merge_case merge_cases[] = {
    /* RFC 7386 Appendix A, in order. */
    {"rfc7386_A01_replace_member", "{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
    {"rfc7386_A02_add_member", "{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
    {"rfc7386_A03_null_deletes", "{'a':'b'}", "{'a':null}", "{}"},
    {"rfc7386_A04_null_deletes_one", "{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
    {"rfc7386_A05_scalar_over_array", "{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
    {"rfc7386_A06_array_over_scalar", "{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
    {"rfc7386_A07_nested_merge", "{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
    {"rfc7386_A08_arrays_replace", "{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
    {"rfc7386_A09_array_target_array_patch", "['a','b']", "['c','d']", "['c','d']"},
    {"rfc7386_A10_array_patch_replaces_object", "{'a':'b'}", "['c']", "['c']"},
    {"rfc7386_A11_null_patch", "{'a':'foo'}", "null", "null"},
    {"rfc7386_A12_string_patch", "{'a':'foo'}", "'bar'", "'bar'"},
    {"rfc7386_A13_null_in_target_kept", "{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
    {"rfc7386_A14_object_patch_on_array", "[1,2]", "{'a':'b','c':null}", "{'a':'b'}"},
    {"rfc7386_A15_nulls_stripped_when_new", "{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
    /* RFC 7386 §1. */
    {"rfc7386_section1_example",
     "{'title':'Goodbye!','author':{'givenName':'John','familyName':'Doe'},"
     "'tags':['example','sample'],'content':'This will be unchanged'}",
     "{'title':'Hello!','phoneNumber':'+01-123-456-7890','author':{'familyName':null},"
     "'tags':['example']}",
     "{'title':'Hello!','author':{'givenName':'John'},'tags':['example'],"
     "'content':'This will be unchanged','phoneNumber':'+01-123-456-7890'}"},
    /* Ours. */
    {"merge_empty_patch_is_identity", "{'a':{'b':[1,2]}}", "{}", "{'a':{'b':[1,2]}}"},
    {"merge_delete_missing_key_is_noop", "{'a':1}", "{'zz':null}", "{'a':1}"},
    {"merge_object_over_scalar_member", "{'a':1}", "{'a':{'b':null,'c':2}}", "{'a':{'c':2}}"},
    {"merge_deep_three_levels", "{'s':{'t':{'u':1,'v':2}}}", "{'s':{'t':{'u':null,'w':3}}}",
     "{'s':{'t':{'v':2,'w':3}}}"},
    {"merge_scalar_target", "5", "{'a':1}", "{'a':1}"},
};

static void run_merge_case(void **state)
{
    const merge_case *c = *state;
    json_t *target = J(c->target), *before = J(c->target), *patch = J(c->patch);
    json_t *want = J(c->want);
    json_t *got = patch_merge(target, patch);
    assert_non_null(got);
    assert_json_eq(got, want);
    assert_json_eq(target, before); /* never modified */
    json_decref(got);
    json_decref(target);
    json_decref(before);
    json_decref(patch);
    json_decref(want);
}

/* The result is a copy: editing it leaves target and patch alone. */
static void merge_result_shares_nothing(void **state)
{
    json_t *target = J("{'a':{'b':1},'keep':{'k':[1]}}"), *patch = J("{'c':{'d':2}}");
    json_t *got = patch_merge(target, patch);
    assert_non_null(got);
    json_object_set_new(json_object_get(got, "a"), "b", json_integer(9));
    json_array_append_new(json_object_get(json_object_get(got, "keep"), "k"), json_integer(2));
    json_object_set_new(json_object_get(got, "c"), "d", json_integer(9));
    json_t *t_want = J("{'a':{'b':1},'keep':{'k':[1]}}"), *p_want = J("{'c':{'d':2}}");
    assert_json_eq(target, t_want);
    assert_json_eq(patch, p_want);
    json_decref(got);
    json_decref(target);
    json_decref(patch);
    json_decref(t_want);
    json_decref(p_want);
}

/* The target's refcount is untouched and a non-object patch does not alias the patch value. */
static void merge_refcounts(void **state)
{
    json_t *target = J("{'a':1}"), *patch = J("['x']");
    json_t *got = patch_merge(target, patch);
    assert_ptr_not_equal(got, patch);
    assert_int_equal(target->refcount, 1);
    assert_int_equal(patch->refcount, 1);
    json_decref(got);
    json_decref(target);
    json_decref(patch);
}

static void merge_null_target_is_undefined(void **state)
{
    json_t *patch = J("{'a':{'b':null,'c':1}}"), *want = J("{'a':{'c':1}}");
    json_t *got = patch_merge(NULL, patch);
    assert_json_eq(got, want);
    json_decref(got);
    json_decref(patch);
    json_decref(want);
}

/* ---- JSON patch ------------------------------------------------------------------------------ */

typedef struct {
    const char *name, *doc, *patch;
    const char *want; /* result, or NULL when rc != 0 */
    int rc;
    const char *err;  /* substring of the message, or NULL */
} json_case;

#define OK(n, d, p, w) {n, d, p, w, 0, NULL}
#define BAD(n, d, p, rc, e) {n, d, p, NULL, rc, e}
#define APPLY PATCH_ERR_APPLY
#define MALFORMED PATCH_ERR_MALFORMED

static const json_case json_cases[] = {
    /* RFC 6902 Appendix A. (A.13, duplicate members, is a parser matter: see rfc6902_A13.) */
    OK("rfc6902_A01_add_object_member", "{'foo':'bar'}",
       "[{'op':'add','path':'/baz','value':'qux'}]", "{'baz':'qux','foo':'bar'}"),
    OK("rfc6902_A02_add_array_element", "{'foo':['bar','baz']}",
       "[{'op':'add','path':'/foo/1','value':'qux'}]", "{'foo':['bar','qux','baz']}"),
    OK("rfc6902_A03_remove_object_member", "{'baz':'qux','foo':'bar'}",
       "[{'op':'remove','path':'/baz'}]", "{'foo':'bar'}"),
    OK("rfc6902_A04_remove_array_element", "{'foo':['bar','qux','baz']}",
       "[{'op':'remove','path':'/foo/1'}]", "{'foo':['bar','baz']}"),
    OK("rfc6902_A05_replace_value", "{'baz':'qux','foo':'bar'}",
       "[{'op':'replace','path':'/baz','value':'boo'}]", "{'baz':'boo','foo':'bar'}"),
    OK("rfc6902_A06_move_value", "{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
       "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
       "{'foo':{'bar':'baz'},'qux':{'corge':'grault','thud':'fred'}}"),
    OK("rfc6902_A07_move_array_element", "{'foo':['all','grass','cows','eat']}",
       "[{'op':'move','from':'/foo/1','path':'/foo/3'}]", "{'foo':['all','cows','eat','grass']}"),
    OK("rfc6902_A08_test_success", "{'baz':'qux','foo':['a',2,'c']}",
       "[{'op':'test','path':'/baz','value':'qux'},{'op':'test','path':'/foo/1','value':2}]",
       "{'baz':'qux','foo':['a',2,'c']}"),
    BAD("rfc6902_A09_test_error", "{'baz':'qux'}", "[{'op':'test','path':'/baz','value':'bar'}]",
        APPLY, "testing value /baz failed: test failed"),
    OK("rfc6902_A10_add_nested_member_object", "{'foo':'bar'}",
       "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
       "{'foo':'bar','child':{'grandchild':{}}}"),
    OK("rfc6902_A11_ignore_unrecognized_members", "{'foo':'bar'}",
       "[{'op':'add','path':'/baz','value':'qux','xyz':123}]", "{'foo':'bar','baz':'qux'}"),
    BAD("rfc6902_A12_add_to_nonexistent_target", "{'foo':'bar'}",
        "[{'op':'add','path':'/baz/bat','value':'qux'}]", APPLY,
        "add operation does not apply: doc is missing path: \"/baz/bat\": missing value"),
    OK("rfc6902_A14_escape_ordering", "{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':10}]",
       "{'/':9,'~1':10}"),
    BAD("rfc6902_A15_string_is_not_number", "{'/':9,'~1':10}",
        "[{'op':'test','path':'/~01','value':'10'}]", APPLY, "testing value /~01 failed"),
    OK("rfc6902_A16_add_array_value", "{'foo':['bar']}",
       "[{'op':'add','path':'/foo/-','value':['abc','def']}]", "{'foo':['bar',['abc','def']]}"),

    /* add */
    OK("add_replaces_existing_member", "{'a':1}", "[{'op':'add','path':'/a','value':2}]", "{'a':2}"),
    OK("add_at_array_size", "{'a':[1]}", "[{'op':'add','path':'/a/1','value':2}]", "{'a':[1,2]}"),
    OK("add_at_array_front", "{'a':[1]}", "[{'op':'add','path':'/a/0','value':0}]", "{'a':[0,1]}"),
    OK("add_dash_appends", "[1]", "[{'op':'add','path':'/-','value':2}]", "[1,2]"),
    OK("add_dash_on_object_is_a_key", "{}", "[{'op':'add','path':'/-','value':1}]", "{'-':1}"),
    OK("add_null_value", "{'a':1}", "[{'op':'add','path':'/b','value':null}]", "{'a':1,'b':null}"),
    OK("add_empty_key", "{}", "[{'op':'add','path':'/','value':1}]", "{'':1}"),
    OK("add_root_replaces_document", "{'a':1}", "[{'op':'add','path':'','value':[1]}]", "[1]"),
    OK("add_on_scalar_document_root", "3", "[{'op':'add','path':'','value':{'x':1}}]", "{'x':1}"),
    BAD("add_past_array_end", "{'a':[1]}", "[{'op':'add','path':'/a/2','value':2}]", APPLY,
        "error in add for path: '/a/2': Unable to access invalid index: 2"),
    BAD("add_index_leading_zero", "{'a':[1,2]}", "[{'op':'add','path':'/a/01','value':2}]", APPLY,
        "invalid index"),
    BAD("add_negative_index", "{'a':[1,2]}", "[{'op':'add','path':'/a/-1','value':2}]", APPLY,
        "invalid index"),
    BAD("add_index_with_sign", "{'a':[1,2]}", "[{'op':'add','path':'/a/+1','value':2}]", APPLY,
        "invalid index"),
    BAD("add_index_not_a_number", "{'a':[1,2]}", "[{'op':'add','path':'/a/x','value':2}]", APPLY,
        "invalid index"),
    BAD("add_huge_index", "{'a':[1,2]}",
        "[{'op':'add','path':'/a/99999999999999999999999999','value':2}]", APPLY, "invalid index"),
    BAD("add_under_scalar", "{'a':1}", "[{'op':'add','path':'/a/b','value':2}]", APPLY,
        "doc is missing path: \"/a/b\""),
    BAD("add_through_dash", "{'a':[{}]}", "[{'op':'add','path':'/a/-/b','value':2}]", APPLY,
        "doc is missing path"),

    /* remove */
    OK("remove_last_array_element", "[1,2,3]", "[{'op':'remove','path':'/2'}]", "[1,2]"),
    OK("remove_nested", "{'a':{'b':{'c':1,'d':2}}}", "[{'op':'remove','path':'/a/b/c'}]",
       "{'a':{'b':{'d':2}}}"),
    BAD("remove_missing_member", "{'a':1}", "[{'op':'remove','path':'/b'}]", APPLY,
        "error in remove for path: '/b': unable to remove nonexistent key: b: missing value"),
    BAD("remove_missing_parent", "{'a':1}", "[{'op':'remove','path':'/x/y'}]", APPLY,
        "remove operation does not apply: doc is missing path: \"/x/y\": missing value"),
    BAD("remove_index_out_of_range", "[1]", "[{'op':'remove','path':'/1'}]", APPLY,
        "Unable to access invalid index: 1"),
    BAD("remove_dash", "[1]", "[{'op':'remove','path':'/-'}]", APPLY, "invalid index"),
    BAD("remove_root", "{'a':1}", "[{'op':'remove','path':''}]", APPLY, "whole document"),

    /* replace */
    OK("replace_array_element", "{'a':[1,2]}", "[{'op':'replace','path':'/a/1','value':3}]",
       "{'a':[1,3]}"),
    OK("replace_root_with_scalar", "{'a':1}", "[{'op':'replace','path':'','value':5}]", "5"),
    OK("replace_with_null", "{'a':1}", "[{'op':'replace','path':'/a','value':null}]", "{'a':null}"),
    BAD("replace_missing_member", "{'a':1}", "[{'op':'replace','path':'/b','value':2}]", APPLY,
        "replace operation does not apply: doc is missing key: /b: missing value"),
    BAD("replace_at_array_size", "[1]", "[{'op':'replace','path':'/1','value':2}]", APPLY,
        "doc is missing key: /1"),
    BAD("replace_dash", "[1]", "[{'op':'replace','path':'/-','value':2}]", APPLY,
        "doc is missing key"),

    /* move */
    OK("move_to_new_member", "{'a':1}", "[{'op':'move','from':'/a','path':'/ab'}]", "{'ab':1}"),
    OK("move_to_same_path", "{'a':1,'b':2}", "[{'op':'move','from':'/a','path':'/a'}]",
       "{'a':1,'b':2}"),
    OK("move_root_to_root", "{'a':1}", "[{'op':'move','from':'','path':''}]", "{'a':1}"),
    OK("move_child_to_root", "{'a':{'x':1}}", "[{'op':'move','from':'/a','path':''}]", "{'x':1}"),
    OK("move_array_to_end", "[1,2,3]", "[{'op':'move','from':'/0','path':'/-'}]", "[2,3,1]"),
    OK("move_between_arrays", "{'a':[1,2],'b':[]}", "[{'op':'move','from':'/a/0','path':'/b/0'}]",
       "{'a':[2],'b':[1]}"),
    OK("move_over_existing", "{'a':1,'b':2}", "[{'op':'move','from':'/a','path':'/b'}]", "{'b':1}"),
    BAD("move_into_own_child", "{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a/b'}]", APPLY,
        "cannot move \"/a\" into its own child \"/a/b\""),
    BAD("move_root_into_child", "{'a':1}", "[{'op':'move','from':'','path':'/b'}]", APPLY,
        "into its own child"),
    BAD("move_missing_from", "{'a':1}", "[{'op':'move','from':'/b','path':'/c'}]", APPLY,
        "error in move for from: '/b': unable to get nonexistent key: b: missing value"),
    BAD("move_missing_from_parent", "{'a':1}", "[{'op':'move','from':'/x/y','path':'/c'}]", APPLY,
        "move operation does not apply: doc is missing from path: \"/x/y\""),
    BAD("move_same_path_missing", "{'a':1}", "[{'op':'move','from':'/b','path':'/b'}]", APPLY,
        "nonexistent key: b"),
    BAD("move_missing_destination", "{'a':1}", "[{'op':'move','from':'/a','path':'/x/y'}]", APPLY,
        "move operation does not apply: doc is missing destination path: /x/y"),

    /* copy */
    OK("copy_member", "{'a':{'b':1}}", "[{'op':'copy','from':'/a','path':'/c'}]",
       "{'a':{'b':1},'c':{'b':1}}"),
    OK("copy_is_deep", "{'a':{'b':1}}",
       "[{'op':'copy','from':'/a','path':'/c'},{'op':'add','path':'/c/x','value':2}]",
       "{'a':{'b':1},'c':{'b':1,'x':2}}"),
    OK("copy_root_into_child", "{'a':1}", "[{'op':'copy','from':'','path':'/b'}]",
       "{'a':1,'b':{'a':1}}"),
    OK("copy_array_element", "[1,2]", "[{'op':'copy','from':'/0','path':'/-'}]", "[1,2,1]"),
    BAD("copy_missing_from", "{'a':1}", "[{'op':'copy','from':'/b','path':'/c'}]", APPLY,
        "error in copy for from: '/b'"),
    BAD("copy_bad_destination_index", "{'a':[1]}", "[{'op':'copy','from':'/a/0','path':'/a/5'}]",
        APPLY, "error in copy for path: '/a/5': Unable to access invalid index: 5"),

    /* test: deep JSON equality */
    OK("test_int_equals_real", "{'n':1}", "[{'op':'test','path':'/n','value':1.0}]", "{'n':1}"),
    OK("test_real_equals_int", "{'n':2.0}", "[{'op':'test','path':'/n','value':2}]", "{'n':2.0}"),
    OK("test_exponent_equals_int", "{'n':100}", "[{'op':'test','path':'/n','value':1e2}]",
       "{'n':100}"),
    OK("test_zero_and_negative_zero", "{'n':0}", "[{'op':'test','path':'/n','value':-0.0}]",
       "{'n':0}"),
    OK("test_numbers_nested", "{'a':[1,{'b':2}]}",
       "[{'op':'test','path':'/a','value':[1.0,{'b':2.0}]}]", "{'a':[1,{'b':2}]}"),
    OK("test_key_order_irrelevant", "{'a':{'x':1,'y':2}}",
       "[{'op':'test','path':'/a','value':{'y':2,'x':1}}]", "{'a':{'x':1,'y':2}}"),
    OK("test_whole_document", "{'a':[1]}", "[{'op':'test','path':'','value':{'a':[1.0]}}]",
       "{'a':[1]}"),
    OK("test_null_value", "{'a':null}", "[{'op':'test','path':'/a','value':null}]", "{'a':null}"),
    BAD("test_int_vs_fraction", "{'n':1}", "[{'op':'test','path':'/n','value':1.5}]", APPLY,
        "testing value /n failed: test failed"),
    BAD("test_int_beyond_double_precision", "{'n':9007199254740993}",
        "[{'op':'test','path':'/n','value':9007199254740992.0}]", APPLY, "test failed"),
    BAD("test_true_is_not_one", "{'b':true}", "[{'op':'test','path':'/b','value':1}]", APPLY,
        "test failed"),
    BAD("test_true_is_not_false", "{'b':true}", "[{'op':'test','path':'/b','value':false}]", APPLY,
        "test failed"),
    BAD("test_array_order_matters", "{'a':[1,2]}", "[{'op':'test','path':'/a','value':[2,1]}]",
        APPLY, "test failed"),
    BAD("test_extra_member", "{'a':{'x':1}}", "[{'op':'test','path':'/a','value':{'x':1,'y':2}}]",
        APPLY, "test failed"),
    BAD("test_missing_member_is_not_null", "{}", "[{'op':'test','path':'/a','value':null}]", APPLY,
        "testing value /a failed"),
    BAD("test_missing_parent", "{}", "[{'op':'test','path':'/a/b','value':1}]", APPLY,
        "test operation does not apply: is missing path: /a/b"),
    BAD("test_index_out_of_range", "[1]", "[{'op':'test','path':'/1','value':1}]", APPLY,
        "Unable to access invalid index: 1"),

    /* pointer escapes (RFC 6901 §3-4) */
    OK("escape_slash", "{}", "[{'op':'add','path':'/a~1b','value':1}]", "{'a/b':1}"),
    OK("escape_tilde", "{}", "[{'op':'add','path':'/m~0n','value':1}]", "{'m~n':1}"),
    OK("escape_both", "{}", "[{'op':'add','path':'/~0~1','value':1}]", "{'~/':1}"),
    OK("escape_tilde_then_one", "{}", "[{'op':'add','path':'/~01','value':1}]", "{'~1':1}"),
    OK("escape_in_middle_segment", "{'a/b':{'c~d':[0]}}",
       "[{'op':'add','path':'/a~1b/c~0d/0','value':9}]", "{'a/b':{'c~d':[9,0]}}"),
    OK("escape_in_from", "{'a/b':1}", "[{'op':'move','from':'/a~1b','path':'/c~0'}]", "{'c~':1}"),
    OK("percent_is_literal", "{}", "[{'op':'add','path':'/c%25d','value':1}]", "{'c%25d':1}"),

    /* all or nothing */
    BAD("failure_after_success_rolls_back", "{'a':1}",
        "[{'op':'add','path':'/b','value':2},{'op':'remove','path':'/a'},"
        "{'op':'test','path':'/b','value':3}]", APPLY, "testing value /b failed"),
    OK("ops_apply_in_sequence", "{'a':[]}",
       "[{'op':'add','path':'/a/-','value':1},{'op':'add','path':'/a/-','value':2},"
       "{'op':'test','path':'/a','value':[1,2]},{'op':'move','from':'/a/1','path':'/a/0'},"
       "{'op':'replace','path':'/a/1','value':{}},{'op':'add','path':'/a/1/k','value':'v'}]",
       "{'a':[2,{'k':'v'}]}"),
    OK("empty_patch_is_identity", "{'a':1}", "[]", "{'a':1}"),

    /* malformed documents: 400 before any op runs */
    BAD("malformed_ops_object", "{}", "{'op':'add','path':'/a','value':1}", MALFORMED,
        "must be an array of operations, got object"),
    BAD("malformed_ops_null", "{}", "null", MALFORMED, "got null"),
    BAD("malformed_op_not_object", "{}", "[1]", MALFORMED, "an operation must be an object"),
    BAD("malformed_op_array", "{}", "[[]]", MALFORMED, "invalid operation []"),
    /* an unknown op decodes (kube's json-patch v4 DecodePatch does not look at kinds) and fails
     * when applied: 422 */
    BAD("op_missing", "{}", "[{'path':'/a','value':1}]", APPLY, "Unexpected kind: unknown"),
    BAD("op_not_string", "{}", "[{'op':1,'path':'/a'}]", APPLY, "Unexpected kind: unknown"),
    BAD("op_unknown", "{}", "[{'op':'merge','path':'/a','value':1}]", APPLY,
        "Unexpected kind: merge"),
    BAD("op_case_sensitive", "{}", "[{'op':'ADD','path':'/a','value':1}]", APPLY,
        "Unexpected kind: ADD"),
    BAD("malformed_add_missing_path", "{}", "[{'op':'add','value':1}]", MALFORMED,
        "failed to decode 'path': operation missing path field: missing value"),
    BAD("malformed_remove_missing_path", "{'a':1}", "[{'op':'remove'}]", MALFORMED,
        "failed to decode 'path'"),
    BAD("malformed_test_missing_path", "{'a':1}", "[{'op':'test','value':1}]", MALFORMED,
        "failed to decode 'path'"),
    BAD("malformed_path_not_string", "{}", "[{'op':'add','path':1,'value':1}]", MALFORMED,
        "failed to decode 'path': expected a string, got number"),
    BAD("malformed_path_null", "{}", "[{'op':'remove','path':null}]", MALFORMED,
        "expected a string, got null"),
    BAD("malformed_add_missing_value", "{}", "[{'op':'add','path':'/a'}]", MALFORMED,
        "failed to decode 'value': operation, missing value field: missing value"),
    BAD("malformed_replace_missing_value", "{'a':1}", "[{'op':'replace','path':'/a'}]", MALFORMED,
        "failed to decode 'value'"),
    BAD("malformed_test_missing_value", "{'a':1}", "[{'op':'test','path':'/a'}]", MALFORMED,
        "failed to decode 'value'"),
    BAD("malformed_move_missing_from", "{'a':1}", "[{'op':'move','path':'/b'}]", MALFORMED,
        "failed to decode 'from': operation, missing from field: missing value"),
    BAD("malformed_copy_missing_from", "{'a':1}", "[{'op':'copy','path':'/b'}]", MALFORMED,
        "failed to decode 'from'"),
    BAD("malformed_from_not_string", "{'a':1}", "[{'op':'copy','from':[],'path':'/b'}]", MALFORMED,
        "failed to decode 'from': expected a string, got array"),
    BAD("malformed_pointer_no_slash", "{'a':1}", "[{'op':'remove','path':'a'}]", MALFORMED,
        "invalid JSON pointer \"a\": must be empty or start with '/'"),
    BAD("malformed_pointer_bad_escape", "{'a~2':1}", "[{'op':'remove','path':'/a~2'}]", MALFORMED,
        "'~' must be followed by '0' or '1'"),
    BAD("malformed_pointer_trailing_tilde", "{}", "[{'op':'add','path':'/a~','value':1}]",
        MALFORMED, "invalid JSON pointer"),
    BAD("malformed_from_pointer", "{'a':1}", "[{'op':'move','from':'a','path':'/b'}]", MALFORMED,
        "failed to decode 'from': invalid JSON pointer"),
    /* The whole document is checked before anything is applied, so a malformed op wins over an
     * earlier op that would fail to apply. */
    BAD("malformed_wins_over_apply_error", "{}",
        "[{'op':'remove','path':'/missing'},{'op':'add','value':1}]", MALFORMED,
        "invalid operation {\"op\":\"add\",\"value\":1}: failed to decode 'path': operation missing path field: missing value"),
    /* ops apply in order: an unknown op after one that fails is never reached */
    BAD("apply_error_before_unknown_op", "{}",
        "[{'op':'remove','path':'/missing'},{'op':'bogus','path':'/a'}]", APPLY,
        "error in remove for path: '/missing'"),
};

static void run_json_case(void **state)
{
    const json_case *c = *state;
    json_t *doc = J(c->doc), *before = J(c->doc), *ops = J(c->patch);
    json_t *sentinel = json_string("untouched"), *out = sentinel;
    char *err = NULL;
    int rc = patch_json(doc, ops, &out, &err);
    if (rc != c->rc)
        fail_msg("rc %d, want %d (err: %s)", rc, c->rc, err ? err : "none");
    if (c->rc == 0) {
        json_t *want = J(c->want);
        assert_null(err);
        assert_json_eq(out, want);
        json_decref(want);
        json_decref(out);
    } else {
        assert_ptr_equal(out, sentinel); /* *out untouched on error */
        assert_non_null(err);
        if (c->err && !strstr(err, c->err))
            fail_msg("error %s\nwant it to contain %s", err, c->err);
        free(err);
    }
    assert_json_eq(doc, before); /* never modified */
    assert_int_equal(doc->refcount, 1);
    json_decref(sentinel);
    json_decref(doc);
    json_decref(before);
    json_decref(ops);
}

/* Exact texts for the messages a client is most likely to see. */
static void json_error_texts(void **state)
{
    static const struct {
        const char *doc, *patch, *msg;
    } rows[] = {
        {"{'spec':{}}", "[{'op':'add','path':'/spec/x/y','value':1}]",
         "add operation does not apply: doc is missing path: \"/spec/x/y\": missing value"},
        {"{'spec':{'x':1}}", "[{'op':'test','path':'/spec/x','value':2}]",
         "testing value /spec/x failed: test failed"},
        {"{'spec':{}}", "[{'op':'replace','path':'/spec/x','value':2}]",
         "replace operation does not apply: doc is missing key: /spec/x: missing value"},
        {"{'spec':{}}", "[{'op':'remove','path':'/spec/x'}]",
         "error in remove for path: '/spec/x': unable to remove nonexistent key: x: missing value"},
        {"{}", "[{'op':'frob','path':'/a'}]", "Unexpected kind: frob"},
        {"{}", "{}", "a JSON patch must be an array of operations, got object"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *doc = J(rows[i].doc), *ops = J(rows[i].patch), *out = NULL;
        char *err = NULL;
        assert_true(patch_json(doc, ops, &out, &err) < 0);
        assert_null(out);
        assert_non_null(err);
        assert_string_equal(err, rows[i].msg);
        free(err);
        json_decref(doc);
        json_decref(ops);
    }
}

/* A long offending op is quoted only in part, so a huge value can't blow up the message. */
static void json_malformed_echo_is_capped(void **state)
{
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    json_t *op = json_pack("{s:s, s:i, s:s}", "op", "add", "path", 5, "value", big);
    json_t *ops = json_pack("[o]", op), *doc = json_object(), *out = NULL;
    char *err = NULL;
    assert_int_equal(patch_json(doc, ops, &out, &err), PATCH_ERR_MALFORMED);
    assert_non_null(err);
    assert_true(strlen(err) < 400);
    assert_non_null(strstr(err, "...: failed to decode 'path'"));
    free(err);
    json_decref(ops);
    json_decref(doc);
}

/* RFC 6901 §5: every example pointer, checked with "test" against its documented value. */
static void json_rfc6901_examples(void **state)
{
    json_error_t e;
    json_t *doc = json_loads("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
                             "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}", 0, &e);
    json_t *ops = json_loads("["
                             "{\"op\":\"test\",\"path\":\"\",\"value\":{\"foo\":[\"bar\",\"baz\"],"
                             "\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
                             "\"k\\\"l\":6,\" \":7,\"m~n\":8}},"
                             "{\"op\":\"test\",\"path\":\"/foo\",\"value\":[\"bar\",\"baz\"]},"
                             "{\"op\":\"test\",\"path\":\"/foo/0\",\"value\":\"bar\"},"
                             "{\"op\":\"test\",\"path\":\"/\",\"value\":0},"
                             "{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
                             "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2},"
                             "{\"op\":\"test\",\"path\":\"/e^f\",\"value\":3},"
                             "{\"op\":\"test\",\"path\":\"/g|h\",\"value\":4},"
                             "{\"op\":\"test\",\"path\":\"/i\\\\j\",\"value\":5},"
                             "{\"op\":\"test\",\"path\":\"/k\\\"l\",\"value\":6},"
                             "{\"op\":\"test\",\"path\":\"/ \",\"value\":7},"
                             "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8}"
                             "]", 0, &e);
    assert_non_null(doc);
    assert_non_null(ops);
    json_t *out = NULL;
    char *err = NULL;
    int rc = patch_json(doc, ops, &out, &err);
    if (rc)
        fail_msg("%s", err);
    assert_json_eq(out, doc);
    json_decref(out);
    json_decref(doc);
    json_decref(ops);
}

/* RFC 6902 A.13: a member given twice is an error. jansson keeps the last one unless the body is
 * parsed with JSON_REJECT_DUPLICATES — which the HTTP layer must use to answer 400 — and even the
 * lenient reading ("remove" of a missing member) does not apply. */
static void rfc6902_A13_duplicate_members(void **state)
{
    const char *body = "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]";
    json_error_t e;
    assert_null(json_loads(body, JSON_REJECT_DUPLICATES, &e));
    json_t *ops = json_loads(body, 0, &e), *doc = J("{'foo':'bar'}"), *out = NULL;
    char *err = NULL;
    assert_non_null(ops);
    assert_int_equal(patch_json(doc, ops, &out, &err), PATCH_ERR_APPLY);
    assert_null(out);
    free(err);
    json_decref(ops);
    json_decref(doc);
}

static json_t *n_tests(size_t n)
{
    json_t *ops = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ops, json_pack("{s:s, s:s, s:i}", "op", "test", "path", "/a",
                                             "value", 1));
    return ops;
}

static void json_max_ops(void **state)
{
    json_t *doc = J("{'a':1}"), *out = NULL, *ops = n_tests(PATCH_MAX_OPS);
    char *err = NULL;
    assert_int_equal(patch_json(doc, ops, &out, &err), 0);
    assert_null(err);
    assert_json_eq(out, doc);
    json_decref(out);
    json_decref(ops);

    out = NULL;
    ops = n_tests(PATCH_MAX_OPS + 1);
    assert_int_equal(patch_json(doc, ops, &out, &err), PATCH_ERR_TOO_MANY);
    assert_null(out);
    assert_string_equal(err, "The allowed maximum operations in a JSON patch is 10000, got 10001");
    free(err);
    json_decref(ops);
    json_decref(doc);
}

/* The count is checked before the ops are looked at: too many garbage ops is still "too many". */
static void json_too_many_before_malformed(void **state)
{
    json_t *doc = json_object(), *ops = json_array(), *out = NULL;
    for (int i = 0; i <= PATCH_MAX_OPS; i++)
        json_array_append_new(ops, json_integer(i));
    char *err = NULL;
    assert_int_equal(patch_json(doc, ops, &out, &err), PATCH_ERR_TOO_MANY);
    free(err);
    json_decref(ops);
    json_decref(doc);
}

/* "copy" can double the document per op; the total it may copy is capped (3 MiB, as upstream). */
static void json_copy_bomb_is_capped(void **state)
{
    json_t *doc = J("{'k':'0123456789012345678901234567890123456789'}"), *ops = json_array();
    json_t *out = NULL;
    for (int i = 0; i < 40; i++)
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "",
                                             "path", i % 2 ? "/b" : "/a"));
    char *err = NULL;
    assert_int_equal(patch_json(doc, ops, &out, &err), PATCH_ERR_APPLY);
    assert_null(out);
    assert_non_null(strstr(err, "Unable to complete the copy, the accumulated size increase of "
                                "copy is "));
    assert_non_null(strstr(err, "exceeding the limit 3145728"));
    free(err);
    json_decref(ops);
    /* Well under the cap, the same ops are fine. */
    ops = J("[{'op':'copy','from':'','path':'/a'},{'op':'copy','from':'','path':'/b'}]");
    assert_int_equal(patch_json(doc, ops, &out, &err), 0);
    assert_int_equal(json_object_size(out), 3);
    json_decref(out);
    json_decref(ops);
    json_decref(doc);
}

/* The result shares nothing with the patch: values are copied out of the ops. */
static void json_result_shares_nothing(void **state)
{
    json_t *doc = J("{}"), *ops = J("[{'op':'add','path':'/a','value':{'b':[1]}}]"), *out = NULL;
    char *err = NULL;
    assert_int_equal(patch_json(doc, ops, &out, &err), 0);
    json_array_append_new(json_object_get(json_object_get(out, "a"), "b"), json_integer(2));
    json_t *want = J("[{'op':'add','path':'/a','value':{'b':[1]}}]");
    assert_json_eq(ops, want);
    json_decref(want);
    json_decref(out);
    json_decref(ops);
    json_decref(doc);
}

/* err may be NULL when the caller only wants the code. */
static void json_err_optional(void **state)
{
    json_t *doc = J("{}"), *ops = J("[{'op':'remove','path':'/a'}]"), *out = NULL;
    assert_int_equal(patch_json(doc, ops, &out, NULL), PATCH_ERR_APPLY);
    json_decref(ops);
    ops = J("[{'op':'add'}]");
    assert_int_equal(patch_json(doc, ops, &out, NULL), PATCH_ERR_MALFORMED);
    assert_null(out);
    json_decref(ops);
    json_decref(doc);
}

/* ---- strategic merge patch ---- */

static void smp_case(const char *kind, const char *target, const char *patch, const char *want)
{
    json_t *t = J(target), *p = J(patch), *w = J(want), *before = json_deep_copy(t), *out = NULL;
    char *err = NULL;
    int rc = patch_strategic(t, p, kind, &out, &err);
    if (rc)
        fail_msg("patch_strategic: %d %s", rc, err ? err : "");
    assert_json_eq(out, w);
    assert_json_eq(t, before); /* never modified */
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(before);
    json_decref(out);
}

static void smp_error(const char *kind, const char *target, const char *patch, int want_rc,
                      const char *msg)
{
    json_t *t = J(target), *p = J(patch), *out = NULL;
    char *err = NULL;
    assert_int_equal(patch_strategic(t, p, kind, &out, &err), want_rc);
    assert_null(out);
    assert_non_null(err);
    assert_non_null(strstr(err, msg));
    free(err);
    json_decref(t);
    json_decref(p);
}

/* What kubectl apply sends for a Service whose first port changed from 80 to 81. */
static void smp_kubectl_apply_service_ports(void **state)
{
    smp_case("Service",
             "{'spec':{'ports':[{'name':'http','port':80,'targetPort':8080},{'name':'m','port':9090}],"
             "'selector':{'app':'x'},'type':'ClusterIP'}}",
             "{'spec':{'$setElementOrder/ports':[{'port':81},{'port':9090}],"
             "'ports':[{'name':'http','port':81,'targetPort':8080},{'$patch':'delete','port':80}]}}",
             "{'spec':{'ports':[{'name':'http','port':81,'targetPort':8080},{'name':'m','port':9090}],"
             "'selector':{'app':'x'},'type':'ClusterIP'}}");
}

static void smp_pod_lists_by_key(void **state)
{
    const char *pod = "{'spec':{'containers':[{'name':'main','image':'a:1','command':['sleep'],"
                      "'env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
                      "'ports':[{'containerPort':80}]}],'tolerations':[{'key':'x'}]}}";
    /* containers merged by name: the command stays */
    smp_case("Pod", pod, "{'spec':{'containers':[{'name':'main','image':'a:2'}]}}",
             "{'spec':{'containers':[{'name':'main','image':'a:2','command':['sleep'],"
             "'env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
             "'ports':[{'containerPort':80}]}],'tolerations':[{'key':'x'}]}}");
    /* env by name inside a container: delete one, change one, add one; ports by containerPort */
    smp_case("Pod", pod,
             "{'spec':{'containers':[{'name':'main','env':[{'name':'B','$patch':'delete'},"
             "{'name':'A','value':'9'},{'name':'C','value':'3'}],"
             "'ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':81}]}]}}",
             "{'spec':{'containers':[{'name':'main','image':'a:1','command':['sleep'],"
             "'env':[{'name':'A','value':'9'},{'name':'C','value':'3'}],"
             "'ports':[{'containerPort':80,'protocol':'TCP'},{'containerPort':81}]}],"
             "'tolerations':[{'key':'x'}]}}");
    /* a list without a merge key (tolerations) is replaced; a new container is appended */
    smp_case("Pod", pod,
             "{'spec':{'tolerations':[{'key':'y'}],'containers':[{'name':'side','image':'b'}]}}",
             "{'spec':{'containers':[{'name':'main','image':'a:1','command':['sleep'],"
             "'env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
             "'ports':[{'containerPort':80}]},{'name':'side','image':'b'}],'tolerations':[{'key':'y'}]}}");
    /* a namespace's spec.finalizers has no patch strategy: replaced */
    smp_case("Namespace", "{'spec':{'finalizers':['kubernetes']}}", "{'spec':{'finalizers':['x']}}",
             "{'spec':{'finalizers':['x']}}");
}

static void smp_directives(void **state)
{
    /* $patch: replace on a list and on a map */
    smp_case("Pod", "{'spec':{'containers':[{'name':'a'},{'name':'b'}]}}",
             "{'spec':{'containers':[{'name':'c'},{'$patch':'replace'}]}}",
             "{'spec':{'containers':[{'name':'c'}]}}");
    smp_case("Pod", "{'spec':{'nodeSelector':{'a':'1','b':'2'}}}",
             "{'spec':{'nodeSelector':{'$patch':'replace','c':'3'}}}", "{'spec':{'nodeSelector':{'c':'3'}}}");
    /* $patch: delete on a map value */
    smp_case("Pod", "{'spec':{'securityContext':{'runAsUser':1},'x':1}}",
             "{'spec':{'securityContext':{'$patch':'delete'}}}", "{'spec':{'x':1}}");
    /* finalizers: a set, $deleteFromPrimitiveList removes */
    smp_case("Pod", "{'metadata':{'finalizers':['a/x','b/y']}}",
             "{'metadata':{'finalizers':['c/z','a/x'],'$deleteFromPrimitiveList/finalizers':['b/y']}}",
             "{'metadata':{'finalizers':['a/x','c/z']}}");
    /* $retainKeys: keys not named are cleared first */
    smp_case("Pod", "{'spec':{'volumes':[{'name':'v','emptyDir':{},'hostPath':{'path':'/x'}}]}}",
             "{'spec':{'volumes':[{'name':'v','$retainKeys':['name','configMap'],'configMap':{'name':'c'}}]}}",
             "{'spec':{'volumes':[{'name':'v','configMap':{'name':'c'}}]}}");
    /* $setElementOrder: the named elements in its order, the rest after */
    smp_case("Pod", "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
             "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'}]}}",
             "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}");
    /* null deletes, as in a merge patch */
    smp_case("Service", "{'metadata':{'labels':{'a':'1','b':'2'}}}", "{'metadata':{'labels':{'a':null}}}",
             "{'metadata':{'labels':{'b':'2'}}}");
}

static void smp_errors(void **state)
{
    smp_error("Pod", "{}", "{'spec':{'containers':[{'image':'x'}]}}", PATCH_ERR_APPLY,
              "does not contain declared merge key: name");
    smp_error("Pod", "{}", "{'spec':{'$patch':'bogus'}}", PATCH_ERR_MALFORMED, "Unknown patch type: bogus");
    smp_error("Pod", "{}", "[1]", PATCH_ERR_MALFORMED, "must be a JSON object");
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(merge_result_shares_nothing),
        cmocka_unit_test(merge_refcounts),
        cmocka_unit_test(merge_null_target_is_undefined),
        cmocka_unit_test(json_error_texts),
        cmocka_unit_test(json_malformed_echo_is_capped),
        cmocka_unit_test(json_rfc6901_examples),
        cmocka_unit_test(rfc6902_A13_duplicate_members),
        cmocka_unit_test(json_max_ops),
        cmocka_unit_test(json_too_many_before_malformed),
        cmocka_unit_test(json_copy_bomb_is_capped),
        cmocka_unit_test(json_result_shares_nothing),
        cmocka_unit_test(json_err_optional),
        cmocka_unit_test(smp_kubectl_apply_service_ports),
        cmocka_unit_test(smp_pod_lists_by_key),
        cmocka_unit_test(smp_directives),
        cmocka_unit_test(smp_errors),
    };
    enum {
        NM = sizeof merge_cases / sizeof merge_cases[0],
        NJ = sizeof json_cases / sizeof json_cases[0],
        NF = sizeof fixed / sizeof fixed[0],
    };
    static struct CMUnitTest tests[NM + NJ + NF];
    size_t n = 0;
    for (size_t i = 0; i < NM; i++)
        tests[n++] = (struct CMUnitTest){merge_cases[i].name, run_merge_case, NULL, NULL,
                                         (void *)&merge_cases[i]};
    for (size_t i = 0; i < NJ; i++)
        tests[n++] = (struct CMUnitTest){json_cases[i].name, run_json_case, NULL, NULL,
                                         (void *)&json_cases[i]};
    for (size_t i = 0; i < NF; i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("patch", tests, n, NULL, NULL);
}
