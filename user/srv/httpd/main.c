/*
 * httpd [flags]: the web server on Exo, its core (http.h) driven by the
 * appliance library OS (lib/appl/appl.h): one event loop, TCP straight
 * from lib/net's core, memory from lib/appl's slab allocator.
 *
 * Cheetah's techniques, each behind the core's flag (doc/httpd.md):
 *  - merged file cache and retransmission pool (--cache, with --csum): a
 *    response body that comes from a cache object is queued on the
 *    connection by reference (tcp_send_zc): segments are built from the
 *    cache pages and retransmitted from them, never copied into a socket
 *    buffer. The object is held (http_obj_hold) while any segment may
 *    still need it, and let go when the stack's last reference is
 *    acknowledged (the tcp_zc release hook).
 *  - precomputed checksums (--csum): the cache computes the sum of every
 *    TCP_ZC_CHUNK bytes when it fills an object (the chunk size is forced
 *    to the stack's), and the stack adds those sums to the header's instead
 *    of reading the payload. Without --csum bodies are copied (tcp_send).
 *  - packet merging (--merge): the connection is corked (TCP_OPT_CORK)
 *    while a response's head, body and FIN are queued, so they leave in
 *    full segments, the FIN on the last one, with the ACK of the request
 *    riding on the first.
 *
 * Files: with --disk, the document root (--root, /www) on the disk's file
 * system (lib/fs through XN, mounted by lib/appl/disk.c); --format lays
 * XN and an empty file system on a disk without them (erasing it; only
 * the first env may), and --seed copies the site this program carries
 * into the root when the root is not there (a new disk's first boot).
 * Without --disk, the site carried in the image (lib/appl/romfs.h, built
 * from user/srv/httpd/www by tools/mkromfs). These three flags are the
 * Exo driver's; the rest are the core's. For tests of large bodies,
 * /gen/N.bin is a generated
 * file of N bytes (at most GEN_MAX): byte i is byte i % 8 of
 * splitmix64(i / 8), which a client can recompute; nothing else is under
 * /gen. There is no wall clock either: HTTP dates count from the newest
 * file's time, plus the time since boot. The access log (--log FILE)
 * goes to FILE on the disk with --disk (appended; lines collect in memory
 * and reach the file, synced, at each LOG_MS tick or when LOG_BUF fills,
 * so a kill or power cut loses at most the last tick's lines), else to
 * the console.
 */
#include <inc/net.h>
#include <lib/appl/appl.h>
#include <lib/appl/romfs.h>
#include <lib/base/libos.h>
#include <lib/fs/format.h> /* S_IFMT */
#include <lib/fs/fs.h>
#include <lib/net/tcpnet.h>
#include <user/srv/httpd/main.h>

#define IOV_PIECES 8
#define STEP_ROUNDS 32               /* reads and writes per connection per turn */
#define SNDBUF (64 * 1024)           /* in flight at most: a burst fits the 64 transmit buffers */
#define GEN_PREFIX "/gen/"
#define GEN_MAX ((uint64_t)64 << 20)
#define GEN_MTIME 1700000000
#define ZC_BUCKETS 1024
#define LOG_BUF (64 * 1024)
#define LOG_MS 1000

struct hconn {
	struct appl_conn *ac;
	struct http_conn *c;
	bool fin_sent, peer_eof;
};

/* A cache object as the TCP stack sees it: one per object while any
 * connection's queue refers to it. */
struct zobj {
	struct tcp_zc z_zc; /* first: the release hook gets this pointer */
	struct http_obj *z_obj;
	struct zobj *z_next;
};

static struct http_server *srv;
static struct http_config cfg;
static struct fs *disk_fs; /* --disk: files from here, under cfg.root */
static struct zobj *zc_table[ZC_BUCKETS];
static int64_t clock_base; /* seconds: the newest file's time */
static bool log_console;
static struct fs_file *log_file; /* --disk --log: the access log */
static char *log_buf;            /* LOG_BUF bytes of lines not yet written */
static size_t log_len;
static uint64_t log_lost; /* lines the disk refused (reported at exit) */
static struct {
	uint64_t zc_sends, zc_bytes, copy_bytes, refused;
	uint64_t in_cycles, out_cycles; /* TSC in tcp_recv + the core, and in write_out */
} st;

