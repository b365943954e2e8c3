/*
 * promtext.h - writes the Prometheus text exposition format (version
 * 0.0.4): a "# HELP" and "# TYPE" line per metric family, then its
 * samples, `name{label="value",...} value`.  Pure: it appends to a buf.
 *
 * Label values and help texts are escaped as the format asks (backslash,
 * double quote, newline); metric and label names are the caller's
 * constants and must already be valid.  Errors (a full buffer) are
 * sticky: write everything, then look at promtext_failed().
 */
#ifndef DIRECTOR_PROMTEXT_H
#define DIRECTOR_PROMTEXT_H

#include <stdbool.h>
#include <stdint.h>

struct buf;

/* The Content-Type of the format. */
#define PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Labels of one sample, at most. */
#define PROMTEXT_LABELS_MAX 8

enum promtext_type {
	PROMTEXT_COUNTER,
	PROMTEXT_GAUGE,
};

struct promtext {
	struct buf *out; /* borrowed */
	bool failed;
};

/* Writes to out (appending). */
void promtext_init(struct promtext *p, struct buf *out);
/* Starts a family: its HELP and TYPE lines. */
void promtext_family(struct promtext *p, const char *name,
    enum promtext_type type, const char *help);
/*
 * One sample of name.  labels: label names and values alternating,
 * ended by NULL (NULL itself: no labels); at most PROMTEXT_LABELS_MAX
 * pairs.  The value is written as an integer when it is one.
 */
void promtext_sample(struct promtext *p, const char *name,
    const char *const *labels, double value);
/* The same for a value that may not fit a double exactly. */
void promtext_sample_u64(struct promtext *p, const char *name,
    const char *const *labels, uint64_t value);
/* Whether something could not be written. */
bool promtext_failed(const struct promtext *p);

#endif
