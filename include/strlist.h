/* SPDX-License-Identifier: MIT */
#ifndef CFW_STRLIST_H
#define CFW_STRLIST_H

#include <stddef.h>

/* A growable array of owned C strings. */
struct strlist {
  char **v; /* owned, and each string in it */
  size_t n;
  size_t cap;
};

void strlist_init(struct strlist *l);
void strlist_free(struct strlist *l); /* NULL is fine */

/* Appends a copy of s (or of its first len bytes).  0 or -ENOMEM. */
int strlist_push(struct strlist *l, const char *s);
int strlist_pushn(struct strlist *l, const char *s, size_t len);

/* Appends s itself; the list owns it from now on, even on -ENOMEM
 * (then s is freed). */
int strlist_push_take(struct strlist *l, char *s);

/* Moves every string of src to the end of dst and leaves src empty:
 * the strings are handed over, not copied (an empty dst takes src's
 * array itself).  On -ENOMEM both are as they were. */
int strlist_move_all(struct strlist *dst, struct strlist *src);

/* Sorts bytewise and drops duplicates. */
void strlist_sort_unique(struct strlist *l);

int strlist_contains(const struct strlist *l, const char *s);

#endif
