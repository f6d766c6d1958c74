/* SPDX-License-Identifier: MIT */
#include "guard.h"

bool guard_mass_deletion(size_t n_deleted, size_t n_known, uint64_t max_delete,
                         double max_share)
{
  if ((uint64_t)n_deleted > max_delete)
    return true;
  if (n_deleted < GUARD_SHARE_FLOOR || n_known == 0)
    return false;
  return (double)n_deleted > max_share * (double)n_known;
}
