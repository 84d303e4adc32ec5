//! [`Mutex`] and [`RwLock`], shaped like tokio's: asynchronous locks built on the
//! fair [`Semaphore`], as tokio builds them.
//!
//! The value lives in a `parking_lot` lock that the semaphore's permit makes
//! uncontended: a guard holds the permit and that lock's guard, so it derefs to the
//! value with no `unsafe` code, and is `Send` where tokio's is.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{Arc, OnceLock};

use parking_lot::{
    ArcMutexGuard, ArcRwLockReadGuard, ArcRwLockWriteGuard, MappedMutexGuard as PlMappedMutexGuard,
    MappedRwLockReadGuard, MappedRwLockWriteGuard, MutexGuard as PlMutexGuard, RawMutex, RawRwLock,
    RwLockReadGuard as PlReadGuard, RwLockWriteGuard as PlWriteGuard,
};

use super::block_on;
use super::semaphore::{Semaphore, TryAcquireError};
use crate::Wait;

/// [`Mutex::try_lock`], [`RwLock::try_read`] and [`RwLock::try_write`] found the
/// lock taken (or others waiting first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

fn lock_wait(id: crate::ChannelId, _: u32) -> Wait {
    Wait::Lock(id)
}

fn read_wait(id: crate::ChannelId, _: u32) -> Wait {
    Wait::Read(id)
}

fn write_wait(id: crate::ChannelId, _: u32) -> Wait {
    Wait::Write(id)
}

// ---------------------------------------------------------------- Mutex

/// An asynchronous mutex, shaped like `tokio::sync::Mutex`: tasks get the lock
/// first come, first served; a guard may be held across `.await`.
///
/// Named (its creation site, or an enclosing
/// [`named`](crate::named) scope) in traces (`acquire`, `release`) and deadlock
/// reports ("lock on `state`").
pub struct Mutex<T> {
    sem: Semaphore,
    /// The value, in an `Arc` that owned guards share; made at the first use for a
    /// mutex made by [`Mutex::const_new`] (a constant cannot hold an `Arc`).
    data: OnceLock<Arc<parking_lot::Mutex<T>>>,
    /// `const_new`'s value until then.
    seed: parking_lot::Mutex<Option<T>>,
}

