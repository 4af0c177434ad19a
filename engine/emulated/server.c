/* The target server: native memory and native calls for a Python host, over pipes.
 *
 * Built for aarch64 or s390x and run under qemu-user (see engine/emulated/__init__.py).
 * It owns the target's memory and executes the host's requests, read from stdin:
 * allocate and free, read and write bytes, call a function of the C convention with up
 * to four integer arguments, load a shared object and look up its symbols.  Every
 * field on the wire is an unsigned 64-bit integer in the target's own byte order (the
 * host packs and unpacks accordingly), followed by raw bytes where a request or a reply
 * carries some; the server converts nothing.
 *
 * Requests that need no answer (free, write, fill, unload, return) get none, so the
 * host can send many of them in one go.  Replies go to stdout as MSG_REPLY and the
 * request's data.  While a call runs, compiled code may call a host function: its stub
 * calls one of the CALLBACKS entries below, which sends MSG_CALLBACK (the entry's
 * address, the host context, the argument buffer) and serves requests -- nested calls
 * included -- until the host sends OP_RETURN with the callback's status.  So a host ->
 * wasm -> host crossing is a nested request loop on the server's stack.
 *
 * SIGUSR1 advances the engine's epoch counter (compiled code reads it at function
 * entries and loop headers): the host interrupts a call without touching the pipe.
 *
 * The first message says who the server is: a magic number, a probe of its byte order,
 * the epoch counter's address, the callback entries (their count and table), and its
 * stack's bounds (the runtime keeps wasm above a floor near the bottom).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t u64;

enum {
    OP_CALLOC = 1, OP_REALLOC, OP_FREE, OP_READ, OP_WRITE, OP_FILL, OP_CALL, OP_LOAD,
    OP_SYMBOL, OP_UNLOAD, OP_RETURN
};
enum { MSG_REPLY = 0, MSG_CALLBACK = 1 };

#define MAGIC 0x45584e46555a5a31ULL   /* "EXNFUZZ1" */
#define ORDER 0x0102030405060708ULL   /* tells the host this machine's byte order */

static volatile u64 epoch;

static void on_usr1(int sig) {
    (void)sig;
    epoch++;
}

static void die(const char *what) {
    (void)!write(2, what, strlen(what));
    _exit(3);
}

/* -- the pipe ---------------------------------------------------------------------- */

static unsigned char in_buf[1 << 16];
static size_t in_len, in_pos;
static unsigned char out_buf[1 << 16];
static size_t out_len;

static void read_exact(void *dst, size_t n) {
    unsigned char *p = dst;
    while (n) {
        if (in_pos == in_len) {
            ssize_t got = read(0, in_buf, sizeof in_buf);
            if (got == 0)
                _exit(0);                       /* the host closed the pipe: done */
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                die("target server: read failed\n");
            }
            in_len = (size_t)got;
            in_pos = 0;
        }
        size_t take = in_len - in_pos < n ? in_len - in_pos : n;
        memcpy(p, in_buf + in_pos, take);
        in_pos += take;
        p += take;
        n -= take;
    }
}

static u64 get(void) {
    u64 v;
    read_exact(&v, sizeof v);
    return v;
}

static void write_all(const void *src, size_t n) {
    const unsigned char *p = src;
    while (n) {
        ssize_t put = write(1, p, n);
        if (put < 0) {
            if (errno == EINTR)
                continue;
            _exit(0);                           /* the host is gone */
        }
        p += put;
        n -= (size_t)put;
    }
}

static void flush(void) {
    write_all(out_buf, out_len);
    out_len = 0;
}

static void put(const void *src, size_t n) {
    if (out_len + n > sizeof out_buf) {
        flush();
        if (n > sizeof out_buf) {
            write_all(src, n);
            return;
        }
    }
    memcpy(out_buf + out_len, src, n);
    out_len += n;
}

static void put64(u64 v) {
    put(&v, sizeof v);
}

static void reply(u64 v) {
    put64(MSG_REPLY);
    put64(v);
    flush();
}

static char *get_string(void) {
    u64 n = get();
    char *s = malloc(n + 1);
    if (!s)
        die("target server: out of memory\n");
    read_exact(s, n);
    s[n] = 0;
    return s;
}

/* -- host functions ----------------------------------------------------------------- */

static int32_t serve(void);

static int32_t host_callback(void *entry, void *hostctx, u64 *buf) {
    put64(MSG_CALLBACK);
    put64((u64)(uintptr_t)entry);
    put64((u64)(uintptr_t)hostctx);
    put64((u64)(uintptr_t)buf);
    flush();
    return serve();
}

