//! Scene files: draw lists as JSON.
