//! A tokio user's binary: `#[tokio::main]` over the buggy throttle, unchanged tokio code.
//!
//! Under Lockstep, `main` is one simulation: the canonical order unless `LOCKSTEP_SEED` or
//! `LOCKSTEP_TAPE` picks another. `LOCKSTEP_SEED=5 cargo run -p tokio-user --bin
//! throttle_main` hangs the throttle (race 1 of the catalogue); the report ends with the
//! replay command of this binary, which `tests/user.rs` runs as printed.

#[tokio::main]
async fn main() {
    let passed = tokio_user::throttle::six_after_the_cooldown(true).await;
    assert!(passed, "the throttle dropped the item after its cooldown");
    println!("the throttle passed the item after its cooldown");
}
