"""sfc32 seeded through splitmix32: an exact port of server/src/data/rng.ts.

The torch engine draws its initial weights, the annotated subset and the per-epoch
shuffles from the same streams as the tfjs engine, so both engines see the same numbers
for a seed. Every operation is on unsigned 32-bit words (JavaScript's ``| 0`` and
``>>> 0`` only change how the same bits are read).
"""
M32 = 0xFFFFFFFF
TWO_POW_32 = 0x1_0000_0000


def _imul(a: int, b: int) -> int:
    return (a * b) & M32


def _splitmix32(state: list) -> int:
    state[0] = (state[0] + 0x9E3779B9) & M32
    z = state[0]
    z = _imul(z ^ (z >> 16), 0x85EBCA6B)
    z = _imul(z ^ (z >> 13), 0xC2B2AE35)
    return (z ^ (z >> 16)) & M32


class Rng:
    """createRng(seed, stream) of rng.ts."""

    def __init__(self, seed: int, stream: int = 0):
        if not isinstance(seed, int) or abs(seed) > 2**53 - 1:
            raise ValueError(f"seed must be an integer, got {seed}")
        # (seed | 0) ^ Math.imul(Math.floor(seed / 2^32) | 0, 0x27d4eb2f)
        mix = [(seed & M32) ^ _imul((seed >> 32) & M32, 0x27D4EB2F)]
        mix[0] = _splitmix32(mix) ^ _imul(stream & M32, 0x165667B1)
        self.a = _splitmix32(mix)
        self.b = _splitmix32(mix)
        self.c = _splitmix32(mix)
        self.d = 1
        for _ in range(12):
            self.uint32()

    def uint32(self) -> int:
        a, b, c, d = self.a, self.b, self.c, self.d
        t = (a + b + d) & M32
        self.d = (d + 1) & M32
        self.a = b ^ (b >> 9)
        self.b = (c + (c << 3)) & M32
        c = ((c << 21) | (c >> 11)) & M32
        self.c = (c + t) & M32
        return t

    def float(self) -> float:
        return self.uint32() / TWO_POW_32

    def int(self, n: int) -> int:
        if n <= 0 or n > TWO_POW_32:
            raise ValueError(f"int(n) needs 1 <= n <= 2^32, got {n}")
        limit = TWO_POW_32 - (TWO_POW_32 % n)
        x = self.uint32()
        while x >= limit:
            x = self.uint32()
        return x % n

    def shuffle(self, items: list) -> list:
        """In-place Fisher-Yates, the same swaps as rng.ts."""
        for i in range(len(items) - 1, 0, -1):
            j = self.int(i + 1)
            items[i], items[j] = items[j], items[i]
        return items
