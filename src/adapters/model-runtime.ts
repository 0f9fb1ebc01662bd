/**
 * The ONNX model runtime for `lora autotag`: `onnxruntime-node`, an optional dependency loaded here only, on first
 * use (a dynamic import), so that every other command starts without it and a project installed without it works.
 * `openTagger` runs the session in a child process (`model-worker.ts`): onnxruntime-node's `session.run` holds the
 * thread that calls it until the batch is done, so on the main thread it would stop everything else meanwhile —
 * the decoding of the next batch, the progress line, the stop-signal handler. Not a worker thread: a process that
 * exits while a worker thread is inside `session.run` aborts (SIGABRT, onnxruntime-node 1.30), whereas a child
 * process is simply killed (SIGKILL, when lora exits however it exits). So the main thread decodes batch k+1
 * while batch k runs, and a second Ctrl-C stops at once. The pixels go to the child through the IPC channel as 8-bit
 * RGB (V8 serialisation: 4.8 MB for a batch of 8 at 448×448), and the child makes them BGR float32 (19 MB), the
 * model's input.
 * Sessions run on the CPU, or with `device: 'cuda'` on onnxruntime's CUDA execution provider. WD14-family taggers
 * take one float32 input `[batch, H, W, 3]` (NHWC) and give one output `[batch, tags]` of sigmoid scores.
 */
import {fork} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {rgbToBgrFloat} from '../core/tagger-input.js'
import {LoraError} from '../errors.js'
import {debugLog} from './debug.js'
import {statIfExists} from './fs.js'
import {discardCopy, optimizedModel} from './optimized-model.js'

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

/** Where a model runs: the CPU (default), or an NVIDIA GPU through onnxruntime's CUDA execution provider. */
export type Device = 'cpu' | 'cuda'

/** The devices `--device` takes. */
export const DEVICES: readonly Device[] = ['cpu', 'cuda']

/**
 * How to get the CUDA execution provider: onnxruntime-node's install script fetches its CUDA 12 libraries on Linux
 * x64 and Windows x64 (`--onnxruntime-node-install=cuda12`); other platforms have none.
 */
export function cudaInstallHint(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  if ((platform === 'linux' || platform === 'win32') && arch === 'x64')
    return (
      'Install the GPU build (needs an NVIDIA GPU with CUDA 12 and cuDNN 9): ' +
      '`npm install onnxruntime-node@~1.30.0 --onnxruntime-node-install=cuda12` (without ' +
      '`onnxruntime-node-install=skip` in .npmrc), or run on the CPU: --device cpu.'
    )
  return `onnxruntime-node has no CUDA build for ${platform}/${arch}: use --device cpu.`
}

