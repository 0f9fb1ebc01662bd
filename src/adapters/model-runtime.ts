/**
 * The ONNX model runtime for `lora autotag`: `onnxruntime-node`, an optional dependency loaded here only, on first
 * use (a dynamic import), so that every other command starts without it and a project installed without it works.
 * Sessions run on the CPU. WD14-family taggers take one float32 input `[batch, H, W, 3]` (NHWC) and give one
 * output `[batch, tags]` of sigmoid scores.
 */
import {LoraError} from '../errors.js'

/** The command that installs the runtime (its install script downloads nothing for the CPU build with `.npmrc`). */
export const RUNTIME_INSTALL = 'npm install onnxruntime-node@~1.30.0'

/** onnxruntime-node is not installed, or could not load (exit 1); the hint gives the install command. */
export class ModelRuntimeMissingError extends LoraError {
  constructor(cause: unknown) {
    super(`The model runtime (onnxruntime-node) is not installed or could not load: ${firstLine(cause)}`, {
      code: 'model-runtime-missing',
      hint: `Install it next to lora: \`${RUNTIME_INSTALL}\` (add --onnxruntime-node-install=skip to download no GPU libraries).`,
      cause,
    })
  }
}

/** The model file could not be loaded, or is not a tagger this runtime can drive (exit 1). */
export class ModelLoadError extends LoraError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, {code: 'model-invalid', hint, cause})
  }
}

/** A loaded model. */
export interface TaggerSession {
  /** Input height and width in pixels, read from the model's input shape `[batch, H, W, 3]`. */
  height: number
  width: number
  /** Number of scores per image (the output's last dimension), when the model declares it. */
  outputs: number | undefined
  /** How many times `run` has called the model (tests and the debug line count inference by it). */
  runs: number
  /**
   * Runs one batch.
   * @param pixels `count` images, NHWC float32, `count × height × width × 3` values
   * @returns one score array per image
   */
  run(pixels: Float32Array, count: number): Promise<Float32Array[]>
  /** Frees the session. */
  release(): Promise<void>
}

type Ort = typeof import('onnxruntime-node')

/** The runtime loaded, by module specifier. */
const runtimes = new Map<string, Promise<Ort>>()

/**
 * Loads onnxruntime-node once. `LORA_ONNXRUNTIME_MODULE` names another module to load instead (a test seam: the
 * tests point it at a missing file to run without the runtime).
 * @throws ModelRuntimeMissingError when it is not installed or its native binding does not load
 */
export async function loadRuntime(): Promise<Ort> {
  const specifier = process.env.LORA_ONNXRUNTIME_MODULE || 'onnxruntime-node'
  let runtime = runtimes.get(specifier)
  if (!runtime) {
    runtime = import(specifier).then(
      (m: Ort & {default?: Ort}) => (m.InferenceSession ? m : (m.default as Ort)),
      (error: unknown) => {
        runtimes.delete(specifier)
        throw new ModelRuntimeMissingError(error)
      },
    )
    runtimes.set(specifier, runtime)
  }
  return runtime
}

/**
 * Opens `modelPath` in a CPU session and checks its input is `[batch, H, W, 3]` float32 with a fixed H and W.
 * @throws ModelRuntimeMissingError without the runtime; ModelLoadError when the file is not a loadable model, or
 *   its input is not NHWC with 3 channels and fixed size
 */
