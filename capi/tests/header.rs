//! The committed header must be what cbindgen makes of src/lib.rs today: a changed
//! signature, constant or struct without a regenerated header fails here (and the C
//! tests then compile against the new header). `CUDADRAW_BLESS=1` rewrites it.

use std::path::Path;

#[test]
fn committed_header_matches_the_library() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = dir.join("include/cudadraw.h");
    if std::env::var_os("CUDADRAW_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/cudadraw.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "capi/include/cudadraw.h is out of date with capi/src/lib.rs: regenerate it with \
         `CUDADRAW_BLESS=1 cargo test -p cudadraw-capi --test header` and commit it"
    );
}