impl<T> Mutex<T> {
    /// A mutex holding `value`, named after its creation site.
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex::make(None, value, Location::caller())
    }

    /// A mutex holding `value` that a `const` or `static` can hold (tokio's
    /// `const_new`), named after its creation site and registered in the first
    /// simulation that uses it.
    #[track_caller]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex { sem: Semaphore::const_new(1), data: OnceLock::new(), seed: parking_lot::Mutex::new(Some(value)) }
    }

    fn make(name: Option<String>, value: T, at: &'static Location<'static>) -> Mutex<T> {
        Mutex {
            sem: Semaphore::make(name, 1, at),
            data: OnceLock::from(Arc::new(parking_lot::Mutex::new(value))),
            seed: parking_lot::Mutex::new(None),
        }
    }

    /// The value's lock (made now for a `const_new` mutex's first use).
    fn data(&self) -> &Arc<parking_lot::Mutex<T>> {
        self.data.get_or_init(|| {
            let value = self.seed.lock().take().expect("a const mutex's value is moved in once");
            Arc::new(parking_lot::Mutex::new(value))
        })
    }

    /// Waits for the lock.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.sem.acquire_raw(1, lock_wait).await.expect("a mutex's semaphore is never closed");
        MutexGuard { sem: &self.sem, lock: self, guard: Some(self.data().lock()) }
    }

    /// Takes the lock if it is free now.
    ///
    /// # Errors
    /// [`TryLockError`] when it is held (or others wait first).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.sem.try_acquire_raw(1).map_err(|_| TryLockError(()))?;
        Ok(MutexGuard { sem: &self.sem, lock: self, guard: Some(self.data().lock()) })
    }

    /// Waits for the lock, with a guard that owns the mutex (an `Arc`).
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.sem.acquire_raw(1, lock_wait).await.expect("a mutex's semaphore is never closed");
        let guard = self.data().lock_arc();
        OwnedMutexGuard { lock: self, guard: Some(guard) }
    }

    /// Takes the lock now, with a guard that owns the mutex.
    ///
    /// # Errors
    /// [`TryLockError`] when it is held (or others wait first).
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.sem.try_acquire_raw(1).map_err(|_| TryLockError(()))?;
        let guard = self.data().lock_arc();
        Ok(OwnedMutexGuard { lock: self, guard: Some(guard) })
    }

    /// tokio's thread-blocking lock, for a thread that runs no simulation: it parks
    /// the thread until the lock is free, as tokio's.
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime" (in a simulated task the run fails with that panic).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        block_on("Mutex::blocking_lock", || self.sem.name(), self.lock())
    }

    /// tokio's thread-blocking owned lock (see [`blocking_lock`](Mutex::blocking_lock)).
    ///
    /// # Panics
    /// Inside a simulation.
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let name = self.sem.name();
        block_on("Mutex::blocking_lock_owned", || name, self.lock_owned())
    }

    /// The value, through exclusive access to the mutex (no locking).
    pub fn get_mut(&mut self) -> &mut T {
        match self.data.get_mut() {
            Some(data) => Arc::get_mut(data).expect("no guard outlives exclusive access").get_mut(),
            None => self.seed.get_mut().as_mut().expect("a const mutex holds its value until first used"),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        match self.data.into_inner() {
            Some(data) => match Arc::try_unwrap(data) {
                Ok(m) => m.into_inner(),
                Err(_) => unreachable!("no guard outlives the mutex it borrows"),
            },
            None => self.seed.into_inner().expect("a const mutex holds its value until first used"),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.data().try_lock() {
            Some(v) => d.field("data", &&*v),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Holds a [`Mutex`]'s lock; dropping it unlocks.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T> {
    sem: &'a Semaphore,
    lock: &'a Mutex<T>,
    guard: Option<PlMutexGuard<'a, T>>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }

    /// A guard of a part of the value.
    pub fn map<U>(mut this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let guard = this.guard.take().expect("held until dropped");
        let sem = this.sem;
        MappedMutexGuard { sem, guard: Some(PlMutexGuard::map(guard, f)) }
    }

    /// A guard of a part of the value, when `f` finds one; else the guard back.
    ///
    /// # Errors
    /// The original guard, when `f` returns `None`.
    pub fn try_map<U>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        match PlMutexGuard::try_map(guard, f) {
            Ok(mapped) => {
                let sem = this.sem;
                Ok(MappedMutexGuard { sem, guard: Some(mapped) })
            }
            Err(guard) => {
                this.guard = Some(guard);
                Err(this)
            }
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.sem.release(1);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// Holds a [`Mutex`]'s lock, giving access to a part of the value
/// ([`MutexGuard::map`]); dropping it unlocks.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MappedMutexGuard<'a, U> {
    sem: &'a Semaphore,
    guard: Option<PlMappedMutexGuard<'a, U>>,
}

impl<'a, U> MappedMutexGuard<'a, U> {
    /// A guard of a part of this part.
    pub fn map<V>(mut this: Self, f: impl FnOnce(&mut U) -> &mut V) -> MappedMutexGuard<'a, V> {
        let guard = this.guard.take().expect("held until dropped");
        let sem = this.sem;
        MappedMutexGuard { sem, guard: Some(PlMappedMutexGuard::map(guard, f)) }
    }

    /// A guard of a part of this part, when `f` finds one; else the guard back.
    ///
    /// # Errors
    /// The original guard, when `f` returns `None`.
    pub fn try_map<V>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<MappedMutexGuard<'a, V>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        match PlMappedMutexGuard::try_map(guard, f) {
            Ok(mapped) => {
                let sem = this.sem;
                Ok(MappedMutexGuard { sem, guard: Some(mapped) })
            }
            Err(guard) => {
                this.guard = Some(guard);
                Err(this)
            }
        }
    }
}

impl<U> Deref for MappedMutexGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<U> DerefMut for MappedMutexGuard<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<U> Drop for MappedMutexGuard<'_, U> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.sem.release(1);
        }
    }
}

