/**
 * The child process of adapters/model-runtime.ts `openTagger`: opens the model with `openTaggerHere` and runs the
 * batches it is sent, so that onnxruntime's `session.run`, which holds its thread until the batch is done, never
 * holds lora's main thread. The first message is the WorkerStart; it replies `ready` (the input size) or `failed`
 * (a typed error, rebuilt by lora), then one `result` or `error` per `run`. Stop signals are lora's to decide
 * (a terminal's Ctrl-C reaches the whole process group): lora kills this process when it is done or exits, and it
 * exits by itself when lora is gone (its IPC channel closes).
 */
import {
  describeFailure,
  openTaggerHere,
  type TaggerSession,
  type WorkerReply,
  type WorkerRequest,
  type WorkerStart,
} from './model-runtime.js'

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined)
process.on('disconnect', () => process.exit(0))
const reply = (message: WorkerReply) => process.send?.(message)

let session: Promise<TaggerSession | undefined> | undefined
process.on('message', (message: WorkerStart | WorkerRequest) => {
  if (!('type' in message)) {
    session = openTaggerHere(message.modelPath, message.device, message.specifier, message.optimized).then(
      (opened) => {
        reply({type: 'ready', height: opened.height, width: opened.width, outputs: opened.outputs})
        return opened
      },
      (error: unknown) => {
        reply({type: 'failed', failure: describeFailure(error)})
        return undefined
      },
    )
    return
  }
  void session?.then(async (opened) => {
    if (!opened) return
    try {
      reply({type: 'result', id: message.id, scores: await opened.run(message.pixels, message.count)})
    } catch (error) {
      reply({type: 'error', id: message.id, message: String((error as Error).message)})
    }
  })
})
