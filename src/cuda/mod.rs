//! The CUDA backend: PTX kernels from `kernels/`, launched through cudarc on frames in
//! CUDA-addressable memory.

pub mod commands;
pub mod ptx;
