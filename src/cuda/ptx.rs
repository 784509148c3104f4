//! PTX of every `kernels/*.cu`, compiled by build.rs and embedded at build time.
include!(concat!(env!("OUT_DIR"), "/ptx.rs"));
