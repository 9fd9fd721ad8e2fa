/*
 * image_watch: turns a long command's log into progress messages.
 *
 * mmdebstrap takes most of a build's time; while it runs, a thread follows
 * the build log from its current end and forwards each new "I: ..." line
 * (mmdebstrap's own step messages) to the progress callback, so the user
 * sees what it is doing. The raw output stays in the log.
 */
#ifndef BANGER_IMAGE_IMAGE_WATCH_H
#define BANGER_IMAGE_IMAGE_WATCH_H

struct image_watch;

/* Starts following path (from its current size). Messages are prefix + the
 * line's text after "I: ". Returns NULL (and watches nothing) when fn is
 * NULL or no thread can be started. */
struct image_watch *image_watch_start(const char *path, const char *prefix,
				      void (*fn)(void *ctx, const char *msg), void *ctx);

/* Forwards what is left, stops and frees the watcher. Accepts NULL. */
void image_watch_stop(struct image_watch *w);

#endif
