/*
 * fuzz.h: what the libFuzzer harnesses share (header only): a failed
 * property aborts with a message, so that libFuzzer keeps the input as a
 * crash; and a deterministic split of the input into blocks, to check that
 * a streaming function gives the same answer whatever the block sizes.
 */
#ifndef POPD_FUZZ_H
#define POPD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A property does not hold: say which, and crash. */
#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* Block sizes 1..max, drawn from a generator seeded by the input itself. */
struct chunker {
	uint64_t	x;
};

static inline void
chunker_init(struct chunker *c, const uint8_t *data, size_t size)
{
	size_t	i;

	c->x = 0xcbf29ce484222325ULL ^ size;		/* FNV-1a */
	for (i = 0; i < size; i++)
		c->x = (c->x ^ data[i]) * 0x100000001b3ULL;
	if (c->x == 0)
		c->x = 1;
}

static inline size_t
chunker_next(struct chunker *c, size_t left, size_t max)
{
	size_t	n;

	c->x ^= c->x << 13;				/* xorshift64 */
	c->x ^= c->x >> 7;
	c->x ^= c->x << 17;
	/* Mostly tiny blocks (boundaries inside CRLF), sometimes large. */
	n = (c->x >> 8) & 1 ? 1 + (c->x >> 16) % 4 : 1 + (c->x >> 16) % max;
	return n < left ? n : left;
}

#endif
