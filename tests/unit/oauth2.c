/*
 * oauth2.c: the SASL messages imapfetch sends with imap-oauth2-command
 * (imapfetch/auth.h): OAUTHBEARER as RFC 7628 3.1 spells it, with the
 * user escaped as RFC 5801 says, and XOAUTH2 as Google documents it;
 * which lines are bearer tokens (RFC 6750 2.1); base64 against RFC 4648's
 * test vectors and at the sizes of long tokens; which refused logins
 * are for later (a connection limit, the server unable to check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapfetch/auth.h"
#include "tap.h"

/* msg (len bytes, NUL after) is exactly want; frees it. */
static void
msg_is(char *msg, size_t len, const char *want, const char *what)
{
	ok(len == strlen(want) && memcmp(msg, want, len) == 0 &&
	    msg[len] == '\0', what);
	if (len != strlen(want) || memcmp(msg, want, len) != 0)
		printf("#   got %zu bytes, want %zu\n", len, strlen(want));
	free(msg);
}

static void
test_oauthbearer(void)
{
	size_t	 len;
	char	*m;

	m = auth_oauthbearer("alice@example.com", "imap.example.com", 993,
	    "ya29.a0Af-_~+/x==", &len);
	msg_is(m, len, "n,a=alice@example.com,\001host=imap.example.com"
	    "\001port=993\001auth=Bearer ya29.a0Af-_~+/x==\001\001",
	    "OAUTHBEARER: RFC 7628 3.1 gs2 header, host, port, token");
	m = auth_oauthbearer("a,b=c", "h", 143, "t", &len);
	msg_is(m, len, "n,a=a=2Cb=3Dc,\001host=h\001port=143\001auth=Bearer "
	    "t\001\001", "OAUTHBEARER: \",\" and \"=\" in the user escaped "
	    "(RFC 5801)");
	m = auth_oauthbearer("=,", "h", 1, "t", &len);
	msg_is(m, len, "n,a==3D=2C,\001host=h\001port=1\001auth=Bearer t"
	    "\001\001", "OAUTHBEARER: a user of escapes only");
}

static void
test_xoauth2(void)
{
	size_t	 len;
	char	*m;

	m = auth_xoauth2("someuser@example.com", "ya29.vF9dft4", &len);
	msg_is(m, len, "user=someuser@example.com\001auth=Bearer ya29.vF9dft4"
	    "\001\001", "XOAUTH2: Google's example");
}

static void
test_bearer(void)
{
	ok(auth_bearer_ok("abcXYZ019-._~+/"), "b64token: every character");
	ok(auth_bearer_ok("abc=="), "b64token: trailing =");
	ok(!auth_bearer_ok(""), "b64token: empty refused");
	ok(!auth_bearer_ok("=abc"), "b64token: = first refused");
	ok(!auth_bearer_ok("ab=c"), "b64token: = inside refused");
	ok(!auth_bearer_ok("ab c"), "b64token: a space refused");
	ok(!auth_bearer_ok("ab\001auth=Bearer x"), "b64token: ^A refused");
	ok(!auth_bearer_ok("Bearer abc"), "b64token: \"Bearer \" refused");
	ok(!auth_bearer_ok("error: expired"), "b64token: an error message "
	    "refused");
	ok(!auth_bearer_ok("abc\r"), "b64token: CR refused");
}

static void
test_base64(void)
{
	static const char	*vec[][2] = {	/* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" }
	};
	char			 out[16], name[32], *big, *enc;
	size_t			 i, n = 65536 + 64, elen = (n + 2) / 3 * 4;
	int			 good = 1;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		auth_base64((const unsigned char *)vec[i][0],
		    strlen(vec[i][0]), out);
		snprintf(name, sizeof(name), "base64 \"%s\"", vec[i][0]);
		is_str(out, vec[i][1], name);
	}
	/* A long token's message: every byte accounted for, no overrun. */
	big = malloc(n);
	enc = malloc(elen + 1);
	if (big == NULL || enc == NULL)
		return;
	for (i = 0; i < n; i++)
		big[i] = "abc"[i % 3];
	auth_base64((unsigned char *)big, n, enc);
	for (i = 0; i + 4 <= elen - 4; i += 4)
		good &= memcmp(enc + i, "YWJj", 4) == 0;
	ok(good && strlen(enc) == elen, "base64 of 64 KB: every group, "
	    "and the length");
	free(big);
	free(enc);
}

static void
test_temporary(void)
{
	ok(auth_refusal_temporary("UNAVAILABLE", "Temporary failure"),
	    "refused with [UNAVAILABLE]: temporary");
	ok(auth_refusal_temporary("LIMIT", "Maximum number of connections "
	    "from user+IP exceeded (mail_max_userip_connections=10)"),
	    "Dovecot's [LIMIT]: temporary");
	ok(auth_refusal_temporary("inuse", "x"), "[INUSE], any case: temporary");
	ok(auth_refusal_temporary(NULL, "Too many simultaneous connections. "
	    "(Failure)"), "Gmail's words, no code: temporary");
	ok(auth_refusal_temporary(NULL, "too many connections"),
	    "\"too many connections\": temporary");
	ok(!auth_refusal_temporary(NULL, "[ALERT] Invalid credentials "
	    "(Failure)"), "Gmail's invalid credentials: refused");
	ok(!auth_refusal_temporary("AUTHENTICATIONFAILED", "Authentication "
	    "failed."), "[AUTHENTICATIONFAILED]: refused");
	ok(!auth_refusal_temporary(NULL, NULL), "no code, no text: refused");
}

int
main(void)
{
	test_oauthbearer();
	test_xoauth2();
	test_bearer();
	test_base64();
	test_temporary();
	return done_testing();
}
