//! Configuration errors.

use std::fmt;
use std::time::Duration;

/// A processor configuration that cannot work, reported when the processor is
/// built rather than as a panic or a hang later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A batcher's `max_size` was 0: no batch could ever be emitted.
    ZeroBatchSize,
    /// A window's `size` was zero.
    ZeroWindowSize,
    /// A sliding window's `slide` was zero: windows would never advance.
    ZeroSlide,
    /// A sliding window's `slide` was larger than its `size`: some instants would
    /// belong to no window.
    SlideLargerThanSize {
        /// The slide asked for.
        slide: Duration,
        /// The window size asked for.
        size: Duration,
    },
    /// A session window's `gap` was zero: every item would be its own session.
    ZeroSessionGap,
    /// A builder was finished without a required setting.
    Missing(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroBatchSize => f.write_str("batcher max_size must be at least 1"),
            ConfigError::ZeroWindowSize => f.write_str("window size must be greater than zero"),
            ConfigError::ZeroSlide => f.write_str("sliding window slide must be greater than zero"),
            ConfigError::SlideLargerThanSize { slide, size } => {
                write!(f, "sliding window slide ({slide:?}) must not be larger than its size ({size:?})")
            }
            ConfigError::ZeroSessionGap => f.write_str("session gap must be greater than zero"),
            ConfigError::Missing(what) => write!(f, "missing required setting `{what}`"),
        }
    }
}

impl std::error::Error for ConfigError {}
