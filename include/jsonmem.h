/* SPDX-License-Identifier: MIT */
#ifndef CFW_JSONMEM_H
#define CFW_JSONMEM_H

/* jansson's memory, wiped on free.  credential_process output holds
 * secrets, and jansson copies every string it decodes (and the lexer's
 * growing buffers) into blocks it allocates itself; cfwatch hands it an
 * allocator that remembers each block's size and wipes the whole block
 * with OPENSSL_cleanse before freeing it.  This is the "secure_free"
 * recipe of jansson's apiref ("Custom Memory Allocation").
 *
 * json_set_alloc_funcs() is process-global, and a block must be freed
 * by the allocator that made it, so the pair is installed exactly once,
 * before cfwatch's first jansson call: every module that calls jansson
 * (credproc.c, jsonout.c and through it log.c and status.c) calls
 * jsonmem_init() first.  Nothing else in the process uses jansson. */

/* Installs the wiping allocator on the first call; later calls do
 * nothing.  Thread-safe (uv_once), cannot fail. */
void jsonmem_init(void);

#endif
