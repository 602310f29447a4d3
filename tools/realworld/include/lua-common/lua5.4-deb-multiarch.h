#define DEB_HOST_MULTIARCH "wasm32-wasi"
