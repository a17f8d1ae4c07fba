#!/usr/bin/env python3
"""Writes a small learnable IDX image set in MNIST's file names (train-* and t10k-*, raw):
class c of 4 lights quadrant c of a 28x28 image over uniform noise.
Usage: tests/make_idx.py DIR [TRAIN_COUNT] [TEST_COUNT]"""
import os
import random
import struct
import sys


def write(directory, prefix, count, rng):
    pixels, labels = bytearray(), bytearray()
    for i in range(count):
        cls = i % 4
        for p in range(28 * 28):
            quadrant = (p // 28 >= 14) * 2 + (p % 28 >= 14)
            pixels.append(rng.randrange(60) + (150 if quadrant == cls else 0))
        labels.append(cls)
    with open(os.path.join(directory, f"{prefix}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, count, 28, 28) + pixels)
    with open(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, count) + labels)


def main():
    directory = sys.argv[1]
    train = int(sys.argv[2]) if len(sys.argv) > 2 else 512
    test = int(sys.argv[3]) if len(sys.argv) > 3 else 128
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(1)
    write(directory, "train", train, rng)
    write(directory, "t10k", test, rng)


if __name__ == "__main__":
    main()
