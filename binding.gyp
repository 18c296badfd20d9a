{
  "targets": [
    {
      "target_name": "normlab",
      "sources": [
        "native/bindings/addon.cc",
        "native/bindings/gemm.cc",
        "native/bindings/elementwise.cc",
        "native/bindings/reduce.cc",
        "native/bindings/optim.cc",
        "native/bindings/loss.cc",
        "native/bindings/conv.cc",
        "native/bindings/pool.cc",
        "native/bindings/norm.cc",
        "native/bindings/channel_norm.cc",
        "native/bindings/local_response_norm.cc",
        "native/kernels/cpu_features.cc",
        "native/kernels/thread_pool.cc",
        "native/kernels/gemm.cc",
        "native/kernels/elementwise.cc",
        "native/kernels/reduce.cc",
        "native/kernels/optim.cc",
        "native/kernels/loss.cc",
        "native/kernels/conv.cc",
        "native/kernels/pool.cc",
        "native/kernels/norm.cc",
        "native/kernels/channel_norm.cc",
        "native/kernels/local_response_norm.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2", "-std=gnu++17"],
      "cflags": ["-O3"],
      # Functions on 64-byte and loops on 32-byte boundaries: without them a kernel's speed
      # depended on where the linker happened to place it (conv2dBackwardWeight on LeNet-5's
      # first layer: 457 us or 534 us for identical instructions, AVX2 and AVX-512 alike).
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread", "-falign-functions=64", "-falign-loops=32"],
      "ldflags": ["-pthread"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"] }
    }
  ]
}
