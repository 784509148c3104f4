//! The CPU renderer's instruction set, chosen at run time.
//!
//! Its hot loops (blends, fills, overlay rows, blur sums) are plain integer code that the
//! compiler vectorises; on x86_64 the baseline target only has SSE2 (8 u16 lanes), while
//! every x86 machine DeepStream runs on has AVX2 (16 lanes). [`multiversioned!`] compiles
//! such a function twice, for the baseline and with AVX2 enabled, and takes the AVX2 copy
//! where the CPU has it: one binary for every x86_64 CPU, no `-C target-cpu` needed.
//! Both copies are the same Rust integer arithmetic, so their bytes are identical (a test
//! draws every kind of scene both ways); aarch64 (Jetson) has NEON in its baseline.

use std::sync::atomic::{AtomicU8, Ordering};

/// 0: not yet detected; 1: baseline; 2: AVX2.
static LEVEL: AtomicU8 = AtomicU8::new(0);

/// Whether the AVX2 copies run: the CPU has AVX2 and [`force_baseline`] did not turn
/// them off. One relaxed load after the first call.
#[inline]
pub(crate) fn avx2() -> bool {
    match LEVEL.load(Ordering::Relaxed) {
        0 => {
            let level = if detect() { 2 } else { 1 };
            // A concurrent force_baseline wins: only an undetected state is replaced.
            let _ = LEVEL.compare_exchange(0, level, Ordering::Relaxed, Ordering::Relaxed);
            LEVEL.load(Ordering::Relaxed) == 2
        }
        l => l == 2,
    }
}

fn detect() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The instruction set the CPU renderer draws with in this process: `"avx2"` or
/// `"baseline"` (reported by the benchmarks beside their figures).
pub fn instruction_set() -> &'static str {
    if avx2() { "avx2" } else { "baseline" }
}

/// Draws with the baseline instruction set only (`true`), or with the best the CPU has
/// (`false`), from the next command on, process-wide. For tests and benchmarks: both give
/// the same bytes.
pub fn force_baseline(on: bool) {
    LEVEL.store(if on || !detect() { 1 } else { 2 }, Ordering::Relaxed);
}

/// Defines `fn $name(args) -> ret { body }` compiled twice on x86_64 (baseline and AVX2,
/// the body inlined into each) and dispatching on [`avx2`]. Arguments must be plain
/// identifiers; the body may use the enclosing module's items.
macro_rules! multiversioned {
    ($(#[$attr:meta])* $vis:vis fn $name:ident ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if $crate::cpu::simd::avx2() {
                    // SAFETY: the CPU has AVX2 (detected at run time by simd::avx2).
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}
pub(crate) use multiversioned;

/// Asks the CPU to start loading the cache line of byte `at` of the `len` bytes at
/// `base` (nothing if `at` is out of range). A hint only: it changes no byte. Shapes
/// walk a frame row by row, each row a pitch (a page or more) from the last, where the
/// hardware prefetchers see no stream: a thin line then waits for memory on every row
/// unless it asks rows ahead. By address, since the caller is writing the buffer
/// through another borrow: a prefetch is no access (nothing is read into the program,
/// it cannot fault), so the pointer is only an address here.
#[inline(always)]
pub(crate) fn prefetch_ptr(base: *const u8, len: usize, at: usize) {
    if at >= len {
        return;
    }
    let p = base.wrapping_add(at);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it reads nothing into the program and cannot
    // fault, whatever the address (which is inside the buffer anyway). SSE, which has
    // it, is in x86_64's baseline.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above (PRFM is a hint and cannot fault).
    unsafe {
        std::arch::asm!(
            "prfm pldl1keep, [{0}]",
            in(reg) p,
            options(nostack, readonly, preserves_flags)
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}
