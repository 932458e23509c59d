/*
 * bound.c - the bounds of interbot-bench: what OpenSSL, TLS and the file system alone do on
 * this machine, measured in the same run as the library's figures (bench.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "interbot.h"
#include "tls.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The program links no libm (the Makefile's link line is every program's): the few real
 * functions the forecasts need, to a precision far finer than the noise they work on. */
double bench_ln(double x)
{
	double y, y2, term, sum = 0;
	int e = 0;

	if (x <= 0)
		return 0;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	/* ln x = 2 atanh((x - 1) / (x + 1)), |y| < 1/3 here. */
	y = (x - 1) / (x + 1);
	y2 = y * y;
	term = y;
	for (int k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= y2;
	}
	return 2 * sum + e * 0.69314718055994530942;
}

double bench_exp(double x)
{
	double r, term = 1, sum = 1, scale = 1;
	int n = (int)(x / 0.69314718055994530942);

	r = x - n * 0.69314718055994530942;
	for (int k = 1; k < 30; k++) {
		term *= r / k;
		sum += term;
	}
	for (; n > 0; n--)
		scale *= 2;
	for (; n < 0; n++)
		scale /= 2;
	return sum * scale;
}

size_t bench_heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

size_t bench_rss_bytes(void)
{
	char line[128], *p, *end;
	unsigned long resident = 0;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	/* proc(5): size, then resident, in pages. */
	if (fgets(line, sizeof line, f) && (p = strchr(line, ' ')))
		resident = strtoul(p + 1, &end, 10);
	fclose(f);
	return page > 0 ? (size_t)resident * (size_t)page : 0;
}

double bench_verify_rate(size_t msg_len, double seconds)
{
	struct ib_identity *id = NULL;
	uint8_t sig[IB_SIG_LEN], *msg = calloc(1, msg_len ? msg_len : 1);
	double t0, t = 0;
	long n = 0;

	if (msg && !ib_identity_generate(&id) && !ib_identity_sign(id, msg, msg_len, sig)) {
		t0 = bench_now();
		do {
			for (int i = 0; i < 32; i++)
				ib_pubkey_verify(ib_identity_pubkey(id), msg, msg_len, sig, sizeof sig);
			n += 32;
			t = bench_now() - t0;
		} while (t < seconds);
	}
	ib_identity_free(id);
	free(msg);
	return t > 0 ? (double)n / t : 0;
}

int bench_publish_frame(const struct ib_identity *id, uint64_t seq, size_t value_len,
			struct ib_buf *frame)
{
	static const uint8_t value[BENCH_VALUE_MAX];
	struct ib_buf msg = { 0 };
	struct ib_msg m;
	int err;

	if (value_len > sizeof value)
		return IB_ERR_RANGE;
	memset(&m, 0, sizeof m);
	m.h.version = 1;
	m.h.type = IB_MSG_PUBLISH;
	m.h.seq = seq;
	m.u.publish = (struct ib_publish){ { (const uint8_t *)"bench/key", 9 }, seq,
					   { value, value_len } };
	err = ib_msg_encode(&msg, &m);
	if (!err)
		err = ib_frame_sign(frame, id, msg.ptr, msg.len);
	ib_buf_free(&msg);
	return err;
}

/* The AEAD of a TLS 1.3 record of len bytes: AES-256-GCM (TLS_AES_256_GCM_SHA384, what two
 * OpenSSL 3 ends negotiate), one fixed key, a nonce per record as TLS makes it. */