impl<U: fmt::Debug> fmt::Debug for MappedMutexGuard<'_, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Holds the lock of a [`Mutex`] it owns (an `Arc`); dropping it unlocks.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
    guard: Option<ArcMutexGuard<RawMutex, T>>,
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.lock.sem.release(1);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ---------------------------------------------------------------- RwLock

/// An asynchronous reader-writer lock, shaped like `tokio::sync::RwLock`: fair and
/// write-preferring (a waiting writer holds up readers that come after it), at most
/// [`max_readers`](RwLock::with_max_readers) readers at once.
///
/// Named (its creation site, or an enclosing
/// [`named`](crate::named) scope) in traces (`acquire`, `release`) and deadlock
/// reports ("read on `cfg`", "write on `cfg`").
///
/// Unlike tokio's, it is `Send` only when `T: Send + Sync` (tokio's needs
/// `T: Send`): owned guards share the value through an `Arc`.
pub struct RwLock<T> {
    sem: Semaphore,
    max_readers: u32,
    /// The value, in an `Arc` that owned guards share; made at the first use for a
    /// lock made by a `const fn` (a constant cannot hold an `Arc`).
    data: OnceLock<Arc<parking_lot::RwLock<T>>>,
    /// The `const fn`'s value until then.
    seed: parking_lot::Mutex<Option<T>>,
}

/// tokio's limit on readers.
const MAX_READS: u32 = u32::MAX >> 3;

