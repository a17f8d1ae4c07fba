// SGEMM: sepnet (kernels::sgemm) vs OpenBLAS vs BLIS vs oneDNN, row-major, on square sizes and
// on the LeNet-on-MNIST training shapes at batch 64 (per image and per batch).
//
// Names: gemm/<impl>/<M>x<N>x<K>/threads:<T>/real_time, label = transposes ("NT" = B transposed)
// and, for sepnet, the variant that ran; gemm_variant/<variant>/<M>x<N>x<K>/threads:1 times each
// variant of sepnet's GEMM (kernels/dispatch.h) forced on the shape.
// Counters: FLOPS = 2·M·N·K per second; pct_peak = FLOPS / measured FMA peak of T threads
// (kernels/machine_probe.h) · 100.
// Threads: sepnet and oneDNN use OpenMP (omp_set_num_threads), OpenBLAS
// openblas_set_num_threads, BLIS bli_thread_set_num_threads.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "bench_common.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/machine_probe.h"

#ifdef SEPNET_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef SEPNET_HAVE_BLIS
#include <blis.h>
#endif
#ifdef SEPNET_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

struct Shape {
  int m, n, k;
  bool trans_a, trans_b;
  const char* what;
};

const Shape kShapes[] = {
    {256, 256, 256, false, false, "square"},
    {512, 512, 512, false, false, "square"},
    {1024, 1024, 1024, false, false, "square"},
    {2048, 2048, 2048, false, false, "square"},
    // conv1 (1→6, 5×5, 28×28 → 24×24) and conv2 (6→16, 5×5, 12×12 → 8×8): forward W·cols
    {6, 576, 25, false, false, "conv1 fwd, per image"},
    {6, 36864, 25, false, false, "conv1 fwd, batch"},
    {16, 64, 150, false, false, "conv2 fwd, per image"},
    {16, 4096, 150, false, false, "conv2 fwd, batch"},
    // weight gradient dW = dY·colsᵀ
    {6, 25, 576, false, true, "conv1 dW, per image"},
    {6, 25, 36864, false, true, "conv1 dW, batch"},
    {16, 150, 64, false, true, "conv2 dW, per image"},
    {16, 150, 4096, false, true, "conv2 dW, batch"},
    // input gradient dcols = Wᵀ·dY
    {25, 576, 6, true, false, "conv1 dX, per image"},
    {25, 36864, 6, true, false, "conv1 dX, batch"},
    {150, 64, 16, true, false, "conv2 dX, per image"},
    {150, 4096, 16, true, false, "conv2 dX, batch"},
    // fully connected, batch 64: forward X·Wᵀ, backward dX = dY·W, dW = dYᵀ·X
    {64, 120, 256, false, true, "fc1 fwd"},
    {64, 84, 120, false, true, "fc2 fwd"},
    {64, 10, 84, false, true, "fc3 fwd"},
    {64, 256, 120, false, false, "fc1 dX"},
    {64, 120, 84, false, false, "fc2 dX"},
    {64, 84, 10, false, false, "fc3 dX"},
    {120, 256, 64, true, false, "fc1 dW"},
    {84, 120, 64, true, false, "fc2 dW"},
    {10, 84, 64, true, false, "fc3 dW"},
    // MobileNet α 0.25 (batch 32, 128²) 1×1 convolutions, channels-last: the tall-skinny paths
    {131072, 16, 8, false, true, "pw 8->16 fwd"},
    {131072, 8, 16, false, false, "pw 8->16 dX"},
    {8, 16, 131072, true, false, "pw 8->16 dW"},
    {32768, 32, 32, false, true, "pw 32->32 fwd"},
    {32768, 32, 32, false, false, "pw 32->32 dX"},
    {32, 32, 32768, true, false, "pw 32->32 dW"},
};

struct Operands {
  int lda, ldb, ldc;
  std::vector<float> a, b, c;
  explicit Operands(const Shape& s) {
    lda = s.trans_a ? s.m : s.k;
    ldb = s.trans_b ? s.k : s.n;
    ldc = s.n;
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    a.resize(static_cast<size_t>(s.m) * s.k);
    b.resize(static_cast<size_t>(s.k) * s.n);
    c.assign(static_cast<size_t>(s.m) * s.n, 0.0f);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
  }
};

using GemmFn = void (*)(const Shape&, Operands&);

