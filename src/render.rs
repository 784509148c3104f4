//! The single entry point: one image registry, the CPU renderer for host frames and a
//! lazily created CUDA renderer for device frames. GStreamer elements, probes and the
//! NVMM path all draw through a [`Renderer`].

use crate::cpu::CpuRenderer;
use crate::cuda::CudaRenderer;
use crate::draw::{DrawList, Image, ImageId, ImageStore, ResolveOptions, Resolved};
use crate::error::Result;
use crate::frame::{DeviceFrame, HostFrame};

/// Owns the overlay images and both backends. The CUDA backend is created on the first
/// device render, so a `Renderer` costs nothing on machines without CUDA and host
/// rendering never touches the driver.
#[derive(Debug)]
pub struct Renderer {
    images: ImageStore,
    cpu: CpuRenderer,
    cuda: Option<CudaRenderer>,
    options: ResolveOptions,
    /// Whether the last render went to the CUDA backend (for [`Renderer::last_resolved`]).
    last_cuda: bool,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer with an empty image registry. Never touches the CUDA driver.
    pub fn new() -> Self {
        Self {
            images: ImageStore::new(),
            cpu: CpuRenderer::new(),
            cuda: None,
            options: ResolveOptions::default(),
            last_cuda: false,
        }
    }

    /// Limits and invalid-op policy of later calls, on both backends.
    pub fn set_options(&mut self, options: ResolveOptions) {
        self.options = options;
        self.cpu.set_options(options);
        if let Some(c) = self.cuda.as_mut() {
            c.set_options(options);
        }
    }

    /// The options in force.
    pub fn options(&self) -> ResolveOptions {
        self.options
    }

    /// The resolution of the last render on either backend: how many ops it skipped
    /// and why (under [`crate::draw::InvalidOps::Skip`]).
    pub fn last_resolved(&self) -> &Resolved {
        match (&self.cuda, self.last_cuda) {
            (Some(c), true) => c.resolved(),
            _ => self.cpu.resolved(),
        }
    }

    /// The registered overlay images.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The image registry, to add images.
    pub fn images_mut(&mut self) -> &mut ImageStore {
        &mut self.images
    }

    /// Registers an overlay image; draw it with the returned handle.
    pub fn add_image(&mut self, image: Image) -> ImageId {
        self.images.add(image)
    }

    /// Draws `lists[i]` on `frames[i]` in host memory (CPU renderer). On error nothing
    /// is drawn on any frame.
    pub fn render_host<L: AsRef<DrawList>>(
        &mut self,
        frames: &mut [HostFrame<'_>],
        lists: &[L],
    ) -> Result<()> {
        self.last_cuda = false;
        self.cpu.render(frames, lists, &self.images)
    }

    /// Draws `lists[i]` on `frames[i]` in CUDA-addressable memory and waits for the
    /// GPU (one synchronisation per device). Fails with
    /// [`crate::Error::NoCudaDevice`] on machines without CUDA.
    pub fn render_device<L: AsRef<DrawList>>(
        &mut self,
        frames: &[DeviceFrame],
        lists: &[L],
    ) -> Result<()> {
        let (cuda, images) = self.cuda_and_images()?;
        let r = cuda.render(frames, lists, images);
        self.last_cuda = true;
        r
    }

    /// The CUDA renderer (created on first use) together with the image registry, for
    /// the asynchronous and caller-stream variants of [`CudaRenderer`].
    pub fn cuda_and_images(&mut self) -> Result<(&mut CudaRenderer, &ImageStore)> {
        if self.cuda.is_none() {
            // A failed creation is not cached: the error is cheap to recompute and a
            // later call may find a device (e.g. after a driver reload).
            let mut cuda = CudaRenderer::new()?;
            cuda.set_options(self.options);
            self.cuda = Some(cuda);
        }
        match self.cuda.as_mut() {
            Some(cuda) => Ok((cuda, &self.images)),
            None => Err(crate::Error::NoCudaDevice("CUDA renderer missing".into())),
        }
    }

    /// The CPU renderer.
    pub fn cpu_mut(&mut self) -> &mut CpuRenderer {
        &mut self.cpu
    }

    /// Whether this process can render on a GPU (driver loadable and a device present).
    pub fn cuda_available() -> bool {
        crate::cuda::device_count() > 0
    }
}
