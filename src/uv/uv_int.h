/* SPDX-License-Identifier: MIT */
/*
 * The binding's insides (<p2pclock/uv.h>), shared by its files:
 *   vclock.c    the node's local clock, real or virtual, and the clock
 *               readings of a loop turn;
 *   resolver.c  addresses, peers configured by name, their lookups;
 *   links.c     TCP connections and the pump that carries out what the
 *               node asks for;
 *   timesock.c  the UDP time socket with kernel timestamps;
 *   uv.c        open, close and the public calls.
 * Every handle the binding opens is counted in `handles`; close frees the
 * binding when the count falls to 0.
 */
#ifndef P2PC_UV_INT_H
#define P2PC_UV_INT_H

#include <p2pclock/uv.h>

#include "node.h"

#include <stdarg.h>
#include <sys/socket.h>

#define P2PC_UV_READ_CHUNK (64 * 1024)
/* The time socket: datagrams read per readable event; larger are cut. */
#define P2PC_UV_TIME_BUF 2048
/* Datagrams whose kernel transmit stamp we still wait for. */
#define P2PC_UV_TXMAP_LEN 64

typedef struct p2pc_uv_conn p2pc_uv_conn;

/* The virtual clock: local = real + offset_ns + drift * (real - base_ns),
 * real being CLOCK_REALTIME. */
typedef struct p2pc_uv_vclock {
  bool on;
  int64_t offset_ns;
  double drift_ppm;
  int64_t base_ns;
} p2pc_uv_vclock;

typedef enum p2pc_uv_ts_mode {
  P2PC_UV_TSM_USER,       /* user-space clock readings only */
  P2PC_UV_TSM_KERNEL_RX,  /* SO_TIMESTAMPNS: kernel receive stamps */
  P2PC_UV_TSM_KERNEL_RXTX /* SO_TIMESTAMPING: kernel receive and transmit */
} p2pc_uv_ts_mode;

/* The time socket (fd -1 if none). */
typedef struct p2pc_uv_timesock {
  int fd;
  int family;
  uint16_t port;
  p2pc_uv_ts_mode mode;
  uv_poll_t poll;
  bool poll_init;
  uv_timer_t retry;   /* re-arms the poll after a persistent error */
  unsigned idle_errs; /* error wake-ups in a row that found nothing */
  uint32_t tx_key;    /* the kernel's OPT_ID key of the next send */
  struct {
    uint32_t key, token; /* token 0: free */
  } txmap[P2PC_UV_TXMAP_LEN];
  uint32_t txmap_next;
  uint64_t rx_kernel, rx_user, tx_kernel, tx_sent, tx_timed, tx_errors;
  uint64_t poll_errors; /* POLLERR wake-ups (late stamps, socket errors) */
  uint8_t buf[P2PC_UV_TIME_BUF];
} p2pc_uv_timesock;

/* A peer configured by host name: the node knows it by a stand-in
 * address, key, and every dial of it goes through the resolver. */
typedef struct p2pc_uv_named {
  char host[P2PC_UV_HOST_MAX + 1];
  uint16_t port;
  char id[P2PC_NODE_ID_MAX + 1]; /* configured, or learned; "" if neither */
  p2pc_addr key;                 /* what the node dials it as, at first */
  p2pc_addr first;               /* the last lookup's first address */
  p2pc_addr last;                /* the address last dialed (family 0: none) */
  unsigned pick;                 /* which address of several to dial next */
  bool failing;                  /* the last lookup failed (logged) */
} p2pc_uv_named;

typedef struct p2pc_uv_lookup p2pc_uv_lookup;

struct p2pc_uv {
  uv_loop_t *loop;
  p2pc_event_fn on_event;
  void *ud;
  p2pc_logger logger;
  void (*before_output)(void *ud); /* settings.before_output */
  void *before_output_ud;
  bool allow;         /* the settings have allow (V3) */
  bool secure;        /* secure links (settings V2 with secure.on) */
  unsigned ring_more; /* settings V3: secure_ring.n, checked at open */
  /* settings V4: the NTP keys, borrowed during open only (NULL after) */
  const p2pc_ntp_key *ntp_keys;
  uint32_t ntp_nkeys;
  const p2pc_allocator *alloc;
  char id[P2PC_NODE_ID_MAX + 1];
  char listen_host[P2PC_UV_HOST_MAX + 1];
  p2pc_node *node;
  uv_tcp_t listener;
  uv_timer_t timer;   /* the node's next deadline */
  uv_timer_t grace;   /* close: the last frames' time to leave */
  uv_prepare_t flush; /* pumps before the loop waits, if anything is due */
  unsigned handles;   /* open handles (conns included) */
  bool closing;       /* p2pc_uv_close was called */
  bool dirty;         /* something may wait to be carried out */
  bool in_pump;
  void (*on_closed)(void *ud);
  void *closed_ud;
  bool quiet;           /* the grace period is over: the node is quiet */
  p2pc_uv_conn *all;    /* every connection, linked or not */
  p2pc_uv_conn **conns; /* by link id */
  uint32_t nconns;
  char *readbuf;
  uint16_t port;
  p2pc_now now;
  int64_t now_real; /* the CLOCK_REALTIME reading now.local_ns came from */
  bool now_valid;
  p2pc_uv_vclock vc;
  p2pc_uv_timesock ts;
  p2pc_uv_named *named;
  uint32_t nnamed;
  p2pc_uv_lookup *lookups;
};

