/* Private to broker/: fields of urlencoded form bodies (form.c). */
#ifndef SEKISHO_FORM_INT_H
#define SEKISHO_FORM_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "broker_int.h"

/*
 * One parameter of a form body. Answers 400 (and returns non-zero) when the
 * body is not a form, the parameter is repeated, too long, or required and
 * missing. *out newly allocated (free with sk_strfreezero()).
 */
int sk_form_param(const struct sk_req *req, struct sk_resp *resp,
		  const char *name, bool required, char **out);

/* A form field of the request body (urlencoded); NULL when absent or the
 * body is not a form; *dup when repeated. Newly allocated (free()). */
char *sk_form_field(const struct sk_req *req, const char *name, bool *dup);

/* The same, but NULL also when repeated or longer than max bytes
 * (free with sk_strfreezero()). */
char *sk_form_short(const struct sk_req *req, const char *name, size_t max);

#endif