impl<T> RwLock<T> {
    /// A lock holding `value`, named after its creation site.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock::make(None, value, MAX_READS, Location::caller())
    }

    /// A lock that lets at most `max_reads` readers in at once.
    ///
    /// # Panics
    /// When `max_reads` is 0 or above tokio's limit (`u32::MAX >> 3`).
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        RwLock::make(None, value, max_reads, Location::caller())
    }

    /// A lock holding `value` that a `const` or `static` can hold (tokio's
    /// `const_new`), named after its creation site and registered in the first
    /// simulation that uses it.
    #[track_caller]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// As [`const_new`](RwLock::const_new), letting at most `max_reads` readers in at once.
    ///
    /// # Panics
    /// When `max_reads` is 0 or above tokio's limit (`u32::MAX >> 3`).
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(max_reads != 0, "a RwLock may not be created with 0 readers");
        assert!(max_reads <= MAX_READS, "a RwLock may not be created with more than u32::MAX >> 3 readers");
        RwLock {
            sem: Semaphore::const_new(max_reads as usize),
            max_readers: max_reads,
            data: OnceLock::new(),
            seed: parking_lot::Mutex::new(Some(value)),
        }
    }

    fn make(name: Option<String>, value: T, max_reads: u32, at: &'static Location<'static>) -> RwLock<T> {
        assert!(max_reads > 0, "a RwLock may not be created with 0 readers");
        assert!(max_reads <= MAX_READS, "a RwLock may not be created with more than {MAX_READS} readers");
        RwLock {
            sem: Semaphore::make(name, max_reads as usize, at),
            max_readers: max_reads,
            data: OnceLock::from(Arc::new(parking_lot::RwLock::new(value))),
            seed: parking_lot::Mutex::new(None),
        }
    }

    /// The value's lock (made now for a `const fn` lock's first use).
    fn data(&self) -> &Arc<parking_lot::RwLock<T>> {
        self.data.get_or_init(|| {
            let value = self.seed.lock().take().expect("a const lock's value is moved in once");
            Arc::new(parking_lot::RwLock::new(value))
        })
    }

    /// Waits for a read lock (behind any writer already waiting).
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.sem.acquire_raw(1, read_wait).await.expect("an RwLock's semaphore is never closed");
        RwLockReadGuard { sem: &self.sem, permits: 1, guard: Some(PlReadGuard::map(self.data().read(), |v| v)) }
    }

    /// Takes a read lock if one is free now.
    ///
    /// # Errors
    /// [`TryLockError`] when a writer holds the lock or waits for it.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem.try_acquire_raw(1).map_err(|_| TryLockError(()))?;
        Ok(RwLockReadGuard { sem: &self.sem, permits: 1, guard: Some(PlReadGuard::map(self.data().read(), |v| v)) })
    }

    /// Waits for the write lock.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.sem.acquire_raw(self.max_readers, write_wait).await.expect("an RwLock's semaphore is never closed");
        RwLockWriteGuard { lock: self, guard: Some(self.data().write()) }
    }

    /// Takes the write lock if it is free now.
    ///
    /// # Errors
    /// [`TryLockError`] when it is held (by readers or a writer).
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.sem.try_acquire_raw(self.max_readers).map_err(|_: TryAcquireError| TryLockError(()))?;
        Ok(RwLockWriteGuard { lock: self, guard: Some(self.data().write()) })
    }

    /// Waits for a read lock, with a guard that owns the lock (an `Arc`).
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.sem.acquire_raw(1, read_wait).await.expect("an RwLock's semaphore is never closed");
        let guard = self.data().read_arc();
        OwnedRwLockReadGuard { lock: self, permits: 1, guard: Some(guard) }
    }

    /// Takes a read lock now, with a guard that owns the lock.
    ///
    /// # Errors
    /// [`TryLockError`] when a writer holds the lock or waits for it.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.sem.try_acquire_raw(1).map_err(|_| TryLockError(()))?;
        let guard = self.data().read_arc();
        Ok(OwnedRwLockReadGuard { lock: self, permits: 1, guard: Some(guard) })
    }

    /// Waits for the write lock, with a guard that owns the lock.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.sem.acquire_raw(self.max_readers, write_wait).await.expect("an RwLock's semaphore is never closed");
        let guard = self.data().write_arc();
        OwnedRwLockWriteGuard { lock: self, guard: Some(guard) }
    }

    /// Takes the write lock now, with a guard that owns the lock.
    ///
    /// # Errors
    /// [`TryLockError`] when it is held.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.sem.try_acquire_raw(self.max_readers).map_err(|_| TryLockError(()))?;
        let guard = self.data().write_arc();
        Ok(OwnedRwLockWriteGuard { lock: self, guard: Some(guard) })
    }

    /// tokio's thread-blocking read, for a thread that runs no simulation (see
    /// [`Mutex::blocking_lock`]).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        block_on("RwLock::blocking_read", || self.sem.name(), self.read())
    }

    /// tokio's thread-blocking write, for a thread that runs no simulation (see
    /// [`Mutex::blocking_lock`]).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        block_on("RwLock::blocking_write", || self.sem.name(), self.write())
    }

    /// The value, through exclusive access to the lock (no locking).
    pub fn get_mut(&mut self) -> &mut T {
        match self.data.get_mut() {
            Some(data) => Arc::get_mut(data).expect("no guard outlives exclusive access").get_mut(),
            None => self.seed.get_mut().as_mut().expect("a const lock holds its value until first used"),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        match self.data.into_inner() {
            Some(data) => match Arc::try_unwrap(data) {
                Ok(l) => l.into_inner(),
                Err(_) => unreachable!("no guard outlives the lock it borrows"),
            },
            None => self.seed.into_inner().expect("a const lock holds its value until first used"),
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.data().try_read() {
            Some(v) => d.field("data", &&*v),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Holds a read lock of an [`RwLock`] (or of a part of its value, after
/// [`map`](RwLockReadGuard::map)); dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T> {
    sem: &'a Semaphore,
    permits: u32,
    guard: Option<MappedRwLockReadGuard<'a, T>>,
}

impl<'a, T> RwLockReadGuard<'a, T> {
    /// A read guard of a part of the value.
    pub fn map<U>(mut this: Self, f: impl FnOnce(&T) -> &U) -> RwLockReadGuard<'a, U> {
        let guard = this.guard.take().expect("held until dropped");
        let (sem, permits) = (this.sem, this.permits);
        RwLockReadGuard { sem, permits, guard: Some(MappedRwLockReadGuard::map(guard, f)) }
    }

    /// A read guard of a part of the value, when `f` finds one; else the guard back.
    ///
    /// # Errors
    /// The original guard, when `f` returns `None`.
    pub fn try_map<U>(mut this: Self, f: impl FnOnce(&T) -> Option<&U>) -> Result<RwLockReadGuard<'a, U>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        match MappedRwLockReadGuard::try_map(guard, f) {
            Ok(mapped) => {
                let (sem, permits) = (this.sem, this.permits);
                Ok(RwLockReadGuard { sem, permits, guard: Some(mapped) })
            }
            Err(guard) => {
                this.guard = Some(guard);
                Err(this)
            }
        }
    }
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.sem.release(self.permits as usize);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Holds the write lock of an [`RwLock`]; dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
    guard: Option<PlWriteGuard<'a, T>>,
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting a writer in between;
    /// readers waiting behind are let in.
    pub fn downgrade(mut this: Self) -> RwLockReadGuard<'a, T> {
        let guard = this.guard.take().expect("held until dropped");
        let lock = this.lock;
        let read = PlWriteGuard::downgrade(guard);
        // Keep one permit of the writer's for the reader; return the rest.
        lock.sem.release(lock.max_readers as usize - 1);
        RwLockReadGuard { sem: &lock.sem, permits: 1, guard: Some(PlReadGuard::map(read, |v| v)) }
    }

    /// Downgrades to a read lock (as [`downgrade`](RwLockWriteGuard::downgrade)) of
    /// a part of the value.
    /// `f` runs before any waiting reader gets in, as tokio's.
    pub fn downgrade_map<U>(mut this: Self, f: impl FnOnce(&T) -> &U) -> RwLockReadGuard<'a, U> {
        let guard = this.guard.take().expect("held until dropped");
        let lock = this.lock;
        let read = MappedRwLockReadGuard::map(PlReadGuard::map(PlWriteGuard::downgrade(guard), |v| v), f);
        // Only now let the readers waiting behind in.
        lock.sem.release(lock.max_readers as usize - 1);
        RwLockReadGuard { sem: &lock.sem, permits: 1, guard: Some(read) }
    }

    /// Downgrades to a read lock of a part of the value when `f` finds one
    /// (as [`downgrade_map`](RwLockWriteGuard::downgrade_map)); when it returns
    /// `None` the write guard comes back, never unlocked nor downgraded meanwhile.
    /// `f` runs before any waiting reader gets in, as tokio's.
    ///
    /// # Errors
    /// The write guard, when `f` returns `None`.
    pub fn try_downgrade_map<U>(
        mut this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        let lock = this.lock;
        match PlReadGuard::try_map(PlWriteGuard::downgrade(guard), f) {
            Ok(read) => {
                // Only now let the readers waiting behind in.
                lock.sem.release(lock.max_readers as usize - 1);
                Ok(RwLockReadGuard { sem: &lock.sem, permits: 1, guard: Some(read) })
            }
            Err(read) => {
                // The semaphore's permits are all still held: nobody else can reach
                // the value between the inner read lock and the write lock again.
                drop(read);
                this.guard = Some(lock.data().write());
                Err(this)
            }
        }
    }

    /// The same lock as an [`RwLockMappedWriteGuard`] of the whole value (tokio's
    /// `into_mapped`), for code that holds either kind in one variable.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |value| value)
    }

    /// A write guard of a part of the value.
    pub fn map<U>(mut this: Self, f: impl FnOnce(&mut T) -> &mut U) -> RwLockMappedWriteGuard<'a, U> {
        let guard = this.guard.take().expect("held until dropped");
        let lock = this.lock;
        RwLockMappedWriteGuard { sem: &lock.sem, permits: lock.max_readers, guard: Some(PlWriteGuard::map(guard, f)) }
    }

    /// A write guard of a part of the value, when `f` finds one; else the guard back.
    ///
    /// # Errors
    /// The original guard, when `f` returns `None`.
    pub fn try_map<U>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        match PlWriteGuard::try_map(guard, f) {
            Ok(mapped) => {
                let lock = this.lock;
                Ok(RwLockMappedWriteGuard { sem: &lock.sem, permits: lock.max_readers, guard: Some(mapped) })
            }
            Err(guard) => {
                this.guard = Some(guard);
                Err(this)
            }
        }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.lock.sem.release(self.lock.max_readers as usize);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Holds the write lock of an [`RwLock`], giving access to a part of the value