/* uv.c */
void p2pc_uv__log(const p2pc_uv *u, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *p2pc_uv__alloc(const p2pc_uv *u, size_t n); /* zeroed */
void p2pc_uv__free(const p2pc_uv *u, void *p);
/* A handle of the binding closed: frees the binding after the last. */
void p2pc_uv__handle_closed(p2pc_uv *u);
void p2pc_uv__close_handle(p2pc_uv *u, uv_handle_t *h);

/* vclock.c */
int64_t p2pc_uv__real_now(void);
int64_t p2pc_uv__ns_of_timespec(const struct timespec *ts);
void p2pc_uv__vclock_init(p2pc_uv_vclock *vc, bool on, double offset_s,
                          double drift_ppm);
int64_t p2pc_uv__local_of_real(const p2pc_uv_vclock *vc, int64_t real_ns);
/* The clocks are read once per loop turn: the first time a callback needs
 * them; the pump ends the turn (curl's lesson: one "now" per turn). */
p2pc_now p2pc_uv__now(p2pc_uv *u);
int p2pc_uv__vclock_adjust(p2pc_uv_vclock *vc, bool step, double step_s,
                           bool drift, double drift_ppm);

/* resolver.c */
int p2pc_uv__parse_addr(const char *host, uint16_t port, p2pc_addr *wa,
                        struct sockaddr_storage *ss);
bool p2pc_uv__addr_eq(const p2pc_addr *x, const p2pc_addr *y);
void p2pc_uv__to_sockaddr(const p2pc_addr *wa, struct sockaddr_storage *ss);
/* The listen host by name, once at open (synchronously: nothing runs on
 * the binding yet). Returns 0 or a negative error, after an ERROR line. */
int p2pc_uv__resolve_listen(p2pc_uv *u, const char *host, uint16_t port,
                            p2pc_addr *wa, struct sockaddr_storage *ss);
/* Peer i of the settings: its address for the node (a literal's own, or
 * a stand-in for a name, which it registers). */
void p2pc_uv__add_peer(p2pc_uv *u, const p2pc_uv_peer *p, p2pc_addr *addr);
/* An address as logs and the control socket show it; a named peer's
 * stand-in shows as its name. */
void p2pc_uv__format_addr(const p2pc_uv *u, const p2pc_addr *a, char *s,
                          size_t cap);
/* Carries out a DIAL: at once for an address, after a lookup for a name. */
void p2pc_uv__dial(p2pc_uv *u, const p2pc_action *a);
/* Cancels the lookups under way (they free themselves when they end). */
void p2pc_uv__cancel_lookups(p2pc_uv *u);

/* links.c */
/* Opens the connection a DIAL asked for, to `to`; seed is 1 + the named
 * peer dialed, or 0. */
void p2pc_uv__connect(p2pc_uv *u, const p2pc_action *a,
                      const struct sockaddr_storage *to, uint32_t seed);
void p2pc_uv__on_connection(uv_stream_t *server, int status);
/* Carries out what the node asked for: dials, closes, every link's output,
 * the time socket's datagrams; then re-arms the deadline timer. */
void p2pc_uv__pump(p2pc_uv *u);
/* Closes every connection (close: after the grace period). */
void p2pc_uv__close_conns(p2pc_uv *u);

/* timesock.c */
/* Opens the time socket on host:port. Returns 0 or -errno. */
int p2pc_uv__timesock_open(p2pc_uv *u, const p2pc_addr *host, uint16_t port,
                           p2pc_uv_timestamping want);
void p2pc_uv__timesock_flush(p2pc_uv *u);
void p2pc_uv__timesock_close(p2pc_uv *u);
const char *p2pc_uv__timesock_mode_name(const p2pc_uv *u);
const char *p2pc_uv__timesock_mode_how(const p2pc_uv *u);

#endif /* P2PC_UV_INT_H */
