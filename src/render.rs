//! The single entry point: one image registry, the CPU renderer for host frames and a
//! lazily created CUDA renderer for device frames. GStreamer elements, probes and the
//! NVMM path all draw through a [`Renderer`].

use crate::cpu::CpuRenderer;
#[cfg(feature = "cuda")]
use crate::cuda::CudaRenderer;
#[cfg(feature = "cuda")]
use crate::cuda::context::ContextHandle;
#[cfg(feature = "cuda")]
use crate::cuda::staging::ForeignStaging;
use crate::draw::{DrawList, Image, ImageId, ImageStore, ResolveOptions, Resolved};
use crate::error::Result;
use crate::frame::{DeviceFrame, HostFrame};

/// How a frame of CUDA memory was drawn (`Renderer::render_cuda_memory`, feature `cuda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CudaPath {
    /// On the frame itself: its memory belongs to the renderer's context.
    InPlace,
    /// Through a staging copy: the memory belongs to another CUDA context.
    Copied,
}

/// One frame of CUDA memory for [`Renderer::render_cuda_memory`]: packed (the RGBA
/// family) or NV12 / I420.
#[derive(Debug, Clone, Copy)]
pub enum CudaMemoryFrame {
    Packed(DeviceFrame),
    Planar(crate::planar::DevicePlanarFrame),
}

impl CudaMemoryFrame {
    /// First byte, length and GPU of the frame's memory.
    #[cfg(feature = "cuda")]
    fn span(&self) -> (u64, usize, u32) {
        match self {
            CudaMemoryFrame::Packed(f) => (f.ptr(), f.info().min_len(), f.gpu_id()),
            CudaMemoryFrame::Planar(f) => (f.ptr(), f.info().min_len(), f.gpu_id()),
        }
    }

    /// The rows of each plane, in `out`; returns how many planes.
    #[cfg(feature = "cuda")]
    fn plane_rows(&self, out: &mut [crate::cuda::staging::PlaneRows; 3]) -> usize {
        use crate::cuda::staging::PlaneRows;
        match self {
            CudaMemoryFrame::Packed(f) => {
                let i = f.info();
                out[0] = PlaneRows {
                    offset: 0,
                    row: 4 * i.width as usize,
                    rows: i.height as usize,
                    pitch: i.pitch,
                };
                1
            }
            CudaMemoryFrame::Planar(f) => {
                let i = f.info();
                let n = i.layout.planes();
                for (k, o) in out.iter_mut().enumerate().take(n) {
                    let (row, rows) = i.plane_extent(k);
                    let p = i.planes[k].unwrap_or_default();
                    *o = PlaneRows {
                        offset: p.offset,
                        row,
                        rows,
                        pitch: p.pitch,
                    };
                }
                n
            }
        }
    }

    /// Checks the frame as the backend will (before any copy is made of it).
    #[cfg(feature = "cuda")]
    fn validate(&self) -> Result<()> {
        match self {
            CudaMemoryFrame::Packed(f) => f.validate(0),
            CudaMemoryFrame::Planar(f) => f.validate(0),
        }
    }

    /// The same frame at another address.
    ///
    /// # Safety
    /// `ptr` must hold the frame's bytes (its span's length) in device memory.
    #[cfg(feature = "cuda")]
    pub(crate) unsafe fn at_address(&self, ptr: u64) -> Self {
        // SAFETY: the caller's contract.
        unsafe {
            match self {
                CudaMemoryFrame::Packed(f) => {
                    CudaMemoryFrame::Packed(DeviceFrame::new(ptr, f.info(), f.gpu_id()))
                }
                CudaMemoryFrame::Planar(f) => CudaMemoryFrame::Planar(
                    crate::planar::DevicePlanarFrame::new(ptr, f.info(), f.gpu_id()),
                ),
            }
        }
    }

