{
  "targets": [
    {
      "target_name": "detr_aead",
      "sources": ["src/aead.cc"],
      "cflags": ["-O2", "-fvisibility=hidden"],
      "cflags_cc": ["-O2", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