void run_sepnet(const Shape& s, Operands& o) {
  sepnet::kernels::sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda, o.b.data(),
                         o.ldb, 0.0f, o.c.data(), o.ldc);
}
#ifdef SEPNET_HAVE_OPENBLAS
void run_openblas(const Shape& s, Operands& o) {
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
              s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n, s.k, 1.0f, o.a.data(), o.lda,
              o.b.data(), o.ldb, 0.0f, o.c.data(), o.ldc);
}
#endif
#ifdef SEPNET_HAVE_BLIS
void run_blis(const Shape& s, Operands& o) {
  float alpha = 1.0f, beta = 0.0f;
  // Row-major storage = row stride ld, column stride 1.
  bli_sgemm(s.trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
            s.trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.m, s.n, s.k, &alpha, o.a.data(),
            o.lda, 1, o.b.data(), o.ldb, 1, &beta, o.c.data(), o.ldc, 1);
}
#endif
#ifdef SEPNET_HAVE_ONEDNN
void run_onednn(const Shape& s, Operands& o) {
  dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', s.m, s.n, s.k, 1.0f, o.a.data(), o.lda,
             o.b.data(), o.ldb, 0.0f, o.c.data(), o.ldc);
}
#endif

void set_threads(const std::string& impl, int threads) {
  omp_set_num_threads(threads);
#ifdef SEPNET_HAVE_OPENBLAS
  if (impl == "openblas") openblas_set_num_threads(threads);
#endif
#ifdef SEPNET_HAVE_BLIS
  if (impl == "blis") bli_thread_set_num_threads(threads);
#endif
}

void bench_gemm(benchmark::State& state, std::string impl, GemmFn fn, Shape s, int threads) {
  set_threads(impl, threads);
  Operands o(s);
  fn(s, o);  // warm-up: packing buffers, thread pools
  for (auto _ : state) {
    fn(s, o);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * s.m * s.n * s.k;
  const double peak = sepnet::kernels::measure_peak_gflops(threads) * 1e9;
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pct_peak"] =
      benchmark::Counter(100.0 * flops / peak, benchmark::Counter::kIsIterationInvariantRate);
  std::string label = std::string(s.trans_a ? "T" : "N") + (s.trans_b ? "T" : "N") + " " + s.what;
  if (impl == "sepnet")  // the variant that ran (kernels/dispatch.h)
    label += std::string(" [") +
             sepnet::kernels::selected_variant(sepnet::kernels::gemm_variants(), sepnet::kernels::gemm_isa_for,
                                               sepnet::kernels::GemmOp::sgemm,
                                               sepnet::kernels::GemmShape{s.trans_a, s.trans_b, s.m, s.n, s.k})
                 .name +
             "]";
  state.SetLabel(label);
}

#ifdef SEPNET_HAVE_OPENBLAS
// Which shared object really provides a symbol (OpenBLAS and BLIS both export cblas_*).
std::string provider(void* symbol) {
  Dl_info info{};
  if (symbol != nullptr && dladdr(symbol, &info) != 0 && info.dli_fname != nullptr) return info.dli_fname;
  return "?";
}
#endif

void register_all() {
  std::vector<std::pair<std::string, GemmFn>> impls = {{"sepnet", &run_sepnet}};
#ifdef SEPNET_HAVE_OPENBLAS
  impls.emplace_back("openblas", &run_openblas);
  benchmark::AddCustomContext("openblas", openblas_get_config());
  benchmark::AddCustomContext("cblas_sgemm_from", provider(reinterpret_cast<void*>(&cblas_sgemm)));
#endif
#ifdef SEPNET_HAVE_BLIS
  impls.emplace_back("blis", &run_blis);
  benchmark::AddCustomContext("blis_arch", bli_arch_string(bli_arch_query_id()));
#endif
#ifdef SEPNET_HAVE_ONEDNN
  impls.emplace_back("onednn", &run_onednn);
#endif
  benchmark::AddCustomContext("sepnet_isa", sepnet::kernels::isa_name(sepnet::kernels::active_isa()));
  for (int threads : {1, 2}) {
    benchmark::AddCustomContext("peak_gflops_threads_" + std::to_string(threads),
                                std::to_string(sepnet::kernels::measure_peak_gflops(threads)));
  }
  for (const Shape& s : kShapes)
    for (int threads : {1, 2})
      for (const auto& [impl, fn] : impls) {
        const std::string name = "gemm/" + impl + "/" + std::to_string(s.m) + "x" +
                                 std::to_string(s.n) + "x" + std::to_string(s.k) +
                                 "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), bench_gemm, impl, fn, s, threads)->UseRealTime();
      }
  // Each variant of sepnet's GEMM (kernels/dispatch.h) forced on every shape, one thread.
  for (const Shape& s : kShapes)
    sepnet::bench::register_variants(sepnet::kernels::gemm_variants(), "gemm_variant",
                                     std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k) +
                                         "/threads:1",
                                     [s](benchmark::State& st) { bench_gemm(st, "sepnet", &run_sepnet, s, 1); });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
