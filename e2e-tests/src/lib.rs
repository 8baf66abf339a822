//! End-to-end tests of the BTP contracts on a real `pallet-contracts` runtime; see `tests/`.
//! Run with `cargo test -p btp-e2e-tests --features e2e-tests`.