/// ([`RwLockWriteGuard::map`]); dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockMappedWriteGuard<'a, U> {
    sem: &'a Semaphore,
    permits: u32,
    guard: Option<MappedRwLockWriteGuard<'a, U>>,
}

impl<'a, U> RwLockMappedWriteGuard<'a, U> {
    /// A write guard of a part of this part.
    pub fn map<V>(mut this: Self, f: impl FnOnce(&mut U) -> &mut V) -> RwLockMappedWriteGuard<'a, V> {
        let guard = this.guard.take().expect("held until dropped");
        let (sem, permits) = (this.sem, this.permits);
        RwLockMappedWriteGuard { sem, permits, guard: Some(MappedRwLockWriteGuard::map(guard, f)) }
    }

    /// A write guard of a part of this part, when `f` finds one; else the guard back.
    ///
    /// # Errors
    /// The original guard, when `f` returns `None`.
    pub fn try_map<V>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<RwLockMappedWriteGuard<'a, V>, Self> {
        let guard = this.guard.take().expect("held until dropped");
        match MappedRwLockWriteGuard::try_map(guard, f) {
            Ok(mapped) => {
                let (sem, permits) = (this.sem, this.permits);
                Ok(RwLockMappedWriteGuard { sem, permits, guard: Some(mapped) })
            }
            Err(guard) => {
                this.guard = Some(guard);
                Err(this)
            }
        }
    }
}

