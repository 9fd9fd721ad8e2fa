/*
 * image_mirror: which Debian mirror an image build downloads from.
 *
 * Without --mirror, banger uses the host's own apt mirror (the one the
 * administrator chose and that is known to be reachable), read from
 * the deb822 .sources files in sources.list.d and the one-line sources.list
 * (and sources.list.d's .list files), the same
 * way scripts/runtime-bundle.sh does. Falls back to deb.debian.org.
 */
#ifndef BANGER_IMAGE_IMAGE_MIRROR_H
#define BANGER_IMAGE_IMAGE_MIRROR_H

/* The first "deb" URI under apt_dir (normally "/etc/apt") that is (security
 * != 0) or is not (security == 0) a security mirror. malloc'd; never NULL. */
char *image_mirror_host(const char *apt_dir, int security);

/* 1 if s looks like a mirror URL banger can hand to apt: http(s):// or
 * file:/ followed by no whitespace, quotes or control characters. */
int image_mirror_ok(const char *s);

/* 1 if s is a plausible suite/codename ("bookworm", "trixie", "sid",
 * "stable"): 2-32 lowercase letters, digits and '-'. */
int image_mirror_suite_ok(const char *s);

#endif
