/**
 * The last step of WD14-tagger preprocessing (adapters/images.ts `taggerInput`): 8-bit RGB pixels to the model's
 * input values, BGR order, float32 0–255 (no normalisation), NHWC. Pure, so that it runs where the pixels are used:
 * lora sends a batch to its model process as 8-bit RGB (a quarter of the bytes of float32) and the model process
 * converts it (adapters/model-runtime.ts).
 */

/**
 * Converts interleaved 8-bit RGB pixels (`[..., 3]`, any number of pixels) into BGR float32 0–255 of the same
 * layout.
 * @param rgb R, G, B bytes per pixel; its length is a multiple of 3
 * @param out where to write (`rgb.length` values); a new Float32Array by default
 * @returns `out`
 */
export function rgbToBgrFloat(rgb: Uint8Array, out: Float32Array = new Float32Array(rgb.length)): Float32Array {
  for (let p = 0; p < rgb.length; p += 3) {
    out[p] = rgb[p + 2]
    out[p + 1] = rgb[p + 1]
    out[p + 2] = rgb[p]
  }
  return out
}

/** Where an image goes in the square tagger input: its size once scaled, and its offset (pixels). */
export interface SquareFit {
  width: number
  height: number
  left: number
  top: number
}

/**
 * Where an image of `width × height` pixels (as displayed) goes in the `size × size` tagger input, as kohya
 * sd-scripts' `preprocess_image` puts it: padded to a square of its longer side with ⌊pad/2⌋ source pixels on the
 * left and top (`np.pad` with `pad_x // 2`, `pad_y // 2`), then resized to `size` (scale `size / side`). Each of the
 * image's edges lands where the reference puts it, rounded to the nearest output pixel (at most half a pixel off;
 * the reference blends that fraction with the white), the image at least 1 pixel wide and high; resizing first and
 * padding after (adapters/images.ts `taggerPixels`) then gives the reference's layout, shrinking or enlarging.
 * @throws RangeError when a dimension is not a positive integer
 */
export function fitInSquare(width: number, height: number, size: number): SquareFit {
  for (const n of [width, height, size])
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`not a pixel count: ${n}`)
  const side = Math.max(width, height)
  const scale = size / side
  const place = (extent: number): [number, number] => {
    // The reference's edges, in output pixels: the pad before the image, and the image's far edge.
    const start = Math.floor((side - extent) / 2) * scale
    const from = Math.min(Math.round(start), size - 1)
    return [from, Math.min(Math.max(1, Math.round(start + extent * scale) - from), size - from)]
  }
  const [left, w] = place(width)
  const [top, h] = place(height)
  return {width: w, height: h, left, top}
}

/**
 * Places interleaved 8-bit RGB pixels of `fit.width × fit.height` at `fit.left`, `fit.top` in a white
 * `size × size` RGB square (the tagger input before `rgbToBgrFloat`).
 * @param rgb `fit.width × fit.height × 3` bytes, row-major
 * @returns `size × size × 3` bytes
 * @throws RangeError when `rgb` has not `fit.width × fit.height × 3` bytes or the image does not fit
 */
export function padToSquare(rgb: Uint8Array, fit: SquareFit, size: number): Uint8Array {
  const row = fit.width * 3
  if (rgb.length !== row * fit.height) throw new RangeError(`${rgb.length} bytes for ${fit.width}×${fit.height} RGB`)
  if (fit.left < 0 || fit.top < 0 || fit.left + fit.width > size || fit.top + fit.height > size)
    throw new RangeError(`${fit.width}×${fit.height} at ${fit.left},${fit.top} is not inside ${size}×${size}`)
  const out = new Uint8Array(size * size * 3).fill(255)
  for (let y = 0; y < fit.height; y++)
    out.set(rgb.subarray(y * row, (y + 1) * row), ((fit.top + y) * size + fit.left) * 3)
  return out
}
