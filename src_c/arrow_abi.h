/* The Arrow C Data and C Stream Interfaces (a stable ABI: arrow.apache.org/docs/format/
 * CDataInterface.html), and the arrays of URLs fastsig.arrow hands out through them.
 *
 * The URLs' buffers belong to a reference-counted fs_urls: every exported ArrowArray holds
 * one reference and its release callback drops it, so a result can be exported any number
 * of times, and consumers (pyarrow, polars, duckdb) may release on any thread, without the
 * GIL, even after the Python object that made them is gone. Everything here is malloc/free.
 */
#ifndef FASTSIG_ARROW_ABI_H
#define FASTSIG_ARROW_ABI_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};
#endif

#if defined(_MSC_VER)
#include <windows.h>
#define FS_INCREF(p) InterlockedIncrement(p)
#define FS_DECREF(p) InterlockedDecrement(p)
typedef volatile LONG fs_refcount;
#else
#define FS_INCREF(p) __atomic_add_fetch(p, 1, __ATOMIC_RELAXED)
#define FS_DECREF(p) __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL)
typedef long fs_refcount;
#endif

/* One chunk of URLs: large_utf8 (int64 offsets), so no chunk can overflow its offsets. */
typedef struct fs_urls_chunk {
    int64_t length;
    int64_t null_count;
    uint8_t *validity; /* NULL when no URL is null */
    int64_t *offsets;  /* length + 1 */
    char *data;
    size_t capacity;   /* bytes allocated at data */
} fs_urls_chunk;

/* One spare data buffer: the last one let go, kept for the next call to fill. A data buffer
 * is tens of megabytes, so malloc maps fresh pages for each and the kernel zeroes every page
 * on first touch: a fifth of the time per URL. Batch after batch (a result freed, the next
 * made) reuses the same pages instead. One buffer at most, of at most FS_SPARE_MAX bytes, is
 * held; the slot is swapped atomically, as the consumer may release from any thread. */
#define FS_SPARE_MAX ((size_t)128 << 20)
#if defined(_MSC_VER)
#define FS_SWAP(slot, p) ((char *)InterlockedExchangePointer((PVOID volatile *)(slot), (p)))
#else
#define FS_SWAP(slot, p) __atomic_exchange_n((slot), (p), __ATOMIC_ACQ_REL)
#endif
static char *fs_spare = NULL; /* its capacity is written in its first bytes */

static void fs_spare_put(char *data, size_t capacity) {
    if (data == NULL)
        return;
    if (capacity < sizeof(size_t) || capacity > FS_SPARE_MAX) {
        free(data);
        return;
    }
    memcpy(data, &capacity, sizeof(size_t));
    free(FS_SWAP(&fs_spare, data));
}

/* The spare if it holds `need` bytes (its size in *capacity), else NULL. */
static char *fs_spare_take(size_t need, size_t *capacity) {
    char *data = FS_SWAP(&fs_spare, (char *)NULL);
    if (data == NULL)
        return NULL;
    memcpy(capacity, data, sizeof(size_t));
    if (*capacity >= need)
        return data;
    free(data);
    return NULL;
}

typedef struct fs_urls {
    fs_refcount refs;
    int64_t n_chunks;
    int64_t capacity;
    fs_urls_chunk *chunks;
} fs_urls;

static fs_urls *fs_urls_new(void) {
    fs_urls *urls = (fs_urls *)calloc(1, sizeof(fs_urls));
    if (urls != NULL)
        urls->refs = 1;
    return urls;
}

static void fs_urls_incref(fs_urls *urls) { FS_INCREF(&urls->refs); }

static void fs_urls_decref(fs_urls *urls) {
    int64_t i;
    if (urls == NULL || FS_DECREF(&urls->refs) != 0)
        return;
    for (i = 0; i < urls->n_chunks; i++) {
        free(urls->chunks[i].validity);
        free(urls->chunks[i].offsets);
        fs_spare_put(urls->chunks[i].data, urls->chunks[i].capacity);
    }
    free(urls->chunks);
    free(urls);
}

