//! DeepStream `NvBufSurface` batches.
