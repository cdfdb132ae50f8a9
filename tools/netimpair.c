/*
 * netimpair: an impaired link between a QEMU guest and a TAP device, in
 * user space (these machines' kernels have no sch_netem).
 *
 *   netimpair TAP LOCAL_PORT QEMU_PORT SEED LOSS REORDER DUP CORRUPT [DELAY_MS]
 *
 * QEMU runs with -netdev dgram: it sends each frame the guest transmits as
 * one UDP datagram from 127.0.0.1:QEMU_PORT to 127.0.0.1:LOCAL_PORT, and
 * takes frames for the guest the same way back. This program relays those
 * datagrams to and from the TAP device TAP (which must exist: tools/tapns
 * makes one), and on the way, in both directions, independently:
 *   LOSS     per mille of frames dropped
 *   REORDER  per mille held back DELAY_MS (default 10) while later ones pass
 *   DUP      per mille sent twice
 *   CORRUPT  per mille with one bit flipped past the Ethernet header
 *            (checksums must catch it: IPv4's, TCP's)
 * from a seeded generator (xorshift64*), so a run is repeatable up to the
 * timing of the two ends. SIGTERM ends it; it prints what it did to each
 * direction on stderr first.
 *
 * Hostile input: a datagram that is not a plausible frame (under 14 bytes,
 * over 1514) is dropped and counted; nothing it reads is trusted further.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MIN 14
#define FRAME_MAX 1514
#define HELD_MAX 4096 /* frames held back at once; more are sent at once */

enum { TO_TAP, TO_GUEST };

struct held {
	uint64_t at_ns;
	int dir;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

static struct held held[HELD_MAX];
static int nheld;
static uint64_t rng;
static unsigned loss, reorder, duplicate, corrupt;
static uint64_t delay_ns = 10000000;
static int tapfd, udpfd;
static struct sockaddr_in qemu_addr;
static volatile sig_atomic_t stop;
static struct {
	unsigned long frames, dropped, reordered, duplicated, corrupted, bad;
} count[2];

static uint64_t next_rand(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static bool chance(unsigned per_mille)
{
	return next_rand() % 1000 < per_mille;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void emit(int dir, const uint8_t *f, size_t len)
{
	ssize_t r;
	if (dir == TO_TAP)
		r = write(tapfd, f, len);
	else
		r = sendto(udpfd, f, len, 0, (const struct sockaddr *)&qemu_addr,
			   sizeof(qemu_addr));
	(void)r; /* a full queue is one more loss */
}

/* One frame from one side: impaired, then sent on or held back. */
static void relay(int dir, uint8_t *f, size_t len)
{
	count[dir].frames++;
	if (len < FRAME_MIN || len > FRAME_MAX) {
		count[dir].bad++;
		return;
	}
	if (chance(loss)) {
		count[dir].dropped++;
		return;
	}
	if (len > FRAME_MIN && chance(corrupt)) {
		size_t at = FRAME_MIN + next_rand() % (len - FRAME_MIN);
		f[at] ^= (uint8_t)(1u << (next_rand() % 8));
		count[dir].corrupted++;
	}
	int copies = chance(duplicate) ? 2 : 1;
	if (copies == 2)
		count[dir].duplicated++;
	for (int k = 0; k < copies; k++) {
		if (nheld < HELD_MAX && chance(reorder)) {
			struct held *h = &held[nheld++];
			h->at_ns = now_ns() + delay_ns;
			h->dir = dir;
			h->len = (uint16_t)len;
			memcpy(h->data, f, len);
			count[dir].reordered++;
		} else {
			emit(dir, f, len);
		}
	}
}

/* Send the held frames whose time has come; ms until the next, or -1. */
static int release(void)
{
	uint64_t now = now_ns(), next = UINT64_MAX;
	for (int i = 0; i < nheld;) {
		if (held[i].at_ns <= now) {
			emit(held[i].dir, held[i].data, held[i].len);
			held[i] = held[--nheld];
			continue;
		}
		if (held[i].at_ns < next)
			next = held[i].at_ns;
		i++;
	}
	return next == UINT64_MAX ? -1 : (int)((next - now) / 1000000 + 1);
}

static int open_tap(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 9) {
		fprintf(stderr, "usage: netimpair TAP LOCAL_PORT QEMU_PORT SEED LOSS REORDER DUP "
				"CORRUPT [DELAY_MS]\n");
		return 2;
	}
	rng = strtoull(argv[4], NULL, 0) * 0x9E3779B97F4A7C15ULL + 1;
	loss = (unsigned)atoi(argv[5]);
	reorder = (unsigned)atoi(argv[6]);
	duplicate = (unsigned)atoi(argv[7]);
	corrupt = (unsigned)atoi(argv[8]);
	if (argc > 9)
		delay_ns = strtoull(argv[9], NULL, 0) * 1000000ULL;
	if (loss > 1000 || reorder > 1000 || duplicate > 1000 || corrupt > 1000) {
		fprintf(stderr, "netimpair: rates are per mille (0..1000)\n");
		return 2;
	}
	tapfd = open_tap(argv[1]);
	if (tapfd < 0) {
		fprintf(stderr, "netimpair: cannot attach to TAP %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	udpfd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in me = { 0 };
	me.sin_family = AF_INET;
	me.sin_port = htons((uint16_t)atoi(argv[2]));
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (udpfd < 0 || bind(udpfd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		fprintf(stderr, "netimpair: cannot bind port %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	int big = 4 << 20;
	setsockopt(udpfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(udpfd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	qemu_addr = me;
	qemu_addr.sin_port = htons((uint16_t)atoi(argv[3]));
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	fprintf(stderr,
		"netimpair: relaying %s <-> udp %s/%s, loss %u reorder %u dup %u corrupt "
		"%u per mille, delay %llu ms, seed %s\n",
		argv[1], argv[2], argv[3], loss, reorder, duplicate, corrupt,
		(unsigned long long)(delay_ns / 1000000), argv[4]);
	static uint8_t f[65536];
	while (!stop) {
		struct pollfd p[2] = { { udpfd, POLLIN, 0 }, { tapfd, POLLIN, 0 } };
		int r = poll(p, 2, release());
		if (r < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			ssize_t n = recv(udpfd, f, sizeof(f), 0);
			if (n >= 0)
				relay(TO_TAP, f, (size_t)n);
		}
		if (p[1].revents & POLLIN) {
			ssize_t n = read(tapfd, f, sizeof(f));
			if (n >= 0)
				relay(TO_GUEST, f, (size_t)n);
		}
	}
	const char *names[2] = { "guest->tap", "tap->guest" };
	for (int d = 0; d < 2; d++)
		fprintf(stderr,
			"netimpair: %s: %lu frames, %lu dropped, %lu reordered, %lu duplicated, "
			"%lu corrupted, %lu malformed\n",
			names[d], count[d].frames, count[d].dropped, count[d].reordered,
			count[d].duplicated, count[d].corrupted, count[d].bad);
	return 0;
}
