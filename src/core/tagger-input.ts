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