/* 4096 callback entries, each a function of its own: a host function's context points
 * at one, and the entry's address tells the host which Python callable to run. */
#define CB(n) static int32_t callback_##n(void *ctx, u64 *buf) { \
    return host_callback((void *)callback_##n, ctx, buf); }
#define CB8(n) CB(n##0) CB(n##1) CB(n##2) CB(n##3) CB(n##4) CB(n##5) CB(n##6) CB(n##7)
#define CB64(n) CB8(n##0) CB8(n##1) CB8(n##2) CB8(n##3) CB8(n##4) CB8(n##5) CB8(n##6) CB8(n##7)
#define CB512(n) CB64(n##0) CB64(n##1) CB64(n##2) CB64(n##3) CB64(n##4) CB64(n##5) CB64(n##6) CB64(n##7)
CB512(10) CB512(11) CB512(12) CB512(13) CB512(14) CB512(15) CB512(16) CB512(17)

#define E(n) callback_##n,
#define E8(n) E(n##0) E(n##1) E(n##2) E(n##3) E(n##4) E(n##5) E(n##6) E(n##7)
#define E64(n) E8(n##0) E8(n##1) E8(n##2) E8(n##3) E8(n##4) E8(n##5) E8(n##6) E8(n##7)
#define E512(n) E64(n##0) E64(n##1) E64(n##2) E64(n##3) E64(n##4) E64(n##5) E64(n##6) E64(n##7)
static int32_t (*const CALLBACKS[])(void *, u64 *) = {
    E512(10) E512(11) E512(12) E512(13) E512(14) E512(15) E512(16) E512(17)
};

/* -- requests ----------------------------------------------------------------------- */

typedef u64 (*call4)(u64, u64, u64, u64);

/* Serve requests until OP_RETURN (a callback's status); at the top level, until the
 * host closes the pipe. */
static int32_t serve(void) {
    for (;;) {
        u64 op = get();
        switch (op) {
        case OP_CALLOC: {
            u64 count = get(), size = get();
            reply((u64)(uintptr_t)calloc(count ? count : 1, size ? size : 1));
            break;
        }
        case OP_REALLOC: {
            void *p = (void *)(uintptr_t)get();
            u64 size = get();
            reply((u64)(uintptr_t)realloc(p, size ? size : 1));
            break;
        }
        case OP_FREE:
            free((void *)(uintptr_t)get());
            break;
        case OP_READ: {
            u64 address = get(), n = get();
            put64(MSG_REPLY);
            put((void *)(uintptr_t)address, n);
            flush();
            break;
        }
        case OP_WRITE: {
            u64 address = get(), n = get();
            read_exact((void *)(uintptr_t)address, n);
            break;
        }
        case OP_FILL: {
            u64 address = get(), byte = get(), n = get();
            memset((void *)(uintptr_t)address, (int)byte, n);
            break;
        }
        case OP_CALL: {
            call4 fn = (call4)(uintptr_t)get();
            u64 a = get(), b = get(), c = get(), d = get();
            reply(fn(a, b, c, d));
            break;
        }
        case OP_LOAD: {
            char *path = get_string();
            void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            free(path);
            const char *error = handle ? "" : dlerror();
            put64(MSG_REPLY);
            put64((u64)(uintptr_t)handle);
            put64(strlen(error));
            put(error, strlen(error));
            flush();
            break;
        }
        case OP_SYMBOL: {
            void *handle = (void *)(uintptr_t)get();
            char *name = get_string();
            reply((u64)(uintptr_t)dlsym(handle, name));
            free(name);
            break;
        }
        case OP_UNLOAD:
            dlclose((void *)(uintptr_t)get());
            break;
        case OP_RETURN:
            return (int32_t)get();
        default:
            die("target server: unknown request\n");
        }
    }
}

int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    action.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &action, NULL);
    put64(MAGIC);
    put64(ORDER);
    put64((u64)(uintptr_t)&epoch);
    put64(sizeof CALLBACKS / sizeof CALLBACKS[0]);
    put64((u64)(uintptr_t)CALLBACKS);
    /* The stack's bounds, for the floor below which wasm may not go (0, 0: unknown). */
    void *low = NULL;
    size_t size = 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &low, &size) != 0)
            low = NULL, size = 0;
        pthread_attr_destroy(&attr);
    }
    put64((u64)(uintptr_t)low);
    put64(size);
    flush();
    serve();
    return 0;
}
