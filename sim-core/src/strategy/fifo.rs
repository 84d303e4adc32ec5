//! The canonical order: always the oldest event, the first ready branch.

use super::{ChoicePoint, Policy};

/// Always picks index 0, the canonical order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fifo;

impl Policy for Fifo {
    fn choose(&mut self, _point: &ChoicePoint<'_>) -> usize {
        0
    }

    fn describe(&self) -> String {
        "fifo".to_string()
    }
}
