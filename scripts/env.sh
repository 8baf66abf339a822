# Sourced by the project's scripts: the toolchain and linker every build here uses.
# cargo-contract and ink_e2e build contracts from temporary directories, where neither rust-toolchain.toml nor a
# .cargo/config.toml is seen, so both settings travel in the environment.
export RUSTUP_TOOLCHAIN=web
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
# cargo-contract builds each contract in a temporary workspace that resolves its dependencies afresh (our
# Cargo.lock is not used there): prefer versions that support the contracts' rust-version (1.85).
export CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback
