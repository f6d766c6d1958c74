/* SPDX-License-Identifier: MIT */
/* The URL mapping a site's invalidations were made under (state.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"

const char *state_urlmap(const struct state *s)
{
  return s->urlmap != NULL ? s->urlmap : "";
}

int state_set_urlmap(struct state *s, const char *desc, struct cfw_err *err)
{
  char *p;

  if (strcmp(state_urlmap(s), desc) == 0)
    return 0;
  p = strdup(desc);
  if (p == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  free(s->urlmap);
  s->urlmap = p;
  /* Only a snapshot holds the mapping (statefmt.h): it goes before any
   * record made under the new one, and a pass that writes nothing else
   * writes it when it ends (state_compact_due). */
  if (!s->fresh && !s->readonly)
    s->snapshot_due = true;
  return 0;
}
