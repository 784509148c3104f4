//! GStreamer integration.
