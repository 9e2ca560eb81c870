"""Preview overlays, pixel for pixel as engines/tfjs/overlay.ts: one PNG per sample with
three panels, image | human map (grayscale) | CAM (jet, runs/colormap.ts) blended 50 % over the grayscale
image; panels upscaled (nearest) to at least 112 px, 2 px dark gaps; a flat dark middle
panel for an image without a human map. PNG encoded here (zlib), no imaging library, on a
background thread (OverlayRenderer) so previews cost the training loop little.
"""
import math
import struct
import zlib

import numpy as np

MIN_PANEL_PX = 112
GAP = 2
GAP_RGB = (32, 32, 32)
NO_MAP_RGB = (48, 48, 48)
CAM_ALPHA = 0.5


def _round(x):
    """JavaScript Math.round (half up), not numpy's half-to-even."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5)


# runs/colormap.ts CAM_COLORMAP (jet): THE colour map of overlays and of the dashboard legend
JET_STOPS = (
    (0.0, (0, 0, 128)),
    (0.125, (0, 0, 255)),
    (0.375, (0, 255, 255)),
    (0.625, (255, 255, 0)),
    (0.875, (255, 0, 0)),
    (1.0, (128, 0, 0)),
)


def colormap(x):
    """runs/colormap.ts colormap(): piecewise-linear jet, NaN as 0, the same float64 operations, rounded half up."""
    t = np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0), 0, 1)
    ts = np.array([st for st, _ in JET_STOPS])
    rgb = np.array([c for _, c in JET_STOPS], dtype=np.float64)
    # the first stop i >= 1 with t <= ts[i], as the TypeScript loop finds it
    i = np.clip(np.searchsorted(ts, t, side="left"), 1, len(ts) - 1)
    ta, tb = ts[i - 1], ts[i]
    u = np.where(tb == ta, 0.0, (t - ta) / np.where(tb == ta, 1.0, tb - ta))
    a, b = rgb[i - 1], rgb[i]
    return _round(a + (b - a) * u[..., None])


def encode_png(rgb):
    """rgb uint8 [H, W, 3] -> PNG bytes (8-bit RGBA, as pngjs writes; filter 0 per row)."""
    h, w, _ = rgb.shape
    rgba = np.concatenate([rgb, np.full((h, w, 1), 255, dtype=np.uint8)], axis=2)
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def render_overlay_rgb(image, human, cam_up):
    """image [S, S, C] in [0, 1]; human [S, S] or None; cam_up [S, S] CAM at image size -> uint8 [H, W, 3]."""
    s = image.shape[0]
    scale = max(1, math.ceil(MIN_PANEL_PX / s))
    if image.shape[2] == 1:
        rgb = np.repeat(_round(255 * np.clip(image.astype(np.float64), 0, 1)), 3, axis=2)
    else:
        rgb = _round(255 * np.clip(image[:, :, :3].astype(np.float64), 0, 1))
    if human is not None:
        h = human.astype(np.float64)
        lo, hi = float(h.min()), float(h.max())
        hn = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
        # float32 as tfjs stores the normalised map, then 0-255
        mid = np.repeat(_round(255 * hn.astype(np.float32).astype(np.float64))[:, :, None], 3, axis=2)
    else:
        mid = np.broadcast_to(np.array(NO_MAP_RGB, dtype=np.float64), (s, s, 3))
    gray = 0.299 * rgb[:, :, 0] + 0.587 * rgb[:, :, 1] + 0.114 * rgb[:, :, 2]
    blend = _round((1 - CAM_ALPHA) * gray[:, :, None] + CAM_ALPHA * colormap(cam_up))
    panel = s * scale
    out = np.empty((panel, 3 * panel + 2 * GAP, 3), dtype=np.uint8)
    out[:, :] = GAP_RGB
    for p, img in enumerate((rgb, mid, blend)):
        up = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1).astype(np.uint8)
        out[:, p * (panel + GAP):p * (panel + GAP) + panel] = up
    return out


def render_overlay(image, human, cam_up):
    return encode_png(render_overlay_rgb(image, human, cam_up))


class OverlayRenderer:
    """Renders and writes preview overlays on a background thread, so the training loop only
    copies the samples' arrays and goes on (PNG encoding, zlib and the fsyncs of the files take
    tens of milliseconds per preview). One preview in flight at a time: a new one waits for the
    last, so they are written in order. The `overlay` event is emitted by the training thread
    (`poll` after each step, `drain` before an epoch's evaluation and at the end), so every event
    still comes from one thread; its content is what the inline path emits.

    inline=True (SGT_TORCH_PREVIEWS=inline, a test hook) renders on the calling thread, as before."""

    def __init__(self, ctx, inline=False):
        import concurrent.futures

        self.ctx = ctx
        self.inline = inline
        self.pool = None if inline else concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sgt-overlay")
        self.pending = None  # (epoch, step, future)

    def _render(self, epoch, step, samples):
        pngs = [render_overlay(image, human, cam) for image, human, cam in samples]
        return self.ctx.writer.overlay(epoch, step, pngs)

    def submit(self, epoch, step, samples):
        """samples: [(image [S, S, C] float32, human [S, S] or None, CAM at image size)] as numpy arrays the caller no longer changes."""
        if self.inline:
            files = self._render(epoch, step, samples)
            self.ctx.emit({"type": "overlay", "epoch": epoch, "step": step, "files": files})
            return
        self.drain()
        self.pending = (epoch, step, self.pool.submit(self._render, epoch, step, samples))

    def poll(self):
        """Emits the overlay event of a finished preview (never waits)."""
        if self.pending and self.pending[2].done():
            self.drain()

    def drain(self):
        """Waits for the preview in flight and emits its event (a failure to write it raises here)."""
        if not self.pending:
            return
        epoch, step, future = self.pending
        self.pending = None
        files = future.result()
        self.ctx.emit({"type": "overlay", "epoch": epoch, "step": step, "files": files})

    def close(self):
        """Writes what is in flight, then stops the thread."""
        try:
            self.drain()
        finally:
            if self.pool:
                self.pool.shutdown(wait=True)