export async function openTagger(modelPath: string): Promise<TaggerSession> {
  const ort = await loadRuntime()
  let session: import('onnxruntime-node').InferenceSession
  try {
    session = await ort.InferenceSession.create(modelPath, {executionProviders: ['cpu'], graphOptimizationLevel: 'all'})
  } catch (error) {
    throw new ModelLoadError(
      `${modelPath} is not a model onnxruntime can load: ${firstLine(error)}`,
      'Pass a WD14-family tagger folder (model.onnx and selected_tags.csv), or pull it again with `lora models pull`.',
      error,
    )
  }
  const inputName = session.inputNames[0]
  const outputName = session.outputNames[0]
  const meta = session.inputMetadata.find((m) => m.name === inputName)
  const shape = meta && meta.isTensor ? meta.shape : []
  const [, height, width, channels] = shape
  if (shape.length !== 4 || typeof height !== 'number' || typeof width !== 'number' || channels !== 3) {
    await session.release()
    throw new ModelLoadError(
      `${modelPath}: its input ${inputName} has shape [${shape.join(', ')}], not [batch, H, W, 3] (NHWC).`,
      'lora autotag drives WD14-family taggers (SmilingWolf wd-v1-4-* and wd-*-tagger-v3), whose input is NHWC.',
    )
  }
  const outMeta = session.outputMetadata.find((m) => m.name === outputName)
  const outShape = outMeta && outMeta.isTensor ? outMeta.shape : []
  const last = outShape.at(-1)
  const runtimeFloat32 = new ort.Tensor('float32', [0], [1]).data.constructor as Float32ArrayConstructor
  const tagger: TaggerSession = {
    height,
    width,
    outputs: typeof last === 'number' ? last : undefined,
    runs: 0,
    async run(pixels, count) {
      // The runtime checks the array's class; where it runs in another JavaScript realm than this module (a vm
      // context, as jest's), a view of the same memory made with its own Float32Array passes (no copy).
      const input =
        (pixels as unknown) instanceof runtimeFloat32
          ? pixels
          : new runtimeFloat32(pixels.buffer, pixels.byteOffset, pixels.length)
      const tensor = new ort.Tensor('float32', input, [count, height, width, 3])
      tagger.runs++
      const result = await session.run({[inputName]: tensor})
      const output = result[outputName]
      const data = output.data as Float32Array
      const per = data.length / count
      const scores: Float32Array[] = []
      for (let i = 0; i < count; i++) scores.push(data.slice(i * per, (i + 1) * per))
      return scores
    },
    async release() {
      await session.release()
    },
  }
  return tagger
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0].trim()
}

/** A loaded model that maps one image to one score (`lora curate --aesthetic-model`). */
export interface ScorerSession {
  /**
   * Runs one image.
   * @param input the model's input for one image (its shape is `[1, ...dims]`)
   * @param dims the input's dimensions without the batch (`[3, 224, 224]` for NCHW)
   * @returns the first value of the model's first output
   */
  score(input: Float32Array, dims: readonly number[]): Promise<number>
  release(): Promise<void>
}

/**
 * Opens `modelPath` in a CPU session, for a model of any input layout whose first output holds the score.
 * @throws ModelRuntimeMissingError without the runtime; ModelLoadError when the file is not a loadable model
 */
export async function openScorer(modelPath: string): Promise<ScorerSession> {
  const ort = await loadRuntime()
  let session: import('onnxruntime-node').InferenceSession
  try {
    session = await ort.InferenceSession.create(modelPath, {executionProviders: ['cpu'], graphOptimizationLevel: 'all'})
  } catch (error) {
    throw new ModelLoadError(
      `${modelPath} is not a model onnxruntime can load: ${firstLine(error)}`,
      'Pass a folder holding an image-to-score model.onnx and its preprocess.json.',
      error,
    )
  }
  const inputName = session.inputNames[0]
  const outputName = session.outputNames[0]
  const runtimeFloat32 = new ort.Tensor('float32', [0], [1]).data.constructor as Float32ArrayConstructor
  return {
    async score(input, dims) {
      // As TaggerSession.run: a view made with the runtime's own Float32Array when it lives in another realm.
      const data =
        (input as unknown) instanceof runtimeFloat32
          ? input
          : new runtimeFloat32(input.buffer, input.byteOffset, input.length)
      const result = await session.run({[inputName]: new ort.Tensor('float32', data, [1, ...dims])})
      const out = result[outputName].data as Float32Array
      return Number(out[0])
    },
    async release() {
      await session.release()
    },
  }
}
