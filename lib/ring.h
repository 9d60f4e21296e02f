/*
 * ring: ring files, the list of nodes that a consistent-hashing ring is
 * built from, and their safe update.
 *
 * A ring file is text, one node per line: "NODE [WEIGHT]".  A field that
 * starts with '#' starts a comment that runs to the end of the line; blank
 * lines are ignored.  NODE is any string without blanks and is exactly
 * the string that is hashed.  WEIGHT is an integer from 1 to RING_MAX_WEIGHT
 * (default 1).  Line order is kept.
 *
 * ring_parse() accepts only well-formed files: any fault (a duplicate node,
 * a bad weight, a NUL byte, a line over RING_MAX_LINE bytes) is reported
 * as "FILE:LINE: what is wrong" and nothing is returned.
 *
 * Updates are atomic and safe against concurrent writers: ring_lock()
 * takes an exclusive flock on the ring file, checking that the locked
 * inode is still the one the path names (a writer that replaced the file
 * meanwhile leaves the lock on an orphan), and ring_replace() writes the
 * new contents to a temporary file, fsyncs it, renames it over the ring
 * and fsyncs the directory, so a reader sees the old ring or the new one
 * and, once ring_replace() returns, the new one survives a power cut.
 */
#ifndef HAKIT_RING_H
#define HAKIT_RING_H

#include <stddef.h>

#define RING_MAX_LINE	4096
#define RING_MAX_WEIGHT	1000000
#define RING_MAX_SIZE	(64 * 1024 * 1024)

struct ring_node {
	char		*name;		/* NUL-terminated; owned by the ring */
	size_t		 len;
	unsigned long	 weight;
	unsigned long	 line;		/* in the file; 0 if not from it */
	/* Where the node stands in the text, for rewriting it. */
	size_t		 line_start, line_end;	/* the line, with its '\n' */
	size_t		 field_end;		/* end of NODE [WEIGHT] */
	int		 removed;
	int		 reweighed;
};

struct ring {
	char		 *path;		/* for messages */
	char		 *text;		/* the file as read */
	size_t		  textlen;
	struct ring_node *node;		/* in file order, then added ones */
	size_t		  nnodes;	/* including removed ones */
	size_t		  cap;
};

/* Parses TEXT (LEN bytes, read from PATH) into R.  Returns 0, or -1 with
 * "PATH:LINE: reason" in ERR. */
int ring_parse(struct ring *r, const char *path, const char *text,
    size_t len, char *err, size_t errsz);

/* Reads and parses the ring file PATH.  Returns 0, or -1 with the reason
 * in ERR (a missing file is "PATH: No such file or directory"). */
int ring_load(struct ring *r, const char *path, char *err, size_t errsz);

/* The same, from the open file FD. */
int ring_load_fd(struct ring *r, int fd, const char *path, char *err,
    size_t errsz);

void ring_free(struct ring *r);

/* Returns the node called NAME (not removed), or NULL. */
struct ring_node *ring_find(const struct ring *r, const char *name);

/* Returns NULL if NAME can be a node, else what is wrong with it. */
const char *ring_bad_name(const char *name);

/* Appends a node; the name is copied. */
struct ring_node *ring_append(struct ring *r, const char *name,
    unsigned long weight);

/* The number of nodes not removed. */
size_t ring_size(const struct ring *r);

/* Returns a new array that gives, for each node of A, the index in B of
 * the node of the same name, or SIZE_MAX if B has none: how the nodes of
 * two rings correspond. */
size_t *ring_map(const struct ring *a, const struct ring *b);

/*
 * Starts an update: opens PATH (creating it if CREATE), locks it
 * exclusively, waiting for other writers, and loads it into R.  Returns
 * the locked descriptor, or -1 with the reason in ERR and the exit status
 * it calls for in *STATUS (EXIT_USAGE for a missing or bad ring).
 */
int ring_begin_update(struct ring *r, const char *path, int create,
    char *err, size_t errsz, int *status);

/*
 * Ends an update begun with ring_begin_update(): if CHANGED, replaces the
 * ring file with R's contents (comments and line order kept, removed
 * nodes' lines dropped, new weights written, added nodes appended); then
 * releases the lock and frees R.  Returns 0, or -1 with the reason in ERR;
 * the old ring is then left in place unless only the final directory
 * fsync failed.
 */
int ring_end_update(struct ring *r, int lockfd, int changed, char *err,
    size_t errsz);

#endif
