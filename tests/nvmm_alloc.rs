//! Reading a DeepStream batch allocates nothing in steady state (CI): the frame list
//! is reused per streaming thread and the descriptor is read in place.

mod nvmm_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use cudadraw::PixelFormat;
use cudadraw::nvmm::abi::{Abi, mem_type};
use cudadraw::nvmm::{NvmmBatch, NvmmOptions};
use gstreamer as gst;
use nvmm_support::HostBatch;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn from_buffer_allocates_nothing_after_warm_up() {
    gst::init().unwrap();
    for abi in [Abi::Ds4To7, Abi::Ds8] {
        let shapes: Vec<_> = (0..16)
            .map(|_| (1920, 1080, 7680, PixelFormat::Rgba))
            .collect();
        // Pixel memory is not touched: descriptors only.
        let mut b = HostBatch::new(abi, mem_type::CUDA_DEVICE, &shapes[..1]);
        b.params = vec![b.params[0]; 16];
        b.header.batch_size = 16;
        b.header.num_filled = 16;
        let buf = b.buffer();
        let opts = NvmmOptions {
            abi: Some(abi),
            nvbufsurface_lib: Some("/unused/libnvbufsurface.so".into()),
            ..Default::default()
        };
        for _ in 0..3 {
            drop(unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap());
        }
        let before = ALLOCS.load(Ordering::Relaxed);
        let mut frames = 0;
        for _ in 0..1000 {
            let batch = unsafe { NvmmBatch::from_buffer(&buf, &opts) }.unwrap();
            frames += batch.frames().len();
        }
        let after = ALLOCS.load(Ordering::Relaxed);
        assert_eq!(frames, 16_000);
        assert_eq!(
            after - before,
            0,
            "{abi}: {} allocations for 1000 batches",
            after - before
        );
    }
}
