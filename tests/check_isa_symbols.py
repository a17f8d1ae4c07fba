#!/usr/bin/env python3
"""Checks that no code compiled for AVX2 or AVX-512 can reach a CPU without it through the linker.

Per-ISA translation units (*_avx2.cpp, *_avx512.cpp) are compiled with -mavx2 / -mavx512f.
Inline and template functions they instantiate (std::vector<float> members, header helpers)
are emitted as weak symbols; when another object file instantiates the same function, the
linker keeps one copy, possibly the AVX-512 one, and baseline code then runs AVX-512
instructions. So: no weak function may be defined by object files of two different ISA
classes (baseline, avx2, avx512). Exits 1 listing every such function.

Usage: check_isa_symbols.py BUILD_DIR     every CMake object file under BUILD_DIR
       check_isa_symbols.py --self-test   shows that a shared inline function is caught
"""
import collections
import pathlib
import subprocess
import sys
import tempfile


def isa_of(path: str) -> str:
    return "avx512" if "_avx512" in path else "avx2" if "_avx2" in path else "baseline"


def shared_weak_functions(objects):
    defined = collections.defaultdict(set)
    for obj in objects:
        out = subprocess.run(["nm", "--defined-only", str(obj)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] == "W":  # weak (vague-linkage) code
                defined[fields[2]].add(isa_of(str(obj)))
    return {name: isas for name, isas in defined.items() if len(isas) > 1}


def report(shared) -> int:
    names = list(shared)
    demangled = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    for name, pretty in sorted(zip(names, demangled), key=lambda p: p[1]):
        print(f"{'/'.join(sorted(shared[name]))}: {pretty}")
    return len(shared)


def self_test() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        (d / "shared.h").write_text("#include <vector>\n[[gnu::noinline]] inline float total(const std::vector<float>& v) "
                                    "{ float s = 0; for (float x : v) s += x; return s; }\n")
        (d / "k_avx512.cpp").write_text('#include "shared.h"\nfloat fast(const std::vector<float>& v) { return total(v); }\n')
        (d / "k.cpp").write_text('#include "shared.h"\nfloat slow(const std::vector<float>& v) { return total(v); }\n')
        for src, flags in (("k_avx512.cpp", ["-mavx512f"]), ("k.cpp", [])):
            subprocess.run(["c++", "-O2", "-c", *flags, str(d / src), "-o", str(d / (src + ".o"))], check=True)
        found = shared_weak_functions(sorted(d.glob("*.o")))
        if any("total" in subprocess.run(["c++filt", n], capture_output=True, text=True).stdout for n in found):
            print("check_isa_symbols self-test: the inline function shared by a baseline and an AVX-512 object is caught")
            return 0
        print("check_isa_symbols self-test: FAILED to catch a shared inline function")
        return 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    build = pathlib.Path(sys.argv[1])
    objects = sorted(p for p in build.rglob("*.o") if "CMakeFiles" in p.parts)
    isa_objects = [p for p in objects if isa_of(str(p)) != "baseline"]
    if not isa_objects:
        print(f"check_isa_symbols: no per-ISA object files under {build}")
        return 2
    bad = report(shared_weak_functions(objects))
    print(f"check_isa_symbols: {len(objects)} object files ({len(isa_objects)} per-ISA), "
          f"{bad} weak functions defined under more than one ISA")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
