/* keygen: see keygen.h. The private key format is OpenSSH's PROTOCOL.key
 * ("openssh-key-v1", cipher and KDF "none"). */
#include "daemon/keygen.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/buf.h"
#include "util/fs.h"

#define KEYTYPE "ssh-ed25519"

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};

	buf_append(b, (const char *)x, 4);
}

/* An SSH "string": uint32 length, then the bytes. */
static void put_str(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_append(b, p, n);
}

/* The public key blob: string "ssh-ed25519", string pk. */
static void put_pub_blob(struct buf *b, const unsigned char pk[32])
{
	put_str(b, KEYTYPE, strlen(KEYTYPE));
	put_str(b, pk, 32);
}

/* base64 of data (one line), malloc'd. */
static char *b64(const struct buf *data)
{
	char *out = xmalloc(4 * ((data->len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data->data, (int)data->len);
	return out;
}

static void private_file(struct buf *out, const unsigned char pk[32], const unsigned char seed[32],
			 uint32_t check, const char *comment)
{
	struct buf key = BUF_INIT, priv = BUF_INIT, blob = BUF_INIT;
	unsigned char sk[64];
	char *text;
	size_t len;

	memcpy(sk, seed, 32);
	memcpy(sk + 32, pk, 32);
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_str(&priv, KEYTYPE, strlen(KEYTYPE));
	put_str(&priv, pk, 32);
	put_str(&priv, sk, 64);
	put_str(&priv, comment, strlen(comment));
	for (unsigned char pad = 1; priv.len % 8; pad++) /* block size of "none" */
		buf_append(&priv, (const char *)&pad, 1);
	buf_append(&key, "openssh-key-v1", sizeof("openssh-key-v1")); /* with its NUL */
	put_str(&key, "none", 4);
	put_str(&key, "none", 4);
	put_str(&key, "", 0);
	put_u32(&key, 1);
	put_pub_blob(&blob, pk);
	put_str(&key, blob.data, blob.len);
	put_str(&key, priv.data, priv.len);
	text = b64(&key);
	len = strlen(text);
	buf_puts(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t i = 0; i < len; i += 70)
		buf_printf(out, "%.70s\n", text + i);
	buf_puts(out, "-----END OPENSSH PRIVATE KEY-----\n");
	OPENSSL_cleanse(sk, sizeof(sk));
	OPENSSL_cleanse(priv.data, priv.len);
	OPENSSL_cleanse(key.data, key.len);
	free(text);
	buf_free(&key);
	buf_free(&priv);
	buf_free(&blob);
}

int keygen_ed25519(const char *path, const char *comment, struct err *e)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	unsigned char pk[32], seed[32];
	size_t pklen = sizeof(pk), seedlen = sizeof(seed);
	struct buf priv = BUF_INIT, blob = BUF_INIT, pub = BUF_INIT;
	char *pubpath = xasprintf("%s.pub", path), *text = NULL;
	uint32_t check;
	int ret = -1;

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &k) <= 0 ||
	    EVP_PKEY_get_raw_public_key(k, pk, &pklen) <= 0 ||
	    EVP_PKEY_get_raw_private_key(k, seed, &seedlen) <= 0 || pklen != 32 || seedlen != 32 ||
	    RAND_bytes((unsigned char *)&check, sizeof(check)) <= 0) {
		err_set(e, ERR_INTERNAL,
			"generate SSH key %s: libcrypto could not make an ed25519 key", path);
		goto out;
	}
	private_file(&priv, pk, seed, check, comment);
	put_pub_blob(&blob, pk);
	text = b64(&blob);
	buf_printf(&pub, "%s %s %s\n", KEYTYPE, text, comment);
	/* Atomic, as ssh-keygen's files are whole or absent: a key half
	 * written by a crash would be a key that cannot be read. */
	if (fs_write_atomic(path, priv.data, priv.len, 0600, e) < 0 ||
	    fs_write_atomic(pubpath, pub.data, pub.len, 0644, e) < 0) {
		err_wrap(e, "generate SSH key %s", path);
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	if (priv.data)
		OPENSSL_cleanse(priv.data, priv.len);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	free(pubpath);
	free(text);
	buf_free(&priv);
	buf_free(&blob);
	buf_free(&pub);
	return ret;
}
