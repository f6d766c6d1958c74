/* SPDX-License-Identifier: MIT */
#ifndef CFW_SDNOTIFY_H
#define CFW_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* The service manager's notify protocol (sd_notify(3)), written by hand
 * so that cfwatch needs no libsystemd: one datagram of "KEY=VALUE" lines
 * to the AF_UNIX socket named by $NOTIFY_SOCKET, e.g. "READY=1",
 * "STATUS=watching 2 sites", "WATCHDOG=1", "RELOADING=1", "STOPPING=1".
 * Under anything but a Type=notify unit the variable is unset and every
 * call is a cheap no-op. */

/* The longest state accepted: systemd reads at most this much of one
 * datagram (PIPE_BUF in its sources) and would drop the rest. */
#define SDNOTIFY_STATE_MAX 4096

/* Sends state to $NOTIFY_SOCKET: a path ("/run/user/1000/systemd/notify")
 * or an abstract socket ("@name").  Never blocks: the socket is written
 * with MSG_DONTWAIT, so a manager that is not reading costs -EAGAIN, not
 * a stalled event loop.  Returns 1 if the datagram was sent, 0 if
 * NOTIFY_SOCKET is unset or empty (not under a notify service), -EINVAL
 * for a NULL or empty state, -EMSGSIZE past SDNOTIFY_STATE_MAX,
 * -EAFNOSUPPORT for another address kind (e.g. "vsock:"),
 * -ENAMETOOLONG for an address too long for sun_path, or the negative
 * errno of socket(2) or sendto(2) (-ENOENT, -ECONNREFUSED, -EAGAIN).
 * Reads the environment and writes nothing else. */
int sdnotify_send(const char *state);

/* Whether the service manager expects "WATCHDOG=1" from this process,
 * and how often: true with *usec set to $WATCHDOG_USEC (send at least
 * every usec / 2), false if the variable is unset, not a positive
 * decimal number, or if $WATCHDOG_PID is set and is not getpid() (the
 * variables were inherited from a parent).  *usec is 0 when false. */
bool sdnotify_watchdog_usec(uint64_t *usec);

#endif