/** The device asked for is not available in the installed runtime (exit 1, code `model-device-unavailable`). */
export class ModelDeviceError extends LoraError {
  constructor(device: Device, cause: unknown) {
    super(`The model runtime cannot use --device ${device}: ${firstLine(cause)}`, {
      code: 'model-device-unavailable',
      hint: cudaInstallHint(),
      cause,
    })
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
   * @param pixels `count` images as 8-bit RGB, NHWC, `count × height × width × 3` bytes (adapters/images.ts
   *   `taggerPixels`); the session makes them the model's input (BGR float32 0–255, core/tagger-input.ts) itself
   * @returns one score array per image
   */
  run(pixels: Uint8Array, count: number): Promise<Float32Array[]>
  /** Frees the session. */
  release(): Promise<void>
}

type Ort = typeof import('onnxruntime-node')

/**
 * The session options of a tagger (the CPU or CUDA provider is added to them); `bench/autotag.bench.js` runs its bare
 * baseline with the same ones. No CPU memory arena: it keeps the largest activations of a batch allocated after the
 * run (about 90 MB more for a batch of 8 in one process). Intra-op threads that sleep rather than spin when they run
 * out of work: spinning burns the cores lora decodes the next batch on, and did not make the bare runs faster (README
 * "Auto-tagging throughput"). A model loaded from its optimised copy (optimized-model.ts: made with these options)
 * gets them too, but at level `disabled`: the copy is already the graph level `all` makes.
 */
export const TAGGER_SESSION_OPTIONS = {
  graphOptimizationLevel: 'all',
  enableCpuMemArena: false,
  extra: {session: {intra_op: {allow_spinning: '0'}}},
} as const satisfies import('onnxruntime-node').InferenceSession.SessionOptions

/** The module loadRuntime loads: `LORA_ONNXRUNTIME_MODULE` (a test seam), else onnxruntime-node. */
function runtimeSpecifier(): string {
  return process.env.LORA_ONNXRUNTIME_MODULE || 'onnxruntime-node'
}

/** The runtime loaded, by module specifier. */
const runtimes = new Map<string, Promise<Ort>>()

/**
 * Loads onnxruntime-node once. `LORA_ONNXRUNTIME_MODULE` names another module to load instead (a test seam: the
 * tests point it at a missing file to run without the runtime).
 * @throws ModelRuntimeMissingError when it is not installed or its native binding does not load
 */
export async function loadRuntime(specifier = runtimeSpecifier()): Promise<Ort> {
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

/** What the worker says about a failed start (model-worker.ts). */
export interface WorkerFailure {
  code: string
  message: string
  hint?: string
  /** The runtime's own message, for ModelDeviceError and ModelRuntimeMissingError. */
  cause?: string
}

/** The messages between `openTagger` and its worker (model-worker.ts). */
export type WorkerReply =
  | {type: 'ready'; height: number; width: number; outputs: number | undefined}
  | {type: 'failed'; failure: WorkerFailure}
  | {type: 'result'; id: number; scores: Float32Array[]}
  | {type: 'error'; id: number; message: string}
export type WorkerRequest = {type: 'run'; id: number; pixels: Uint8Array; count: number}

/** What the child process needs to open the model (its first message). */
export interface WorkerStart {
  modelPath: string
  device: Device
  /** The runtime module to load (`LORA_ONNXRUNTIME_MODULE` or `onnxruntime-node`). */
  specifier: string
  /** Where optimised copies of the model are kept (see OptimizedCopies); none: the model is loaded as it is. */
  optimized?: OptimizedCopies
}

/**
 * Optimised copies of a model (adapters/optimized-model.ts): made once per model, runtime and CPU in `dir`, then
 * loaded instead of the model, without graph optimisation (a lower memory peak at load, the same graph). For the
 * CPU only, and for models of `minBytes` or more.
 */
export interface OptimizedCopies {
  /** The folder (lora's cache folder, `optimized-models/`). */
  dir: string
  /** sha256 of the model file (hex): part of the copy's key. */
  modelSha256: string
  /** Smaller models are loaded as they are (optimizeMinBytes). */
  minBytes: number
}

/** The worker's description of a typed error, so that the main thread throws the same one. */
export function describeFailure(error: unknown): WorkerFailure {
  if (error instanceof LoraError) {
    const cause = (error as {cause?: unknown}).cause
    return {code: error.code, message: error.message, hint: error.hint, cause: cause ? firstLine(cause) : undefined}
  }
  return {code: 'model-invalid', message: firstLine(error)}
}

function rebuildFailure(failure: WorkerFailure, device: Device): LoraError {
  const cause = new Error(failure.cause ?? failure.message)
  if (failure.code === 'model-device-unavailable') return new ModelDeviceError(device, cause)
  if (failure.code === 'model-runtime-missing') return new ModelRuntimeMissingError(cause)
  return new ModelLoadError(failure.message, failure.hint ?? '', cause)
}

/**
 * Opens `modelPath` on `device` in a child process (see the file comment), from its optimised copy when `optimized`
 * is given (see OptimizedCopies and openTaggerHere), and checks its input is `[batch, H, W, 3]`
 * float32 with a fixed H and W. The runtime is loaded in this process first, so that a missing runtime is said
 * before the child starts. The child is killed by `release`, and when this process exits.
 * @throws ModelRuntimeMissingError without the runtime; ModelDeviceError when `device` is `cuda` and the installed
 *   runtime has no CUDA execution provider (or it fails to load: no GPU, no CUDA libraries); ModelLoadError when the
 *   file is not a loadable model, or its input is not NHWC with 3 channels and fixed size
 */
export async function openTagger(
  modelPath: string,
  device: Device = 'cpu',
  optimized?: OptimizedCopies,
): Promise<TaggerSession> {
  await loadRuntime()
  const start: WorkerStart = {modelPath, device, specifier: runtimeSpecifier(), optimized}
  const worker = fork(fileURLToPath(new URL('./model-worker.js', import.meta.url)), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    execArgv: [],
    // glibc: blocks of 1 MiB or more (a batch's tensors) are mapped and unmapped, not kept in the heap once freed
    // (the threshold is fixed rather than raised by each free), so the model process's memory stays at one batch.
    env: {...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? String(2 ** 20)},
  })
  const kill = () => worker.kill('SIGKILL')
  process.on('exit', kill)
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  worker.send(start)
  const pending = new Map<number, {resolve: (scores: Float32Array[]) => void; reject: (error: Error) => void}>()
  let failed: Error | undefined
  let released = false
  const fail = (error: Error) => {
    failed ??= error
    for (const p of pending.values()) p.reject(error)
    pending.clear()
  }
  const ready = new Promise<Extract<WorkerReply, {type: 'ready'}>>((resolve, reject) => {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ready') resolve(reply)
      else if (reply.type === 'failed') reject(rebuildFailure(reply.failure, device))
      else {
        const p = pending.get(reply.id)
        pending.delete(reply.id)
        if (reply.type === 'result') p?.resolve(reply.scores)
        else p?.reject(new ModelLoadError(`${modelPath} failed to run: ${reply.message}`, 'Check the model file.'))
      }
    })
    worker.on('error', (error) => {
      reject(error)
      fail(error)
    })
    worker.on('exit', (code, signal) => {
      if (released) return
      const error = new Error(`the model process stopped (${signal ?? `exit ${code}`})`)
      reject(error)
      fail(error)
    })
  })
  let info: Extract<WorkerReply, {type: 'ready'}>
  try {
    info = await ready
  } catch (error) {
    process.off('exit', kill)
    kill()
    await exited
    throw error
  }
  let next = 0
  const tagger: TaggerSession = {
    height: info.height,
    width: info.width,
    outputs: info.outputs,
    runs: 0,
    run(pixels, count) {
      if (failed) return Promise.reject(failed)
      tagger.runs++
      const id = next++
      return new Promise<Float32Array[]>((resolve, reject) => {
        pending.set(id, {resolve, reject})
        const request: WorkerRequest = {type: 'run', id, pixels, count}
        worker.send(request)
      })
    },
    async release() {
      released = true
      process.off('exit', kill)
      kill()
      await exited
    },
  }
  return tagger
}

