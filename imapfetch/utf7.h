/*
 * utf7.h: IMAP mailbox names.  imapfetch takes and shows them in UTF-8
 * (the configuration, logs, state file names, --list); on the wire they
 * are in modified UTF-7 (RFC 3501 5.1.3):
 *
 *   - printable US-ASCII (0x20-0x7e) stands for itself, except '&';
 *   - '&' is "&-";
 *   - any other run of characters is their UTF-16 in modified BASE64
 *     (',' for '/', no '=' padding) between '&' and '-'.
 *
 * The encoding is canonical, and the decoder accepts nothing else: a
 * name has one wire form, so a name read from the server and one from
 * the configuration compare equal exactly when they are the same.
 */
#ifndef IMAPFETCH_UTF7_H
#define IMAPFETCH_UTF7_H

/*
 * The modified UTF-7 form of the UTF-8 string s, as a new string (the
 * caller frees it; out of memory is fatal).  NULL with errno EILSEQ when
 * s is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF).  Always printable US-ASCII, so libetpan can
 * send it as a quoted string.
 */
char	*utf7_encode(const char *s);

/*
 * The UTF-8 form of the modified UTF-7 string s, as a new string.  NULL
 * with errno EILSEQ unless s is what utf7_encode makes: bytes outside
 * 0x20-0x7e, a '&' run without its '-', an empty run, characters outside
 * the BASE64 alphabet, leftover bits that are not zero or make up a
 * whole character, a printable US-ASCII character or U+0000 encoded,
 * a broken surrogate pair, or two runs back to back ("-&").
 */
char	*utf7_decode(const char *s);

#endif
