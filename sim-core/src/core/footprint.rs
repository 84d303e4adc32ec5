//! The running step's footprint: what it touched ([`Access`]), collected only when the
//! strategy asks for footprints (the reduced enumeration, [`crate::footprint`]), and
//! handed to the strategy when the step ends.

use super::Core;
use crate::access::{Access, Footprint};

/// What the current step touched, when the strategy asks for footprints.
pub(super) struct Footprints {
    footprint: Option<Vec<Access>>,
}

impl Footprints {
    pub(super) fn new(collect: bool) -> Footprints {
        Footprints { footprint: collect.then(Vec::new) }
    }

    /// Whether footprints are collected.
    #[inline(always)]
    pub(super) fn collecting(&self) -> bool {
        self.footprint.is_some()
    }

    /// Notes that the current step touched `access` (when footprints are collected).
    #[inline(always)]
    pub(super) fn touch(&mut self, access: Access) {
        if self.footprint.is_some() {
            self.push(access);
        }
    }

    /// The out-of-line half of [`Footprints::touch`]: the common path (nothing
    /// collected) stays a single test in the primitives.
    #[cold]
    #[inline(never)]
    pub(super) fn push(&mut self, access: Access) {
        if let Some(f) = &mut self.footprint {
            f.push(access);
        }
    }

    /// Starts collecting the footprint of a new step.
    #[inline]
    pub(super) fn begin(&mut self) {
        if let Some(f) = &mut self.footprint {
            f.clear();
        }
    }

    /// The current step's footprint, when footprints are collected (hand it back
    /// with [`Footprints::recycle`]).
    fn take(&mut self) -> Option<Footprint> {
        self.footprint.take().map(Footprint::new)
    }

    /// Hands back a footprint taken with [`Footprints::take`], to reuse it.
    fn recycle(&mut self, footprint: Footprint) {
        let mut reuse = footprint.into_accesses();
        reuse.clear();
        self.footprint = Some(reuse);
    }
}

impl Core {
    /// Notes that the current step touched `access` (when footprints are collected).
    #[inline(always)]
    pub(crate) fn touch(&mut self, access: Access) {
        self.footprint.touch(access);
    }

    /// Ends the current step's footprint and hands it to the strategy. The step's
    /// wake-ups are queued first (as the next step would), so they are part of it.
    /// `stops`: the driver stops after this step (its footprint then orders it
    /// against every event still pending, which the stop leaves unapplied).
    pub(crate) fn end_footprint(&mut self, stops: bool) {
        if !self.footprint.collecting() {
            return;
        }
        if stops {
            self.touch(Access::Stop);
        }
        self.drain_wakes();
        if let Some(footprint) = self.footprint.take() {
            self.sched.strategy.after_step(&footprint);
            self.footprint.recycle(footprint);
        }
    }

    /// Notes that the current step touched the timer in slot `key`.
    #[inline(always)]
    pub(super) fn touch_timer(&mut self, key: usize) {
        if self.footprint.collecting() {
            self.push_timer_access(key);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_timer_access(&mut self, key: usize) {
        if let Some(access) = self.timers.access(key) {
            self.footprint.push(access);
        }
    }
}
