/* SPDX-License-Identifier: MIT */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* Fills addr from $NOTIFY_SOCKET's value; returns the address length or
 * a negative errno.  An abstract name ("@x") becomes "\0x" and its length
 * counts no terminator, as the kernel compares all of its bytes. */
static int sdnotify_addr(const char *name, struct sockaddr_un *addr,
                         socklen_t *len)
{
  size_t n = strlen(name);

  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (name[0] != '/' && name[0] != '@')
    return -EAFNOSUPPORT; /* "vsock:CID:PORT" and the like */
  if (name[0] == '/' && n >= sizeof(addr->sun_path))
    return -ENAMETOOLONG; /* a path needs room for its NUL */
  if (name[0] == '@' && n > sizeof(addr->sun_path))
    return -ENAMETOOLONG;
  memcpy(addr->sun_path, name, n);
  if (name[0] == '@') {
    addr->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
  } else {
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
  }
  return 0;
}

int sdnotify_send(const char *state)
{
  const char *name = getenv("NOTIFY_SOCKET");
  struct sockaddr_un addr;
  socklen_t addr_len = 0;
  size_t n;
  ssize_t sent;
  int fd;
  int rc;

  if (name == NULL || name[0] == '\0')
    return 0;
  if (state == NULL || state[0] == '\0')
    return -EINVAL;
  n = strlen(state);
  if (n > SDNOTIFY_STATE_MAX)
    return -EMSGSIZE;
  rc = sdnotify_addr(name, &addr, &addr_len);
  if (rc < 0)
    return rc;
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* The manager learns our pid from the kernel (SCM_CREDENTIALS on its
   * side), so the datagram is the state alone.  MSG_NOSIGNAL: a vanished
   * manager must not kill us with SIGPIPE. */
  sent = sendto(fd, state, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                (const struct sockaddr *)&addr, addr_len);
  rc = sent < 0 ? -errno : 1;
  /* An unconnected datagram socket has nothing to flush, so close(2)
   * cannot lose what was sent; its result tells nothing. */
  (void)close(fd);
  if (rc > 0 && (size_t)sent != n)
    return -EMSGSIZE; /* datagrams are whole or refused; never seen */
  return rc;
}

bool sdnotify_watchdog_usec(uint64_t *usec)
{
  const char *v = getenv("WATCHDOG_USEC");
  const char *pid = getenv("WATCHDOG_PID");
  uint64_t us;
  uint64_t p;

  *usec = 0;
  if (v == NULL || parse_u64(v, 1, UINT64_MAX, &us) < 0)
    return false;
  /* A child of a watched service inherits the variables; the watchdog
   * is meant for the pid systemd named, not for us. */
  if (pid != NULL && pid[0] != '\0') {
    if (parse_u64(pid, 1, UINT64_MAX, &p) < 0 || p != (uint64_t)getpid())
      return false;
  }
  *usec = us;
  return true;
}
