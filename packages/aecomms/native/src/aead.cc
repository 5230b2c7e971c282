// ChaCha20-Poly1305 (RFC 8439) through the OpenSSL that Node itself links, for @detr/aecomms:
// gathers a message's parts and seals them into the caller's buffer, or opens ciphertext pieces
// into one, with no allocation per message (node:crypto allocates a cipher object and an output
// buffer per message; on 64 KiB messages that is half the cost). Every argument is checked.
#include <node_api.h>
#include <openssl/evp.h>
#include <cstdint>
#include <cstring>

namespace {

constexpr size_t kKey = 32;
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
// At most this many parts or pieces per message (the session passes a handful).
constexpr uint32_t kMaxParts = 64;

struct Span {
  uint8_t* data = nullptr;
  size_t len = 0;
};

napi_value fail(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return nullptr;
}

bool getBytes(napi_env env, napi_value v, Span* out) {
  bool ok = false;
  if (napi_is_typedarray(env, v, &ok) != napi_ok || !ok) return false;
  napi_typedarray_type type;
  void* data;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &out->len, &data, &ab, &offset) != napi_ok ||
      type != napi_uint8_array)
    return false;
  out->data = static_cast<uint8_t*>(data);
  return true;
}

// An array of Uint8Array into spans; false when it is not one or has more than kMaxParts.
bool getList(napi_env env, napi_value v, Span* spans, uint32_t* count, size_t* total) {
  bool isArray = false;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray) return false;
  uint32_t n;
  napi_get_array_length(env, v, &n);
  if (n > kMaxParts) return false;
  *total = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok || !getBytes(env, e, &spans[i])) return false;
    *total += spans[i].len;
  }
  *count = n;
  return true;
}

// One cipher context for the thread, set to ChaCha20-Poly1305 once and given a new key and
// nonce for every message (naming the cipher again costs a provider lookup per message).
EVP_CIPHER_CTX* context() {
  static thread_local struct Holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    bool ready = ctx != nullptr &&
                 EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, 1) == 1;
    ~Holder() { EVP_CIPHER_CTX_free(ctx); }
  } holder;
  return holder.ready ? holder.ctx : nullptr;
}

// The arguments both functions share: key, nonce, ad (or null/undefined), list, out, offset.
struct Call {
  Span key, nonce, ad, out;
  Span parts[kMaxParts];
  uint32_t count = 0;
  size_t total = 0;
  uint32_t offset = 0;
};

// Reads the arguments both functions start with: key, nonce, ad, list, out, offset; `extra`
// bytes of room are needed after the list's total (the tag when sealing).
const char* readCall(napi_env env, napi_value* argv, size_t extra, Call* c) {
  if (!getBytes(env, argv[0], &c->key) || c->key.len != kKey) return "the key must be 32 bytes";
  if (!getBytes(env, argv[1], &c->nonce) || c->nonce.len != kNonce)
    return "the nonce must be 12 bytes";
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t != napi_null && t != napi_undefined && !getBytes(env, argv[2], &c->ad))
    return "ad must be a Uint8Array or null";
  if (!getList(env, argv[3], c->parts, &c->count, &c->total))
    return "expected an array of at most 64 Uint8Array";
  if (c->total > 0x7fffffff || c->ad.len > 0x7fffffff) return "too long";
  if (!getBytes(env, argv[4], &c->out)) return "out must be a Uint8Array";
  if (napi_get_value_uint32(env, argv[5], &c->offset) != napi_ok) return "offset must be a number";
  if (c->offset > c->out.len || c->out.len - c->offset < c->total + extra)
    return "out is too short";
  return nullptr;
}

// Runs ChaCha20-Poly1305 over the call's AD and parts into out[offset]: encrypting (the tag is
// written after the ciphertext) or decrypting (checking `tag`; a forged message leaves the
// output zeroed). False when OpenSSL fails or, when decrypting, the tag does not verify.
bool crypt(const Call& c, bool encrypt, const uint8_t* tag) {
  EVP_CIPHER_CTX* ctx = context();
  uint8_t* out = c.out.data + c.offset;
  int n = 0;
  size_t o = 0;
  bool ok = ctx != nullptr &&
            EVP_CipherInit_ex(ctx, nullptr, nullptr, c.key.data, c.nonce.data, encrypt ? 1 : 0) == 1;
  if (ok && c.ad.len > 0)
    ok = EVP_CipherUpdate(ctx, nullptr, &n, c.ad.data, static_cast<int>(c.ad.len)) == 1;
  for (uint32_t i = 0; ok && i < c.count; i++) {
    if (c.parts[i].len == 0) continue;
    // A part may be exactly in place (same memory as its output); overlapping `out` elsewhere
    // is the caller's error (the session never passes one).
    ok = EVP_CipherUpdate(ctx, out + o, &n, c.parts[i].data, static_cast<int>(c.parts[i].len)) == 1;
    // ChaCha20-Poly1305 is a stream cipher in OpenSSL: every update writes all it is given.
    if (ok && static_cast<size_t>(n) != c.parts[i].len) ok = false;
    o += static_cast<size_t>(n);
  }
  if (encrypt) {
    if (ok) ok = EVP_CipherFinal_ex(ctx, out + o, &n) == 1;
    if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, out + o + n) == 1;
    return ok;
  }
  uint8_t t[kTag];
  memcpy(t, tag, kTag);
  if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, t) == 1;
  if (ok) ok = EVP_CipherFinal_ex(ctx, out + o, &n) == 1;
  // A forged message leaves no plaintext behind.
  if (!ok) memset(out, 0, c.total);
  return ok;
}

// seal(key, nonce, ad, parts, out, offset): writes ct ‖ tag at out[offset]; returns its length.
napi_value Seal(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 6) return fail(env, "seal takes 6 arguments");
  Call c;
  if (const char* err = readCall(env, argv, kTag, &c)) return fail(env, err);
  if (!crypt(c, true, nullptr)) return fail(env, "OpenSSL failed to seal");
  napi_value result;
  napi_create_uint32(env, static_cast<uint32_t>(c.total + kTag), &result);
  return result;
}

// open(key, nonce, ad, pieces, out, offset, tag): plaintext at out[offset]; false if forged.
napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 7) return fail(env, "open takes 7 arguments");
  Call c;
  if (const char* err = readCall(env, argv, 0, &c)) return fail(env, err);
  Span tag;
  if (!getBytes(env, argv[6], &tag) || tag.len != kTag) return fail(env, "the tag must be 16 bytes");
  napi_value result;
  napi_get_boolean(env, crypt(c, false, tag.data), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"seal", nullptr, Seal, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
