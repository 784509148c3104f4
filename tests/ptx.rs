//! Every embedded PTX module assembles for Hopper (`ptxas -arch=sm_90`), so a kernel
//! that would only fail at load time on a GPU host fails here, on CI, without a GPU.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_ptx_module_assembles_for_sm_90() {
    let nvcc = PathBuf::from(env!("CUDADRAW_NVCC"));
    let ptxas = nvcc.with_file_name("ptxas");
    assert!(
        ptxas.is_file(),
        "ptxas not found beside {} (run `make setup`)",
        nvcc.display()
    );
    assert!(
        !cudadraw::cuda::ptx::ALL.is_empty(),
        "no kernels were compiled"
    );
    let dir = std::env::temp_dir().join(format!("cudadraw-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, ptx) in cudadraw::cuda::ptx::ALL {
        let src = dir.join(format!("{name}.ptx"));
        std::fs::write(&src, ptx).expect("write ptx");
        let out = Command::new(&ptxas)
            .args(["-arch=sm_90", "-o"])
            .arg(dir.join(format!("{name}.cubin")))
            .arg(&src)
            .output()
            .expect("run ptxas");
        assert!(
            out.status.success(),
            "ptxas -arch=sm_90 failed on {name}.ptx:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The GPU hosts run driver 580 (CUDA 13.0): PTX ISA newer than 9.0 would be rejected.
        let version = ptx
            .lines()
            .find_map(|l| l.strip_prefix(".version "))
            .unwrap_or("?");
        assert!(
            matches!(
                version.trim(),
                "9.0" | "8.8" | "8.7" | "8.6" | "8.5" | "8.4" | "8.3" | "8.2" | "8.1" | "8.0"
            ),
            "{name}.ptx has PTX ISA {version}; the CUDA 13.0 driver accepts at most 9.0"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