/**
 * Opens `modelPath` on `device` in this thread (what the worker runs; see openTagger). On the CPU, with `optimized`
 * and a model of at least `optimized.minBytes`, the session is made from the model's optimised copy (made first when
 * there is none; adapters/optimized-model.ts) at optimisation level `disabled`; a copy that cannot be made is
 * skipped, and one that does not load is removed: the model is then loaded as it is.
 * @throws as openTagger
 */
export async function openTaggerHere(
  modelPath: string,
  device: Device = 'cpu',
  specifier = runtimeSpecifier(),
  optimized?: OptimizedCopies,
): Promise<TaggerSession> {
  const ort = await loadRuntime(specifier)
  let session: import('onnxruntime-node').InferenceSession | undefined
  const options = {executionProviders: [device], ...TAGGER_SESSION_OPTIONS}
  // A model that cannot be read is said by loading it below (ModelLoadError), not by this size check.
  const size = device === 'cpu' && optimized ? ((await statIfExists(modelPath).catch(() => undefined))?.size ?? 0) : 0
  if (optimized && size >= optimized.minBytes) {
    const copy = await optimizedModel(ort, modelPath, optimized.modelSha256, optimized.dir, options)
    if (copy) {
      try {
        session = await ort.InferenceSession.create(copy.path, {...options, graphOptimizationLevel: 'disabled'})
      } catch (error) {
        await debugLog('lora:cache', `the optimised copy ${copy.path} does not load; removed`, error)
        // A copy that cannot be removed (a read-only cache) stays; the model is loaded as it is all the same.
        await discardCopy(copy.path).catch((e: unknown) =>
          debugLog('lora:cache', `the optimised copy ${copy.path} could not be removed`, e),
        )
      }
    }
  }
  try {
    // The native library logs a failed CUDA load in red on stderr; the typed error below says it once instead.
    if (device === 'cuda') ort.env.logLevel = 'fatal'
    session ??= await ort.InferenceSession.create(modelPath, options)
  } catch (error) {
    if (device === 'cuda' && /cuda|execution provider|providers_shared|backend/iu.test(firstLine(error)))
      throw new ModelDeviceError(device, error)
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
      // The runtime checks the array's class: the input is made with its own Float32Array, which passes where it
      // runs in another JavaScript realm than this module (a vm context, as jest's).
      const input = rgbToBgrFloat(pixels, new runtimeFloat32(pixels.length))
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