double bench_seal_rate(size_t len, double seconds)
{
	static const uint8_t key[32] = { 1 };
	uint8_t iv[12] = { 0 }, tag[16], *in = calloc(1, len ? len : 1), *out = malloc(len + 16);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	double t0, t = 0;
	long n = 0;
	int got;

	if (in && out && ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1) {
		t0 = bench_now();
		do {
			for (int i = 0; i < 32; i++, n++) {
				memcpy(iv + 4, &n, sizeof n);
				if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1 ||
				    EVP_EncryptUpdate(ctx, out, &got, in, (int)len) != 1 ||
				    EVP_EncryptFinal_ex(ctx, out + got, &got) != 1 ||
				    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
					goto out;
			}
			t = bench_now() - t0;
		} while (t < seconds);
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	free(in);
	free(out);
	return t > 0 ? (double)n / t : 0;
}

/* Two identities, a keyring of both and a context each: what a pair of nodes holds before
 * any link. */
struct tls_pair {
	struct ib_identity *a, *b;
	struct ib_keyring *kr;
	struct ib_tls_ctx *ca, *cb;
};

static void pair_free(struct tls_pair *p)
{
	ib_tls_ctx_free(p->ca);
	ib_tls_ctx_free(p->cb);
	ib_keyring_free(p->kr);
	ib_identity_free(p->a);
	ib_identity_free(p->b);
}

static int trust(struct ib_keyring *kr, const struct ib_identity *id)
{
	struct ib_pubkey *k = NULL;
	int err = ib_pubkey_from_raw(&k, ib_pubkey_raw(ib_identity_pubkey(id)));

	if (!err && (err = ib_keyring_add(kr, k)) != IB_OK)
		ib_pubkey_free(k);
	return err;
}

static int pair_new(struct tls_pair *p)
{
	int err;

	memset(p, 0, sizeof *p);
	err = ib_identity_generate(&p->a);
	if (!err)
		err = ib_identity_generate(&p->b);
	if (!err)
		err = ib_keyring_new(&p->kr);
	if (!err)
		err = trust(p->kr, p->a);
	if (!err)
		err = trust(p->kr, p->b);
	if (!err)
		err = ib_tls_ctx_new(&p->ca, p->a);
	if (!err)
		err = ib_tls_ctx_new(&p->cb, p->b);
	if (err) {
		pair_free(p);
		return err;
	}
	ib_tls_ctx_set_keyring(p->ca, p->kr);
	ib_tls_ctx_set_keyring(p->cb, p->kr);
	return IB_OK;
}

/* One handshake through memory; the engines stay with the caller. */
static int handshake(struct tls_pair *p, struct ib_tls **c, struct ib_tls **s)
{
	struct ib_buf wire = { 0 }, plain = { 0 };
	int sc = 0, ss = 0, err;

	*c = *s = NULL;
	err = ib_tls_new(c, p->ca, IB_TLS_CLIENT);
	if (!err)
		err = ib_tls_new(s, p->cb, IB_TLS_SERVER);
	for (int round = 0; !err && round < 10 && (sc != IB_TLS_OPEN || ss != IB_TLS_OPEN);
	     round++) {
		sc = ib_tls_step(*c, &plain);
		ib_buf_reset(&wire);
		ib_tls_take_output(*c, &wire);
		ib_tls_feed(*s, wire.ptr, wire.len);
		ss = ib_tls_step(*s, &plain);
		ib_buf_reset(&wire);
		ib_tls_take_output(*s, &wire);
		ib_tls_feed(*c, wire.ptr, wire.len);
	}
	if (!err && (sc != IB_TLS_OPEN || ss != IB_TLS_OPEN))
		err = IB_ERR_HANDSHAKE;
	ib_buf_free(&wire);
	ib_buf_free(&plain);
	return err;
}

double bench_handshake_rate(double seconds)
{
	struct tls_pair p;
	double t0, t = 0;
	long n = 0;

	if (pair_new(&p))
		return 0;
	t0 = bench_now();
	do {
		struct ib_tls *c, *s;

		if (handshake(&p, &c, &s) == IB_OK)
			n++;
		ib_tls_free(c);
		ib_tls_free(s);
		t = bench_now() - t0;
	} while (t < seconds);
	pair_free(&p);
	return t > 0 ? (double)n / t : 0;
}

size_t bench_tls_idle_pair_bytes(void)
{
	struct tls_pair p;
	struct ib_tls *c = NULL, *s = NULL;
	size_t before, after = 0;

	if (pair_new(&p))
		return 0;
	/* A first handshake fills OpenSSL's caches of the process (methods, the provider's
	 * algorithms): they are not the link's. */
	if (handshake(&p, &c, &s) == IB_OK) {
		ib_tls_free(c);
		ib_tls_free(s);
		before = bench_heap_bytes();
		if (handshake(&p, &c, &s) == IB_OK)
			after = bench_heap_bytes();
		after = after > before ? after - before : 0;
	}
	ib_tls_free(c);
	ib_tls_free(s);
	pair_free(&p);
	return after;
}

static int fsync_replace(const char *dir, const char *path, const char *tmp, const uint8_t *buf,
			 size_t size)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), dfd, err = -1;

	if (fd < 0)
		return -1;
	if (write(fd, buf, size) == (ssize_t)size && fsync(fd) == 0)
		err = 0;
	if (close(fd) != 0 || err || rename(tmp, path) != 0)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	err = fsync(dfd);
	close(dfd);
	return err;
}

double bench_fsync_replace_rate(const char *dir, size_t size, double seconds)
{
	char path[512], tmp[520];
	uint8_t *buf = calloc(1, size ? size : 1);
	double t0 = bench_now(), t = 0;
	long n = 0;

	if (!buf)
		return 0;
	snprintf(path, sizeof path, "%s/raw", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	do {
		if (fsync_replace(dir, path, tmp, buf, size) != 0)
			break;
		n++;
		t = bench_now() - t0;
	} while (t < seconds);
	unlink(path);
	free(buf);
	return t > 0 ? (double)n / t : 0;
}

const char *bench_fs_type(const char *path, char *buf, size_t cap)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} known[] = {
		{ 0xEF53, "ext4" }, { 0x01021994, "tmpfs" }, { 0x58465342, "xfs" },
		{ 0x9123683E, "btrfs" }, { 0x794C7630, "overlayfs" }, { 0x6969, "nfs" },
		{ 0x2FC12FC1, "zfs" }, { 0xF2F52010, "f2fs" },
	};
	struct statfs st;

	if (statfs(path, &st) != 0) {
		snprintf(buf, cap, "unknown");
		return buf;
	}
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if ((unsigned long)st.f_type == known[i].magic) {
			snprintf(buf, cap, "%s", known[i].name);
			return buf;
		}
	snprintf(buf, cap, "0x%lx", (unsigned long)st.f_type);
	return buf;
}

bool bench_mkdtemp(const struct bench_opts *o, const char *prefix, char *out, size_t cap)
{
	const char *base = o->dir;

	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	if ((size_t)snprintf(out, cap, "%s/%s-XXXXXX", base, prefix) >= cap)
		return false;
	return mkdtemp(out) != NULL;
}

void bench_program(const struct bench_opts *o, const char *name, const char *env, char *out,
		   size_t cap)
{
	const char *slash = strrchr(o->self, '/'), *named = env ? getenv(env) : NULL;

	if (named && *named)
		snprintf(out, cap, "%s", named);
	else
		snprintf(out, cap, "%.*s%s", slash ? (int)(slash - o->self + 1) : 0, o->self, name);
}
