/* fielderr — a list of field errors, as apimachinery's field.ErrorList.
 *
 * A cause's message is "<Type text>[: <value>][: <detail>]"; the aggregate used in a 422
 * message is "<field>: <cause message>" for one error and "[e1, e2]" for several.
 * Values are rendered by the caller-facing helpers: strings quoted (Go %q), integers bare,
 * anything else as compact JSON. */
#ifndef TJ_FIELDERR_H
#define TJ_FIELDERR_H
#include <stddef.h>
#include <jansson.h>

typedef enum {
    FE_REQUIRED,      /* "Required value",      reason FieldValueRequired */
    FE_INVALID,       /* "Invalid value",       reason FieldValueInvalid */
    FE_NOT_SUPPORTED, /* "Unsupported value",   reason FieldValueNotSupported */
    FE_FORBIDDEN,     /* "Forbidden",           reason FieldValueForbidden */
    FE_TOO_LONG,      /* "Too long",            reason FieldValueTooLong */
    FE_DUPLICATE,     /* "Duplicate value",     reason FieldValueDuplicate */
    FE_NOT_FOUND,     /* "Not found",           reason FieldValueNotFound */
    FE_TYPE_INVALID,  /* "Invalid value",       reason FieldValueTypeInvalid */
} fe_type;

typedef struct fielderr {
    fe_type type;
    char *field;   /* "metadata.name" */
    char *value;   /* rendered value ("\"Bad_Name\"", "0", "[\"true\"]"), or NULL: no value part */
    char *detail;  /* detail text, or NULL */
} fielderr;

typedef struct fielderrs {
    fielderr *v;
    size_t n, cap;
} fielderrs;

/* Append one error. value: already rendered (see fe_str/fe_json) or NULL. detail: printf format
 * or NULL. The list owns copies of every string. */
void fe_add(fielderrs *l, fe_type t, const char *field, const char *value, const char *detail_fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Renderers for the value argument; the result is malloc'ed, caller frees (or passes to fe_addv). */
char *fe_str(const char *s);          /* Go %q quoting: "\"Bad_Name\"" */
char *fe_json(const json_t *v);
char *fe_gov(const json_t *v);        /* fmt's %v of the decoded value: map[a:1 b:[x y]], unquoted */       /* strings quoted, numbers/bools bare, others compact JSON */
void fe_free(fielderrs *l);
const char *fe_type_text(fe_type t);  /* "Required value" */
const char *fe_type_reason(fe_type t);/* "FieldValueRequired" */
/* "<Type text>[: <value>][: <detail>]"; malloc'ed. */
char *fe_cause_message(const fielderr *e);
/* "<field>: <msg>" or "[a, b]"; malloc'ed. */
char *fe_aggregate(const fielderrs *l);
/* JSON array of {reason, message, field} causes; new reference. */
json_t *fe_causes(const fielderrs *l);
#endif
