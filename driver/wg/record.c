// SPDX-License-Identifier: MIT
/* The WireGuard peer record's text: see record.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "driver/lib/netaddr.h"
#include "driver/wg/record.h"

int wg_record_format(const struct wg_record *r, char *buf, size_t len)
{
	char key[WG_KEY_B64_LEN + 1], ip[INET_ADDRSTRLEN];
	int n;

	wg_key_to_base64(&r->pub, key);
	inet_ntop(AF_INET, &r->tunnel, ip, sizeof(ip));
	n = snprintf(buf, len, "%s %s %u", key, ip, (unsigned int)r->port);
	if (n >= 0 && (size_t)n < len && r->has_next) {
		char nkey[WG_KEY_B64_LEN + 1], nip[INET_ADDRSTRLEN];
		int m;

		wg_key_to_base64(&r->next_pub, nkey);
		inet_ntop(AF_INET, &r->next_tunnel, nip, sizeof(nip));
		m = snprintf(buf + n, len - (size_t)n, " next %s %s", nkey, nip);
		n = m < 0 ? m : n + m;
	}
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

/* The field at *p (up to the next ' ' or end): its length; *p moves past it. */
static size_t field(const char **p, const char *end)
{
	const char *start = *p;

	while (*p < end && **p != ' ')
		(*p)++;
	return (size_t)(*p - start);
}

/* After a field at *p: one ' ', then the next field (*tok, *n bytes), which
 * must be there; NULL, or why not (missing when the value ends first). */
static const char *next_field(const char **p, const char *end, const char **tok, size_t *n,
			      const char *missing)
{
	if (*p == end)
		return missing;
	*tok = ++*p;
	*n = field(p, end);
	if (!*n)
		return *p == end ? missing : "fields are not separated by single spaces";
	return NULL;
}

static const char *parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned int v = 0;
	size_t i;

	for (i = 0; i < n && i < 6 && isdigit((unsigned char)s[i]); i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (i < n && i && isspace((unsigned char)s[i]))
		return "trailing characters";
	if (i < n || s[0] == '0' || v > 65535)
		return "port is not 1-65535";
	*port = (uint16_t)v;
	return NULL;
}

bool wg_record_parse(const char *s, size_t len, struct wg_record *r, const char **why)
{
	const char *p = s, *end, *tok;
	char ip[INET_ADDRSTRLEN];
	struct wg_record t;
	size_t n;

	*why = NULL;
	if (len > WG_RECORD_MAX)
		*why = "value longer than 160 bytes";
	else if (memchr(s, '\0', len))
		*why = "value contains a NUL byte";
	if (*why)
		return false;
	if (len && s[len - 1] == '\n')
		len--;
	end = s + len;
	if (!len) {
		*why = "value is empty";
		return false;
	}

	n = field(&p, end);
	if (!n)
		*why = "fields are not separated by single spaces";
	else if (!wg_key_from_base64(s, n, &t.pub))
		*why = "public key is not base64";
	else if (wg_key_is_zero(&t.pub))
		*why = "public key is all zeros";
	if (*why)
		return false;

	if ((*why = next_field(&p, end, &tok, &n, "missing tunnel address")))
		return false;
	if (n >= sizeof(ip)) {
		*why = "tunnel address is not a dotted-quad IPv4 address";
		return false;
	}
	memcpy(ip, tok, n);
	ip[n] = '\0';
	if (!netaddr_parse_ip4(ip, &t.tunnel))
		*why = "tunnel address is not a dotted-quad IPv4 address";
	else if (!netaddr_ip4_is_unicast(t.tunnel))
		*why = "tunnel address is not a unicast IPv4 address";
	if (*why)
		return false;

	if ((*why = next_field(&p, end, &tok, &n, "missing listen port")) ||
	    (*why = parse_port(tok, n, &t.port)))
		return false;
	t.has_next = false;
	memset(&t.next_pub, 0, sizeof(t.next_pub));
	t.next_tunnel.s_addr = 0;
	if (p != end && (end - p < 6 || memcmp(p, " next ", 6))) {
		*why = "trailing characters";
		return false;
	}
	if (p != end) {
		p += 5;	/* at the ' ' before the key */
		if ((*why = next_field(&p, end, &tok, &n, "missing next public key")))
			return false;
		if (!wg_key_from_base64(tok, n, &t.next_pub))
			*why = "next public key is not base64";
		else if (wg_key_is_zero(&t.next_pub))
			*why = "next public key is all zeros";
		if (*why || (*why = next_field(&p, end, &tok, &n, "missing next tunnel address")))
			return false;
		if (n >= sizeof(ip)) {
			*why = "next tunnel address is not a dotted-quad IPv4 address";
			return false;
		}
		memcpy(ip, tok, n);
		ip[n] = '\0';
		if (!netaddr_parse_ip4(ip, &t.next_tunnel))
			*why = "next tunnel address is not a dotted-quad IPv4 address";
		else if (!netaddr_ip4_is_unicast(t.next_tunnel))
			*why = "next tunnel address is not a unicast IPv4 address";
		else if (p != end)
			*why = "trailing characters";
		if (*why)
			return false;
		t.has_next = true;
	}
	*r = t;
	return true;
}
