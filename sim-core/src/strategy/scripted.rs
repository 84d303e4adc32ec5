//! A schedule given as raw numbers, one per choice point, for property-test
//! frameworks to generate and shrink.

use super::{ChoicePoint, Policy};

/// Takes the `j`-th number for the `j`-th choice point, clamped to the options:
/// the pick is `min(value, options - 1)`; past the end of the list, canonical (0).
///
/// Clamping is monotone, so shrinking a number never picks a later option, and a
/// number shrunk to 0 is the canonical order: a shrinker that minimises the numbers
/// minimises the departures from the canonical order. Unlike a
/// [`Replay`](super::Replay), a script does not know the option counts, so it never
/// diverges.
#[derive(Clone, Debug, Default)]
pub struct Scripted {
    script: Vec<u32>,
    pos: usize,
}

impl Scripted {
    /// A strategy that follows `script`.
    pub fn new(script: Vec<u32>) -> Scripted {
        Scripted { script, pos: 0 }
    }
}

impl Policy for Scripted {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let value = self.script.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        (value as usize).min(point.options - 1)
    }

    fn describe(&self) -> String {
        describe_script(&self.script)
    }
}

/// `script[0,2,0,1]`, trailing zeros left out.
pub(crate) fn describe_script(script: &[u32]) -> String {
    let end = script.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
    let items: Vec<String> = script[..end].iter().map(u32::to_string).collect();
    format!("script[{}]", items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ChoiceKind;

    fn point(options: usize) -> ChoicePoint<'static> {
        ChoicePoint { options, kind: ChoiceKind::Schedule, step: 1, candidates: &[], identities: &[], identity: None }
    }

    #[test]
    fn values_are_clamped_and_the_end_is_canonical() {
        let mut s = Scripted::new(vec![5, 1, 0]);
        let picks: Vec<usize> = [2, 3, 4, 3].iter().map(|&n| s.choose(&point(n))).collect();
        assert_eq!(picks, [1, 1, 0, 0]);
        assert_eq!(s.describe(), "script[5,1]");
    }
}
