/* SPDX-License-Identifier: MIT */
/* The cache tag header a site's TREE_TAGGED flags refer to (state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "state_int.h"

const char *state_tag_header(const struct state *s)
{
  return s->tag_header != NULL ? s->tag_header : "";
}

int state_set_tag_header(struct state *s, const char *h, struct cfw_err *err)
{
  const char *want = h != NULL ? h : "";
  size_t i;
  size_t k;
  char *p;

  if (strcasecmp(state_tag_header(s), want) == 0)
    return 0;
  p = strdup(want);
  if (p == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  free(s->tag_header);
  s->tag_header = p;
  /* Objects uploaded under the old header carry their tag where the
   * distribution no longer looks, if at all: every file goes by path
   * until its next upload under this one has been invalidated. */
  manifest_clear_flags(s->m, TREE_TAGGED);
  for (i = 0; i < s->n_open; i++)
    for (k = 0; k < s->open[i].n_changes; k++)
      s->open[i].changes[k].entry.flags &= ~TREE_TAGGED;
  /* The header and the cleared flags go in the snapshot, before any
   * record that may set a flag under the new header. */
  if (!s->fresh)
    s->snapshot_due = true;
  return 0;
}