/* --- hooks --- */
static uint64_t gen_size(const char *path)
{
	if (strncmp(path, GEN_PREFIX, strlen(GEN_PREFIX)) != 0)
		return UINT64_MAX;
	const char *s = path + strlen(GEN_PREFIX);
	if (!isdigit((unsigned char)*s))
		return UINT64_MAX;
	char *end;
	unsigned long n = strtoul(s, &end, 10);
	if (strcmp(end, ".bin") != 0 || n > GEN_MAX || end - s > 9)
		return UINT64_MAX;
	return n;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* cfg.root + path on the disk, or false if it does not fit. */
static bool disk_path(const char *path, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", cfg.root, strcmp(path, "/") ? path : "");
	return n > 0 && (size_t)n < size;
}

static int fs_code(int err)
{
	return err == -ENOENT || err == -ENOTDIR || err == -ENAMETOOLONG ? -HTTP_ENOENT
	       : err == -EACCES || err == -ELOOP                         ? -HTTP_EACCES
									 : -HTTP_EIO;
}

static int exo_stat(void *ctx UNUSED, const char *path, struct http_stat *hs)
{
	uint64_t n = gen_size(path);
	if (n != UINT64_MAX) {
		hs->hs_size = n;
		hs->hs_mtime = GEN_MTIME;
		hs->hs_is_dir = false;
		return 0;
	}
	if (disk_fs) {
		char p[HTTP_PATH_MAX + 256];
		struct fs_stat fst;
		if (!disk_path(path, p, sizeof(p)))
			return -HTTP_ENOENT;
		struct disk_mark before = exo_disk_mark();
		int r = fs_lstat(disk_fs, p, &fst);
		exo_disk_waited(before);
		if (r < 0)
			return fs_code(r);
		uint32_t type = fst.st_mode & S_IFMT;
		if (type != S_IFDIR && type != S_IFREG)
			return -HTTP_EACCES; /* a link could lead out of the root */
		hs->hs_size = fst.st_size;
		hs->hs_mtime = (int64_t)(fst.st_mtime_ns / 1000000000ULL);
		hs->hs_is_dir = type == S_IFDIR;
		return 0;
	}
	if (romfs_stat(path, &hs->hs_size, &hs->hs_mtime, &hs->hs_is_dir) < 0)
		return -HTTP_ENOENT;
	return 0;
}

static long exo_read(void *ctx UNUSED, const char *path, uint64_t off, void *buf, size_t len)
{
	uint64_t n = gen_size(path);
	if (n != UINT64_MAX) {
		uint8_t *out = buf;
		size_t got = off < n ? (size_t)MIN((uint64_t)len, n - off) : 0;
		for (size_t i = 0; i < got; i++) {
			uint64_t at = off + i;
			out[i] = (uint8_t)(splitmix64(at / 8) >> (8 * (at % 8)));
		}
		return (long)got;
	}
	if (disk_fs) {
		char p[HTTP_PATH_MAX + 256];
		struct fs_file *f;
		if (!disk_path(path, p, sizeof(p)))
			return -HTTP_ENOENT;
		struct disk_mark before = exo_disk_mark();
		int r = fs_open(disk_fs, p, FS_O_RDONLY | FS_O_NOFOLLOW, 0, &f);
		if (r < 0) {
			exo_disk_waited(before);
			return fs_code(r);
		}
		long got = fs_pread(disk_fs, f, buf, len, off);
		fs_close(disk_fs, f);
		exo_disk_waited(before);
		return got < 0 ? fs_code((int)got) : got;
	}
	uint64_t size;
	const uint8_t *data = romfs_data(path, &size);
	if (!data)
		return -HTTP_ENOENT;
	size_t got = off < size ? (size_t)MIN((uint64_t)len, size - off) : 0;
	memcpy(buf, data + off, got);
	return (long)got;
}

static int exo_list(void *ctx UNUSED, const char *path, http_list_fn *each, void *arg)
{
	if (!disk_fs)
		return romfs_list(path, each, arg) < 0 ? -HTTP_ENOENT : 0;
	char p[HTTP_PATH_MAX + 256];
	struct fs_dir d;
	struct fs_dirent e;
	if (!disk_path(path, p, sizeof(p)))
		return -HTTP_ENOENT;
	int r = fs_opendir(disk_fs, p, &d);
	if (r < 0)
		return fs_code(r);
	while ((r = fs_readdir(disk_fs, &d, &e)) > 0) {
		if (!strcmp(e.d_name, ".") || !strcmp(e.d_name, ".."))
			continue;
		if (e.d_type == FS_DT_DIR || e.d_type == FS_DT_REG)
			each(arg, e.d_name, e.d_type == FS_DT_DIR);
	}
	return r < 0 ? fs_code(r) : 0;
}

static int64_t exo_now_ms(void *ctx UNUSED)
{
	return (int64_t)appl_now_ms();
}

static int64_t exo_wall_s(void *ctx UNUSED)
{
	return clock_base + (int64_t)(appl_now_ms() / 1000);
}

static void *exo_alloc(void *ctx UNUSED, size_t n)
{
	return appl_alloc(n);
}

static void exo_free(void *ctx UNUSED, void *p)
{
	appl_free(p);
}

/* Write the collected lines to the log file and sync it: false (and the
 * lines counted lost) if the file system refused. */
static bool log_flush(void)
{
	size_t done = 0;
	while (done < log_len) {
		long w = fs_write(disk_fs, log_file, log_buf + done, log_len - done);
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	bool ok = done == log_len && fs_fsync(disk_fs, log_file) == 0;
	if (done < log_len) {
		for (size_t i = done; i < log_len; i++)
			log_lost += log_buf[i] == '\n';
	}
	log_len = 0;
	return ok;
}

static void log_tick(void *arg UNUSED)
{
	if (log_len)
		log_flush();
}

static void exo_log(void *ctx UNUSED, const char *line, size_t len)
{
	if (!log_file) {
		if (log_console)
			printf("%.*s", (int)len, line);
		return;
	}
	if (log_len + len > LOG_BUF)
		log_flush();
	if (len > LOG_BUF) { /* the core bounds a line far below this */
		log_lost++;
		return;
	}
	memcpy(log_buf + log_len, line, len);
	log_len += len;
}

/* --disk --log: open (or make) the access log for appending. */
static int log_open(void)
{
	log_buf = appl_alloc(LOG_BUF);
	if (!log_buf)
		return -ENOMEM;
	int r = fs_open(disk_fs, cfg.log_path, FS_O_WRONLY | FS_O_CREAT | FS_O_APPEND, 0644,
			&log_file);
	if (r < 0)
		return r;
	appl_every(LOG_MS, log_tick, NULL);
	return 0;
}

/* --- cache objects as zero-copy send objects --- */
static unsigned zc_bucket(const struct http_obj *o)
{
	return (unsigned)(((uintptr_t)o >> 4) * 0x9e3779b97f4a7c15ULL >> 54) & (ZC_BUCKETS - 1);
}

static void zc_release(struct tcp_zc *zc)
{
	struct zobj *z = (struct zobj *)zc;
	struct zobj **pp = &zc_table[zc_bucket(z->z_obj)];
	while (*pp != z)
		pp = &(*pp)->z_next;
	*pp = z->z_next;
	http_obj_release(z->z_obj);
	appl_free(z);
}

/* The send object for o, made (and o held) on first use; NULL without
 * memory or without the precomputed sums the stack needs. */
static struct zobj *zc_of(struct http_obj *o)
{
	if (!o->o_sums || o->o_chunk != TCP_ZC_CHUNK)
		return NULL;
	unsigned b = zc_bucket(o);
	for (struct zobj *z = zc_table[b]; z; z = z->z_next)
		if (z->z_obj == o)
			return z;
	struct zobj *z = appl_alloc(sizeof(*z));
	if (!z)
		return NULL;
	z->z_zc = (struct tcp_zc){ o->o_data, o->o_size, o->o_sums, 0, zc_release };
	z->z_obj = o;
	http_obj_hold(o);
	z->z_next = zc_table[b];
	zc_table[b] = z;
	return z;
}

/* Queue one piece of output: how many bytes TCP took, or -E_*. */
static long send_piece(struct tcp_conn *tc, const struct http_iov *v)
{
	struct zobj *z = v->obj && cfg.csum ? zc_of(v->obj) : NULL;
	if (!z) {
		long r = tcp_send(tc, v->base, v->len);
		if (r > 0)
			st.copy_bytes += (uint64_t)r;
		return r;
	}
	size_t take = MIN(v->len, tcp_send_room(tc));
	long r = take ? tcp_send_zc(tc, &z->z_zc, v->off, take) : -E_AGAIN;
	if (z->z_zc.zc_refs == 0)
		zc_release(&z->z_zc); /* the stack took no reference after all */
	if (r > 0) {
		st.zc_sends++;
		st.zc_bytes += (uint64_t)r;
	}
	return r;
}

/* --- connections --- */
static void drop(struct hconn *h, bool reset)
{
	http_conn_free(h->c);
	if (reset)
		appl_abort(h->ac);
	else
		appl_close(h->ac);
	appl_free(h);
}

/* Hand TCP what the core has to send; false if the connection broke. */
static bool write_out(struct hconn *h, struct tcp_conn *tc, bool *progress)
{
	struct http_iov iov[IOV_PIECES];
	bool fin;
	int n = http_conn_output(h->c, iov, IOV_PIECES, &fin);
	size_t total = 0, sent = 0;
	if (cfg.merge)
		tcp_setopt(tc, TCP_OPT_CORK, 1);
	for (int i = 0; i < n; i++) {
		total += iov[i].len;
		long r = send_piece(tc, &iov[i]);
		if (r == -E_AGAIN)
			break;
		if (r < 0) {
			tcp_setopt(tc, TCP_OPT_CORK, 0);
			return false;
		}
		sent += (size_t)r;
		if ((size_t)r < iov[i].len)
			break;
	}
	if (sent) {
		http_conn_sent(h->c, sent);
		*progress = true;
	}
	if (fin && sent == total && !h->fin_sent) {
		tcp_shutdown(tc); /* the FIN rides on the last segment */
		h->fin_sent = true;
	}
	if (cfg.merge)
		tcp_setopt(tc, TCP_OPT_CORK, 0);
	return true;
}

static void step(struct hconn *h)
{
	struct tcp_conn *tc = appl_conn_tcp(h->ac);
	if (tcp_events(tc) & TCP_EV_ERR) {
		drop(h, true);
		return;
	}
	int round;
	for (round = 0; round < STEP_ROUNDS; round++) {
		unsigned ev = http_conn_events(h->c);
		if (ev & HTTP_WANT_CLOSE) {
			drop(h, false);
			return;
		}
		bool progress = false;
		uint64_t t0 = rdtsc();
		if ((ev & HTTP_WANT_WRITE) && !write_out(h, tc, &progress)) {
			drop(h, true);
			return;
		}
		uint64_t t1 = rdtsc();
		st.out_cycles += t1 - t0;
		if ((ev & HTTP_WANT_FIN) && !h->fin_sent) {
			tcp_shutdown(tc);
			h->fin_sent = true;
		}
		if ((ev & HTTP_WANT_READ) && !h->peer_eof) {
			char *buf;
			size_t space = http_conn_recv_space(h->c, &buf);
			long r = space ? tcp_recv(tc, buf, space) : -E_AGAIN;
			if (r > 0) {
				http_conn_received(h->c, (size_t)r);
				progress = true;
			} else if (r == 0) {
				http_conn_peer_closed(h->c);
				h->peer_eof = true;
				progress = true;
			} else if (r != -E_AGAIN) {
				drop(h, true);
				return;
			}
			st.in_cycles += rdtsc() - t1;
		}
		if (!progress)
			break;
	}
	unsigned ev = http_conn_events(h->c);
	if (ev & HTTP_WANT_CLOSE) {
		drop(h, false);
		return;
	}
	if (round == STEP_ROUNDS)
		appl_kick(h->ac); /* more to do: after the others have had a turn */
	int64_t at = http_conn_deadline(h->c);
	appl_conn_set_deadline(h->ac, at == INT64_MAX ? 0 : (uint64_t)MAX(at, (int64_t)1));
}

static bool on_accept(struct appl_conn *ac, void *arg UNUSED)
{
	struct hconn *h = appl_calloc(sizeof(*h));
	struct http_conn *c = h ? http_accept(srv, appl_conn_peer(ac)) : NULL;
	if (!c) {
		appl_free(h);
		st.refused++;
		return false;
	}
	h->ac = ac;
	h->c = c;
	struct tcp_conn *tc = appl_conn_tcp(ac);
	tcp_setopt(tc, TCP_OPT_NODELAY, 1);
	tcp_setopt(tc, TCP_OPT_SNDBUF, SNDBUF);
	appl_conn_set_user(ac, h);
	return true;
}

static void on_event(struct appl_conn *ac, unsigned ev UNUSED)
{
	step(appl_conn_user(ac));
}

static void on_timer(struct appl_conn *ac)
{
	struct hconn *h = appl_conn_user(ac);
	http_conn_timer(h->c);
	step(h);
}

static const struct appl_ops ops = { on_accept, on_event, on_timer };

/* Every STATS_MS while requests come: the counters that say where time
 * goes (segments, retransmissions, transmit failures, frames lost to a
 * full receive ring), on the console. */
#define STATS_MS 10000
static void stats_tick(void *arg UNUSED)
{
	static uint64_t last;
	const struct http_stats *s = http_server_stats(srv);
	if (s->requests == last)
		return;
	last = s->requests;
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	struct net_info ni;
	if (sys_net_info(&ni) < 0)
		memset(&ni, 0, sizeof(ni));
	printf("httpd: stats: %lu requests, %lu open; tcp out %lu, retransmitted %lu "
	       "(timeouts %lu, fast %lu), output failures %lu; receive ring full %lu\n",
	       (unsigned long)s->requests, (unsigned long)s->conns_open,
	       (unsigned long)ts->out_segs, (unsigned long)ts->out_rexmit_segs,
	       (unsigned long)ts->rto_fired, (unsigned long)ts->fast_rexmits,
	       (unsigned long)ts->out_errors, (unsigned long)ni.ni_rx_full);
}

/* The driver's lines of /status: the disk's (with --disk), the network's,
 * and where a request's time goes in the guest - the kernel's turnaround
 * (a frame's arrival to the next frame sent: everything the guest does for
 * a request, struct net_info) beside httpd's own share of it. */
static size_t exo_status(void *ctx UNUSED, char *buf, size_t size)
{
	size_t n = disk_fs ? exo_disk_status(buf, size) : 0;
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	uint64_t reqs = MAX(http_server_stats(srv)->requests, (uint64_t)1);
	uint64_t mhz = MAX(ukinfo->ki_tsc_hz / 1000000, (uint64_t)1);
	struct net_info ni;
	if (sys_net_info(&ni) < 0)
		memset(&ni, 0, sizeof(ni));
	int k = snprintf(
		buf + n, size - n,
		"net: %lu segments out (%lu with data, %lu retransmitted), %lu in; %lu frames "
		"to the device (%lu cut up by it) in %lu calls\n"
		"turnaround: %lu ns mean over %lu, shortest %lu ns\n"
		"per request: %lu ns receiving and answering, %lu ns queueing the output\n",
		(unsigned long)ts->out_segs, (unsigned long)ts->out_data_segs,
		(unsigned long)ts->out_rexmit_segs, (unsigned long)ts->in_segs,
		(unsigned long)net_stats.tx_frames, (unsigned long)net_stats.tx_tso,
		(unsigned long)net_stats.sys_sends,
		(unsigned long)(ni.ni_turn_count ? ni.ni_turn_cycles * 1000 / mhz / ni.ni_turn_count
						 : 0),
		(unsigned long)ni.ni_turn_count, (unsigned long)(ni.ni_turn_min * 1000 / mhz),
		(unsigned long)(st.in_cycles * 1000 / mhz / reqs),
		(unsigned long)(st.out_cycles * 1000 / mhz / reqs));
	return n + (k < 0 ? 0 : MIN((size_t)k, size - n));
}

static void report(void)
{
	const struct http_stats *s = http_server_stats(srv);
	struct appl_loop_stats ls;
	struct appl_mem_stats ms;
	const struct tcp_stats *ts = tcp_stack_stats(tcpnet_stack());
	struct net_info ni;
	appl_loop_stats(&ls);
	appl_mem_stats(&ms);
	if (sys_net_info(&ni) < 0)
		memset(&ni, 0, sizeof(ni));
	printf("httpd: %lu connections (%lu at once at most, %lu refused), %lu requests, "
	       "%lu bytes out; cache hits %lu, misses %lu\n",
	       (unsigned long)s->conns_total, (unsigned long)ls.most_open,
	       (unsigned long)(s->conns_refused + st.refused), (unsigned long)s->requests,
	       (unsigned long)s->bytes_out, (unsigned long)s->cache_hits,
	       (unsigned long)s->cache_misses);
	printf("httpd: body bytes by reference %lu in %lu sends, copied %lu\n",
	       (unsigned long)st.zc_bytes, (unsigned long)st.zc_sends,
	       (unsigned long)st.copy_bytes);
	printf("httpd: tcp: segments in %lu, out %lu, retransmitted %lu, bad sums in %lu; "
	       "frames lost to a full ring %lu; memory %lu pages, %lu bad frees\n",
	       (unsigned long)ts->in_segs, (unsigned long)ts->out_segs,
	       (unsigned long)ts->out_rexmit_segs, (unsigned long)ts->in_bad_sum,
	       (unsigned long)ni.ni_rx_full, (unsigned long)ms.pages_owned,
	       (unsigned long)ms.bad_frees);
	if (log_lost)
		printf("httpd: %lu access-log lines the disk refused\n", (unsigned long)log_lost);
}

int main(int argc, char **argv)
{
	char err[2048];
	/* the driver's own flags, taken out before the core parses the rest */
	bool disk = false, format = false, seed = false;
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && !strcmp(argv[i], "--disk"))
			disk = true;
		else if (i > 0 && !strcmp(argv[i], "--format"))
			format = true;
		else if (i > 0 && !strcmp(argv[i], "--seed"))
			seed = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if ((format || seed) && !disk) {
		printf("httpd: --format and --seed need --disk\n");
		return 2;
	}
	http_config_default(&cfg);
	if (http_config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		printf("httpd: %s\n", err);
		return 2;
	}
	cfg.csum_chunk = TCP_ZC_CHUNK; /* the sums the stack adds up */
	log_console = cfg.log_path != NULL;
	net_offload_off = !cfg.offload;
	int r = appl_init();
	if (r < 0) {
		printf("httpd: no network: %e\n", r);
		return 2;
	}
	uint64_t size;
	bool dir;
	if (romfs_stat("/", &size, &clock_base, &dir) < 0 || clock_base < GEN_MTIME)
		clock_base = GEN_MTIME;
	if (disk) {
		r = appl_fs_mount(format, &disk_fs);
		if (r < 0) {
			printf("httpd: no file system on the disk (error %d)\n", r);
			return 1;
		}
		exo_disk_init(disk_fs, cfg.root);
		struct fs_stat rst;
		if (seed && fs_stat(disk_fs, cfg.root, &rst) == -ENOENT) {
			r = exo_seed_site();
			printf("httpd: seeded %s with %lu files: %s\n", cfg.root,
			       (unsigned long)romfs_count(), r < 0 ? "failed" : "ok");
			if (r < 0)
				return 1;
		}
		r = fs_stat(disk_fs, cfg.root, &rst);
		if (r < 0 || (rst.st_mode & S_IFMT) != S_IFDIR) {
			printf("httpd: %s is not a directory on the disk\n", cfg.root);
			return 1;
		}
		if (cfg.log_path && (r = log_open()) < 0) {
			printf("httpd: cannot open the access log %s on the disk (error %d)\n",
			       cfg.log_path, r);
			return 1;
		}
	}
	struct http_hooks hooks = {
		.ctx = NULL,
		.stat = exo_stat,
		.read = exo_read,
		.list = exo_list,
		.now_ms = exo_now_ms,
		.wall_s = exo_wall_s,
		.alloc = exo_alloc,
		.free = exo_free,
		.log = cfg.log_path ? exo_log : NULL,
	};
	hooks.status = exo_status;
	if (disk)
		exo_disk_hooks(&hooks);
	srv = http_server_new(&cfg, &hooks);
	if (!srv) {
		printf("httpd: out of memory\n");
		return 1;
	}
	struct appl_listener *l = appl_listen(cfg.port, 1024, &ops, NULL, &r);
	if (!l) {
		printf("httpd: cannot listen on port %u: error %d\n", cfg.port, r);
		return 2;
	}
	appl_every(STATS_MS, stats_tick, NULL);
	printf("httpd: serving %s %s; cache %s, csum %s, merge %s, group %s, offload %s, "
	       "%u connections\n",
	       disk ? cfg.root : "the site in the image", disk ? "from the disk" : "(no disk)",
	       cfg.cache ? "on" : "off", cfg.csum ? "on" : "off", cfg.merge ? "on" : "off",
	       cfg.group ? "on" : "off",
	       !cfg.offload                      ? "off"
	       : net_offloads & NET_OFFLOAD_TSO4 ? "on"
						 : "on (none offered)",
	       cfg.max_conns);
	printf("httpd: listening on 10.0.2.15 port %u\n", cfg.port);
	r = appl_run();
	if (log_file && log_len)
		log_flush();
	report();
	return r < 0 ? 1 : 0;
}
