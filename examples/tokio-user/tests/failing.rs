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

/// The throttle test once more, with one line added: the input channel's values are shown
/// in the trace and the timeline (`lockstep::show_values`; outside simulation it does
/// nothing). `tests/user.rs` opens this test's timeline in headless Chromium.
#[tokio::test]
async fn the_throttle_passes_six_after_the_cooldown_with_its_values_shown() {
    const PERIOD: std::time::Duration = std::time::Duration::from_millis(50);
    let (tx, input) = tokio::sync::mpsc::channel(1);
    tokio::lockstep::show_values(&tx);
    let mut output = tokio_user::throttle::throttle_buggy(input, PERIOD);
    tx.send(1).await.unwrap();
    assert_eq!(output.recv().await, Some(1));
    tokio::time::sleep(PERIOD).await;
    tx.send(6).await.unwrap();
    assert_eq!(output.recv().await, Some(6));
}