    /// The same frame staged at `ptr` with its planes at `planes` (offsets from `ptr`,
    /// pitches; as [`ForeignStaging::draw`] lays them out).
    ///
    /// # Safety
    /// `ptr` must hold the staged planes in device memory.
    #[cfg(feature = "cuda")]
    pub(crate) unsafe fn staged_at(
        &self,
        ptr: u64,
        planes: &[crate::cuda::staging::PlaneRows],
    ) -> Self {
        // SAFETY: the caller's contract.
        unsafe {
            match self {
                CudaMemoryFrame::Packed(f) => {
                    let mut info = f.info();
                    info.pitch = planes.first().map_or(info.pitch, |p| p.pitch);
                    CudaMemoryFrame::Packed(DeviceFrame::new(ptr, info, f.gpu_id()))
                }
                CudaMemoryFrame::Planar(f) => {
                    let mut info = f.info();
                    for (slot, p) in info.planes.iter_mut().zip(planes) {
                        *slot = Some(crate::planar::Plane {
                            offset: p.offset,
                            pitch: p.pitch,
                        });
                    }
                    CudaMemoryFrame::Planar(crate::planar::DevicePlanarFrame::new(
                        ptr,
                        info,
                        f.gpu_id(),
                    ))
                }
            }
        }
    }
}

