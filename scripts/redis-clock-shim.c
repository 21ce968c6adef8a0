/*
 * redis-clock-shim: skews the wall clock of the processes of the local Redis
 * image, so that a chaos run can step or drift one node's clock (Redis
 * expires keys by its wall clock). scripts/build-redis-image.sh compiles it
 * and lists it in the image's /etc/ld.so.preload.
 *
 * The skew comes from the file /tmp/quorumlock-clock inside the container:
 * one line of three decimal integers and a newline,
 *
 *     OFFSET_NS RATE_PPM SINCE_NS
 *
 * and the process then reads, as the wall clock,
 *
 *     real + OFFSET_NS + (real - SINCE_NS) * RATE_PPM / 1e6   (rate only after SINCE_NS)
 *
 * where real and SINCE_NS are Unix times in nanoseconds. With no file, or
 * "0 0 0", the clock is the real one. The file is read again at most every
 * 20ms of real time; a line that is not exactly three integers and a newline
 * (a file half written) leaves the previous skew in place. Only the wall
 * clock is skewed: clock_gettime of CLOCK_REALTIME and CLOCK_REALTIME_COARSE,
 * gettimeofday and time. Every other clock passes through.
 *
 * Debian's libfaketime deadlocks redis-server at start: it calls malloc and
 * dlsym from inside clock calls made while jemalloc initialises. This shim
 * calls neither: it reads the real clock and the file with raw system calls
 * and keeps its state in static memory, guarded by a sequence counter.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SKEW_FILE "/tmp/quorumlock-clock"
#define REREAD_NS 20000000LL /* 20ms */

/* The skew in force, published under seq (odd while being written). */
static struct {
	int64_t offset, rate, since;
} skew;
static unsigned seq;
static int reading;       /* 1 while one thread reads the file */
static int64_t next_read; /* real time after which the file is read again */

static int64_t real_ns(clockid_t id)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* parse reads exactly three integers and a newline from buf. */
static int parse(const char *buf, long n, int64_t out[3])
{
	long i = 0;
	for (int f = 0; f < 3; f++) {
		int neg = 0, digits = 0;
		int64_t v = 0;
		if (f > 0) {
			if (i >= n || buf[i] != ' ')
				return 0;
			i++;
		}
		if (i < n && buf[i] == '-') {
			neg = 1;
			i++;
		}
		while (i < n && buf[i] >= '0' && buf[i] <= '9' && digits < 19) {
			v = v * 10 + (buf[i] - '0');
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
		out[f] = neg ? -v : v;
	}
	return i == n - 1 && buf[i] == '\n';
}

/* reread loads the file if it is time to; one thread at a time. */
static void reread(int64_t now)
{
	if (now < __atomic_load_n(&next_read, __ATOMIC_RELAXED) &&
	    now > __atomic_load_n(&next_read, __ATOMIC_RELAXED) - 2 * REREAD_NS)
		return;
	if (__atomic_exchange_n(&reading, 1, __ATOMIC_ACQUIRE))
		return;
	int64_t v[3] = {0, 0, 0};
	int ok = 1; /* no file: no skew */
	long fd = syscall(SYS_openat, AT_FDCWD, SKEW_FILE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[128];
		long n = syscall(SYS_read, fd, buf, sizeof buf);
		syscall(SYS_close, fd);
		ok = n > 0 && parse(buf, n, v);
	}
	if (ok) {
		__atomic_add_fetch(&seq, 1, __ATOMIC_ACQ_REL);
		__atomic_store_n(&skew.offset, v[0], __ATOMIC_RELAXED);
		__atomic_store_n(&skew.rate, v[1], __ATOMIC_RELAXED);
		__atomic_store_n(&skew.since, v[2], __ATOMIC_RELAXED);
		__atomic_add_fetch(&seq, 1, __ATOMIC_ACQ_REL);
	}
	__atomic_store_n(&next_read, now + REREAD_NS, __ATOMIC_RELAXED);
	__atomic_store_n(&reading, 0, __ATOMIC_RELEASE);
}

/* skewed returns the real wall-clock time now, in ns, as the process sees it. */
static int64_t skewed(int64_t now)
{
	int64_t offset, rate, since;
	unsigned s;
	reread(now);
	do {
		s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE);
		offset = __atomic_load_n(&skew.offset, __ATOMIC_RELAXED);
		rate = __atomic_load_n(&skew.rate, __ATOMIC_RELAXED);
		since = __atomic_load_n(&skew.since, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((s & 1) || s != __atomic_load_n(&seq, __ATOMIC_RELAXED));
	__int128 t = (__int128)now + offset;
	if (rate != 0 && now > since)
		t += (__int128)(now - since) * rate / 1000000;
	return (int64_t)t;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (syscall(SYS_clock_gettime, id, ts) != 0)
		return -1;
	if (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE) {
		int64_t t = skewed((int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec);
		ts->tv_sec = t / 1000000000LL;
		ts->tv_nsec = t % 1000000000LL;
		if (ts->tv_nsec < 0) {
			ts->tv_sec--;
			ts->tv_nsec += 1000000000LL;
		}
	}
	return 0;
}

/* glibc declares tv nonnull, but the system call accepts NULL: so does this. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	int64_t now = real_ns(CLOCK_REALTIME);
	if (tz != 0) {
		struct timezone *z = tz;
		z->tz_minuteswest = 0;
		z->tz_dsttime = 0;
	}
	if (tv != 0) {
		int64_t t = skewed(now);
		tv->tv_sec = t / 1000000000LL;
		tv->tv_usec = (t % 1000000000LL) / 1000;
		if (tv->tv_usec < 0) {
			tv->tv_sec--;
			tv->tv_usec += 1000000;
		}
	}
	return 0;
}

time_t time(time_t *out)
{
	int64_t t = skewed(real_ns(CLOCK_REALTIME));
	time_t s = (time_t)(t / 1000000000LL - (t % 1000000000LL < 0));
	if (out != 0)
		*out = s;
	return s;
}
