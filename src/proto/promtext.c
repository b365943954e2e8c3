/*
 * promtext.c - the Prometheus text exposition format (see promtext.h).
 */
#include "compat.h"

#include <math.h>
#include <stdio.h>

#include "buf.h"
#include "promtext.h"

void
promtext_init(struct promtext *p, struct buf *out)
{
	p->out = out;
	p->failed = false;
}

static void
promtext_put(struct promtext *p, const char *s, size_t len)
{
	if (!p->failed && buf_append(p->out, s, len) == -1)
		p->failed = true;
}

static void
promtext_puts(struct promtext *p, const char *s)
{
	promtext_put(p, s, strlen(s));
}

/* s escaped: backslash and newline always, double quote in label
 * values. */
static void
promtext_escaped(struct promtext *p, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			promtext_puts(p, "\\\\");
		else if (*s == '\n')
			promtext_puts(p, "\\n");
		else if (*s == '"' && quote)
			promtext_puts(p, "\\\"");
		else
			promtext_put(p, s, 1);
	}
}

void
promtext_family(struct promtext *p, const char *name, enum promtext_type type,
    const char *help)
{
	promtext_puts(p, "# HELP ");
	promtext_puts(p, name);
	promtext_puts(p, " ");
	promtext_escaped(p, help, false);
	promtext_puts(p, "\n# TYPE ");
	promtext_puts(p, name);
	promtext_puts(p, type == PROMTEXT_COUNTER ? " counter\n" : " gauge\n");
}

static void
promtext_name_labels(
    struct promtext *p, const char *name, const char *const *labels)
{
	size_t i;

	promtext_puts(p, name);
	if (labels == NULL || labels[0] == NULL)
		return;
	promtext_puts(p, "{");
	for (i = 0; labels[i] != NULL && labels[i + 1] != NULL &&
	     i < 2 * PROMTEXT_LABELS_MAX;
	     i += 2) {
		if (i > 0)
			promtext_puts(p, ",");
		promtext_puts(p, labels[i]);
		promtext_puts(p, "=\"");
		promtext_escaped(p, labels[i + 1], true);
		promtext_puts(p, "\"");
	}
	promtext_puts(p, "}");
}

void
promtext_sample(struct promtext *p, const char *name, const char *const *labels,
    double value)
{
	char num[64];

	if (isnan(value))
		strlcpy(num, "NaN", sizeof(num));
	else if (isinf(value))
		strlcpy(num, value > 0 ? "+Inf" : "-Inf", sizeof(num));
	else if (value == floor(value) && fabs(value) < 1e15)
		snprintf(num, sizeof(num), "%.0f", value);
	else
		snprintf(num, sizeof(num), "%.9g", value);
	promtext_name_labels(p, name, labels);
	promtext_puts(p, " ");
	promtext_puts(p, num);
	promtext_puts(p, "\n");
}

void
promtext_sample_u64(struct promtext *p, const char *name,
    const char *const *labels, uint64_t value)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	promtext_name_labels(p, name, labels);
	promtext_puts(p, " ");
	promtext_puts(p, num);
	promtext_puts(p, "\n");
}

bool
promtext_failed(const struct promtext *p)
{
	return p->failed;
}
