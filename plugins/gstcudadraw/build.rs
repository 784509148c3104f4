// Version and release date of the plugin from the build (git commit date, or now for a
// tarball), as gst-plugins-rs does.
fn main() {
    gst_plugin_version_helper::info()
}
