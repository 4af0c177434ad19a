/* The compute kernels of the .wat files beside this one, as C, for bench/exec.py to
 * time as native code (gcc -O2): the physical limit beside exnfuzz and wasmtime.  Each
 * function is a kernel's `run` with the same checksum, computed with the same wrapping
 * integer and IEEE double arithmetic (no contraction into fused multiply-adds), so
 * bench/exec.py checks the native result against the engines' like theirs against
 * each other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fib_rec(uint32_t n) { return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2); }

uint64_t fib(uint32_t n) { return fib_rec(n); }

uint64_t collatz(uint32_t n) {
    uint64_t steps = 0;
    for (uint64_t i = 1; i <= (uint64_t)n; i++) {
        uint64_t x = i;
        while (x != 1) {
            x = (x & 1) ? x * 3 + 1 : x >> 1;
            steps++;
        }
    }
    return steps;
}

uint64_t sieve(uint32_t n) {
    uint8_t *composite = calloc((size_t)n + 1, 1);
    uint64_t count = 0, sum = 0;
    for (uint32_t i = 2; i * i <= n; i++)
        if (!composite[i])
            for (uint32_t j = i * i; j <= n; j += i) composite[j] = 1;
    for (uint32_t i = 2; i <= n; i++)
        if (!composite[i]) {
            count++;
            sum += i & 0xffff;
        }
    free(composite);
    return (count << 32) + sum;
}

uint64_t matmul(uint32_t n) {
    uint32_t cells = n * n;
    double *a = malloc(3 * (size_t)cells * sizeof(double)), *b = a + cells, *c = b + cells;
    for (uint32_t i = 0; i < cells; i++) {
        a[i] = (double)(int32_t)(i % 17 - 8);
        b[i] = (double)((i / n + (i % n) * 2) % 13) * 0.25;
        c[i] = 0;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < n; k++) {
            double a_ik = a[i * n + k];
            for (uint32_t j = 0; j < n; j++) c[i * n + j] = c[i * n + j] + a_ik * b[k * n + j];
        }
    double sum = 0;
    for (uint32_t i = 0; i < cells; i++) sum = sum + c[i];
    free(a);
    uint64_t bits;
    memcpy(&bits, &sum, sizeof bits);
    return bits;
}

static uint64_t rotl(uint64_t x, unsigned r) { return (x << (r & 63)) | (x >> ((64 - r) & 63)); }

static uint64_t mix(uint64_t h, uint64_t k) {
    k *= 0x87c37b91114253d5u;
    k = rotl(k, 31);
    k *= 0x4cf5ad432745937fu;
    h ^= k;
    h = rotl(h, 27);
    return h * 5 + 0x52dce729;
}

static uint64_t fmix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    return h ^ (h >> 33);
}

uint64_t hash(uint32_t rounds) {
    static uint64_t buffer[65536 / 8];
    uint64_t x = 0x9e3779b97f4a7c15u, acc = 0;
    for (unsigned p = 0; p < 65536 / 8; p++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buffer[p] = x;
    }
    for (uint32_t r = 0; r < rounds; r++) {
        uint64_t h = r;
        for (unsigned p = 0; p < 65536 / 8; p++) h = mix(h, buffer[p]);
        acc = rotl(acc, 5) + fmix(h ^ 65536);
    }
    return acc;
}

typedef uint64_t (*op)(uint64_t, uint64_t);
static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
static uint64_t op_sub(uint64_t a, uint64_t b) { return a - b; }
static uint64_t op_mul(uint64_t a, uint64_t b) { return a * (b | 1); }
static uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ (b * 0x9e3779b97f4a7c15u); }
static uint64_t op_rotl(uint64_t a, uint64_t b) { return rotl(a, (unsigned)(b & 63)); }
static uint64_t op_rotr(uint64_t a, uint64_t b) { return rotl(a, 64 - 17) + b; }
static uint64_t op_mix(uint64_t a, uint64_t b) { (void)b; return a ^ (a >> 29); }
static uint64_t op_or(uint64_t a, uint64_t b) { return (a | b) + 7; }
static op const table[8] = {op_add, op_sub, op_mul, op_xor, op_rotl, op_rotr, op_mix, op_or};

uint64_t indirect(uint32_t n) {
    uint64_t acc = 0x1234567;
    for (uint64_t i = 0; i < (uint64_t)n; i++) acc = table[(i ^ (acc >> 40)) & 7](acc, i);
    return acc;
}

static uint64_t state_b(uint32_t n, uint64_t acc);
static uint64_t state_c(uint32_t n, uint64_t acc);

static uint64_t state_a(uint32_t n, uint64_t acc) {
    return n == 0 ? acc : state_b(n - 1, acc * 31 + n);
}

static uint64_t state_b(uint32_t n, uint64_t acc) {
    if (n == 0) return acc;
    return (n & 1) ? state_c(n - 1, acc ^ (acc >> 7)) : state_a(n - 1, rotl(acc, 9));
}

static uint64_t state_c(uint32_t n, uint64_t acc) {
    return n == 0 ? acc : state_a(n - 1, acc + 0x9e3779b97f4a7c15u);
}

uint64_t tailcall(uint32_t n) { return state_a(n, 1); }