/// Owns the overlay images and both backends. The CUDA backend is created on the first
/// device render, so a `Renderer` costs nothing on machines without CUDA and host
/// rendering never touches the driver.
#[derive(Debug)]
pub struct Renderer {
    images: ImageStore,
    cpu: CpuRenderer,
    #[cfg(feature = "cuda")]
    cuda: Option<CudaRenderer>,
    /// For frames in another CUDA context than the renderer's.
    #[cfg(feature = "cuda")]
    staging: ForeignStaging,
    options: ResolveOptions,
    /// Whether the last render went to the CUDA backend (for [`Renderer::last_resolved`]).
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
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
            #[cfg(feature = "cuda")]
            cuda: None,
            #[cfg(feature = "cuda")]
            staging: ForeignStaging::default(),
            options: ResolveOptions::default(),
            last_cuda: false,
        }
    }

    /// Limits and invalid-op policy of later calls, on both backends.
    pub fn set_options(&mut self, options: ResolveOptions) {
        self.options = options;
        self.cpu.set_options(options);
        #[cfg(feature = "cuda")]
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
        #[cfg(feature = "cuda")]
        if let (Some(c), true) = (&self.cuda, self.last_cuda) {
            return c.resolved();
        }
        self.cpu.resolved()
    }

    /// The registered overlay images.
    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    /// The image registry, to add images.
    pub fn images_mut(&mut self) -> &mut ImageStore {
        &mut self.images
    }

    /// Registers a font; draw text with it by the returned handle.
    pub fn add_font(&mut self, font: crate::draw::Font) -> crate::draw::FontId {
        self.images.add_font(font)
    }

    /// Size of `text` at `size` px in `font`, for laying text out yourself.
    pub fn measure_text(
        &self,
        font: crate::draw::FontId,
        size: u32,
        text: &str,
    ) -> Result<crate::draw::TextMetrics> {
        self.images.measure_text(font, size, text)
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

    /// Draws `lists[i]` on NV12 or I420 `frames[i]` in host memory (CPU renderer,
    /// docs/semantics.md "NV12 and I420"). On error nothing is drawn on any frame.
    pub fn render_planar_host<L: AsRef<DrawList>>(
        &mut self,
        frames: &mut [crate::planar::PlanarFrame<'_>],
        lists: &[L],
    ) -> Result<()> {
        self.last_cuda = false;
        self.cpu.render_planar(frames, lists, &self.images)
    }

    /// Draws `lists[i]` on `frames[i]` in CUDA-addressable memory and waits for the
    /// GPU (one synchronisation per device). Fails with
    /// [`crate::Error::NoCudaDevice`] on machines without CUDA.
    #[cfg(feature = "cuda")]
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

    /// Draws `lists[i]` on NV12 / I420 `frames[i]` in CUDA-addressable memory and
    /// waits for the GPU (see [`CudaRenderer::render_planar`]).
    #[cfg(feature = "cuda")]
    pub fn render_planar_device<L: AsRef<DrawList>>(
        &mut self,
        frames: &[crate::planar::DevicePlanarFrame],
        lists: &[L],
    ) -> Result<()> {
        let (cuda, images) = self.cuda_and_images()?;
        let r = cuda.render_planar(frames, lists, images);
        self.last_cuda = true;
        r
    }

    /// Without the `cuda` feature: always [`crate::Error::NoCudaDevice`].
    #[cfg(not(feature = "cuda"))]
    pub fn render_planar_device<L: AsRef<DrawList>>(
        &mut self,
        _frames: &[crate::planar::DevicePlanarFrame],
        _lists: &[L],
    ) -> Result<()> {
        Err(no_cuda_feature())
    }

    /// Without the `cuda` feature there is no CUDA backend: always
    /// [`crate::Error::NoCudaDevice`], nothing drawn.
    #[cfg(not(feature = "cuda"))]
    pub fn render_device<L: AsRef<DrawList>>(
        &mut self,
        _frames: &[DeviceFrame],
        _lists: &[L],
    ) -> Result<()> {
        Err(no_cuda_feature())
    }

    /// Draws `lists[0]` on one frame of CUDA memory that belongs to CUDA context
    /// `owner` (GStreamer CUDA memory, say): in place when `owner` is the renderer's
    /// context for the frame's GPU (or none), ordered after the context's legacy
    /// stream by an event, with no context-wide wait; through a staging copy in the
    /// renderer's context otherwise. Returns the path taken.
    #[cfg(feature = "cuda")]
    pub fn render_cuda_memory<L: AsRef<DrawList>>(
        &mut self,
        frame: &CudaMemoryFrame,
        owner: ContextHandle,
        lists: &[L],
    ) -> Result<CudaPath> {
        let (ptr, len, gpu) = frame.span();
        self.last_cuda = true;
        let (cuda, images) = self.cuda_and_images()?;
        let ours = ContextHandle::from_raw(cuda.context(gpu)?);
        let draw = |cuda: &mut CudaRenderer, images: &ImageStore, f: &CudaMemoryFrame| match f {
            CudaMemoryFrame::Packed(f) => cuda.render(std::slice::from_ref(f), lists, images),
            CudaMemoryFrame::Planar(f) => {
                cuda.render_planar(std::slice::from_ref(f), lists, images)
            }
        };
        if owner.is_none() || owner == ours {
            cuda.follow_legacy_stream(gpu)?;
            draw(cuda, images, frame)?;
            return Ok(CudaPath::InPlace);
        }
        let cuda = self
            .cuda
            .as_mut()
            .ok_or_else(|| crate::Error::NoCudaDevice("CUDA renderer missing".into()))?;
        let images = &self.images;
        // A bad frame is refused before anything is copied from or to its memory.
        frame.validate()?;
        let mut planes = [crate::cuda::staging::PlaneRows::default(); 3];
        let n = frame.plane_rows(&mut planes);
        self.staging.draw(
            ptr,
            len,
            &planes[..n],
            owner,
            ours,
            |staged, staged_planes| {
                // SAFETY: the staging buffer holds the staged planes.
                let staged = unsafe { frame.staged_at(staged, staged_planes) };
                draw(cuda, images, &staged)
            },
        )?;
        Ok(CudaPath::Copied)
    }

    /// The CUDA renderer (created on first use) together with the image registry, for
    /// the asynchronous and caller-stream variants of [`CudaRenderer`].
    #[cfg(feature = "cuda")]
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

    /// Whether this process can render on a GPU (built with the `cuda` feature, driver
    /// loadable and a device present).
    pub fn cuda_available() -> bool {
        #[cfg(feature = "cuda")]
        return crate::cuda::device_count() > 0;
        #[cfg(not(feature = "cuda"))]
        false
    }
}

/// The error of device paths in builds without the `cuda` feature.
#[cfg_attr(feature = "cuda", allow(dead_code))]
pub(crate) fn no_cuda_feature() -> crate::Error {
    crate::Error::NoCudaDevice("cudadraw was built without the `cuda` feature".into())
}