impl<U> Deref for RwLockMappedWriteGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<U> DerefMut for RwLockMappedWriteGuard<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<U> Drop for RwLockMappedWriteGuard<'_, U> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.sem.release(self.permits as usize);
        }
    }
}

impl<U: fmt::Debug> fmt::Debug for RwLockMappedWriteGuard<'_, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Holds a read lock of an [`RwLock`] it owns (an `Arc`); dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedRwLockReadGuard<T> {
    lock: Arc<RwLock<T>>,
    permits: u32,
    guard: Option<ArcRwLockReadGuard<RawRwLock, T>>,
}

impl<T> OwnedRwLockReadGuard<T> {
    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.lock.sem.release(self.permits as usize);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Holds the write lock of an [`RwLock`] it owns (an `Arc`); dropping it unlocks.
#[must_use = "dropping the guard unlocks at once"]
pub struct OwnedRwLockWriteGuard<T> {
    lock: Arc<RwLock<T>>,
    guard: Option<ArcRwLockWriteGuard<RawRwLock, T>>,
}

impl<T> OwnedRwLockWriteGuard<T> {
    /// Turns the write lock into a read lock without letting a writer in between.
    pub fn downgrade(mut this: Self) -> OwnedRwLockReadGuard<T> {
        let guard = this.guard.take().expect("held until dropped");
        let read = ArcRwLockWriteGuard::downgrade(guard);
        let lock = this.lock.clone();
        // `this` releases nothing when dropped now that its guard is gone.
        lock.sem.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard { lock, permits: 1, guard: Some(read) }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            drop(guard);
            self.lock.sem.release(self.lock.max_readers as usize);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