/* Takes the chunk's buffers (they are freed with ``urls`` from then on); -1 when out of
 * memory, the buffers then still the caller's. */
static int fs_urls_append(fs_urls *urls, const fs_urls_chunk *chunk) {
    if (urls->n_chunks == urls->capacity) {
        int64_t capacity = urls->capacity ? urls->capacity * 2 : 4;
        fs_urls_chunk *grown =
            (fs_urls_chunk *)realloc(urls->chunks, (size_t)capacity * sizeof(fs_urls_chunk));
        if (grown == NULL)
            return -1;
        urls->chunks = grown;
        urls->capacity = capacity;
    }
    urls->chunks[urls->n_chunks++] = *chunk;
    return 0;
}

/* --- export: schema ------------------------------------------------------------------- */

static void fs_schema_release(struct ArrowSchema *schema) { schema->release = NULL; }

/* A nullable large_utf8 field named "url"; format and name are static strings. */
static void fs_urls_schema(struct ArrowSchema *out) {
    memset(out, 0, sizeof(*out));
    out->format = "U";
    out->name = "url";
    out->flags = ARROW_FLAG_NULLABLE;
    out->release = fs_schema_release;
}

/* --- export: arrays ------------------------------------------------------------------- */

typedef struct fs_array_private {
    fs_urls *owner;
    const void *buffers[3];
} fs_array_private;

static void fs_array_release(struct ArrowArray *array) {
    fs_array_private *private_data = (fs_array_private *)array->private_data;
    fs_urls_decref(private_data->owner);
    free(private_data);
    array->release = NULL;
}

/* Chunk ``i`` of ``urls`` as an ArrowArray holding a reference; -1 when out of memory. */
static int fs_urls_export(fs_urls *urls, int64_t i, struct ArrowArray *out) {
    const fs_urls_chunk *chunk = &urls->chunks[i];
    fs_array_private *private_data = (fs_array_private *)malloc(sizeof(fs_array_private));
    if (private_data == NULL)
        return -1;
    fs_urls_incref(urls);
    private_data->owner = urls;
    private_data->buffers[0] = chunk->validity;
    private_data->buffers[1] = chunk->offsets;
    private_data->buffers[2] = chunk->data;
    memset(out, 0, sizeof(*out));
    out->length = chunk->length;
    out->null_count = chunk->null_count;
    out->n_buffers = 3;
    out->buffers = private_data->buffers;
    out->release = fs_array_release;
    out->private_data = private_data;
    return 0;
}

/* --- export: a stream of the chunks ----------------------------------------------------- */

typedef struct fs_stream_private {
    fs_urls *owner;
    int64_t next;
} fs_stream_private;

static int fs_stream_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
    (void)stream;
    fs_urls_schema(out);
    return 0;
}

static int fs_stream_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
    fs_stream_private *private_data = (fs_stream_private *)stream->private_data;
    if (private_data->next == private_data->owner->n_chunks) {
        memset(out, 0, sizeof(*out)); /* release NULL: the end of the stream */
        return 0;
    }
    if (fs_urls_export(private_data->owner, private_data->next, out) != 0)
        return 12; /* ENOMEM */
    private_data->next++;
    return 0;
}

static const char *fs_stream_last_error(struct ArrowArrayStream *stream) {
    (void)stream;
    return "out of memory";
}

static void fs_stream_release(struct ArrowArrayStream *stream) {
    fs_stream_private *private_data = (fs_stream_private *)stream->private_data;
    fs_urls_decref(private_data->owner);
    free(private_data);
    stream->release = NULL;
}

static int fs_urls_stream(fs_urls *urls, struct ArrowArrayStream *out) {
    fs_stream_private *private_data = (fs_stream_private *)malloc(sizeof(fs_stream_private));
    if (private_data == NULL)
        return -1;
    fs_urls_incref(urls);
    private_data->owner = urls;
    private_data->next = 0;
    out->get_schema = fs_stream_get_schema;
    out->get_next = fs_stream_get_next;
    out->get_last_error = fs_stream_last_error;
    out->release = fs_stream_release;
    out->private_data = private_data;
    return 0;
}

#endif
