//! The buggy processors' `#[tokio::test]`s, exactly as a tokio user writes them. They fail
//! under Lockstep by design, so this target is left out of the default test run
//! (`test = false`); `tests/user.rs` runs them in a child process, reads the report, and runs
//! the replay command it prints.

#[tokio::test]
async fn the_debounce_emits_an_item_followed_by_quiet() {
    assert_eq!(tokio_user::debounce::item_at_the_deadline(true).await, [1, 2]);
}

#[tokio::test]
async fn the_throttle_passes_six_after_the_cooldown() {
    assert!(tokio_user::throttle::six_after_the_cooldown(true).await);
}
